using System.Globalization;

namespace IntegrityVolume.Core;

/// <summary>Another source of the same logical data: a second integrity volume (a RAID1 leg), a plain image or device, a backup.</summary>
public sealed record RepairSource
{
    /// <summary>The copy: an integrity volume (its superblock is found at <see cref="ReservedSectors"/>) or a plain image/device.</summary>
    public required string Path { get; init; }
    /// <summary>Separate data device of an integrity copy.</summary>
    public string? DataDevicePath { get; init; }
    /// <summary>Sectors before the copy's superblock (integrity copy only).</summary>
    public ulong ReservedSectors { get; init; }
    /// <summary>Logical sector S of the volume is sector S + OffsetSectors of the copy (its logical content, or the raw
    /// plain image: e.g. md's data offset on a RAID1 member).</summary>
    public ulong OffsetSectors { get; init; }
    /// <summary>Read the copy as plain bytes even when it carries an integrity superblock (its tags are then not used).</summary>
    public bool Plain { get; init; }
}

/// <summary>
/// Repair of a closed volume (Repair-IntegrityVolume, ivol repair): rewrite mismatched blocks from a copy, accept the
/// current data of given ranges (re-tag), or zero what no copy can heal. Disposing it disposes the key it carries.
/// </summary>
public sealed record RepairRequest : IDisposable
{
    public required VolumeLocation Volume { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>The copy to heal from; null for re-tag or zero-the-lost only.</summary>
    public RepairSource? Source { get; init; }
    /// <summary>Accept the current data of <see cref="Sectors"/>: recompute their tags (no copy).</summary>
    public bool Retag { get; init; }
    /// <summary>Blocks no copy heals get zeros with a valid tag (reads stop failing); they are listed as lost.</summary>
    public bool ZeroLost { get; init; }
    /// <summary>Write a plain copy's block even when nothing can verify it (the volume's tag of that block is damaged too).</summary>
    public bool TrustCopy { get; init; }
    /// <summary>The sectors to repair (e.g. a verify result's MismatchedSectors); null = verify the whole volume first.</summary>
    public SectorRange[]? Sectors { get; init; }
    /// <summary>Plan only: open read-only, write nothing (-WhatIf, --dry-run).</summary>
    public bool DryRun { get; init; }
    /// <summary>Repair given sectors although another write's range was interrupted (warns). Never overrides a wrong algorithm or key.</summary>
    public bool Force { get; init; }
    /// <summary>Hashing threads of the verify pass; 0 = one per core.</summary>
    public int Threads { get; init; }
    /// <summary>Asked with the plan after every block is classified and before anything is written; false = write nothing
    /// (the cmdlet's ShouldProcess with the block count). Called on the calling thread.</summary>
    public Func<RepairResult, bool>? Confirm { get; init; }

    /// <summary>Every check that needs no device.</summary>
    public void Validate()
    {
        Integrity.Validate();
        RequestChecks.Threads(Threads);
        ValidateModes(Source, Retag, ZeroLost, TrustCopy, Sectors);
    }

    /// <summary>The rules on what to write, shared by offline and online repair.</summary>
    internal static void ValidateModes(RepairSource? Source, bool Retag, bool ZeroLost, bool TrustCopy, SectorRange[]? Sectors)
    {
        if (Retag && (Source is not null || ZeroLost || TrustCopy))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "Re-tag (--retag / -Retag) accepts the current data; it takes no copy (--from / -From), --zero-lost or --trust-copy.");
        if (Retag && Sectors is null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "Re-tag needs the sectors whose current data to accept (--sectors / -Sector, or a piped verify result).");
        if (!Retag && Source is null && !ZeroLost)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "Nothing to do: give a copy (--from / -From), --retag / -Retag, or --zero-lost / -ZeroLost.");
        if (TrustCopy && Source is null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "--trust-copy / -TrustCopy needs a copy (--from / -From).");
    }

    public void Dispose() => Integrity.Key?.Dispose();
}

/// <summary>
/// Repair of an ACTIVE dm-integrity mapping (Repair-IntegrityVolume -Name, ivol repair --name): the blocks the kernel
/// fails to read (or the given ranges) are rewritten THROUGH the mapping with O_DIRECT, so the kernel computes their
/// tags (and, in journal mode, its journal makes each block write atomic). Same modes as offline repair: a copy,
/// re-tag (the block's current raw data, read from the underlying device), or zeros for the lost.
/// </summary>
public sealed record OnlineRepairRequest : IDisposable
{
    /// <summary>The device-mapper name (/dev/mapper/NAME).</summary>
    public required string Name { get; init; }
    /// <summary>Key of a keyed internal_hash, to check an integrity copy's own tags; the algorithm is the live table's.</summary>
    public IntegrityKey? Key { get; init; }
    public RepairSource? Source { get; init; }
    public bool Retag { get; init; }
    public bool ZeroLost { get; init; }
    public bool TrustCopy { get; init; }
    /// <summary>The sectors to repair; null = read the whole mapping through the kernel first (online verify).</summary>
    public SectorRange[]? Sectors { get; init; }
    /// <summary>Plan only: write nothing.</summary>
    public bool DryRun { get; init; }
    /// <summary>Write although the mapping is mounted or held by another device (the file system's cache does not see
    /// the repaired blocks: the user's risk).</summary>
    public bool Force { get; init; }
    /// <summary>Concurrent readers of the verify pass; 0 = automatic.</summary>
    public int Threads { get; init; }
    /// <summary>Asked with the plan before anything is written; false = write nothing.</summary>
    public Func<RepairResult, bool>? Confirm { get; init; }

    /// <summary>Every check that needs no device.</summary>
    public void Validate()
    {
        RequestChecks.Threads(Threads);
        RepairRequest.ValidateModes(Source, Retag, ZeroLost, TrustCopy, Sectors);
    }

    public void Dispose() => Key?.Dispose();
}

/// <summary>What happened to a run of blocks.</summary>
public enum RepairOutcome
{
    /// <summary>Rewritten from the copy, whose block was verified (by the copy's own tag, or by the volume's stored tag).</summary>
    Healed,
    /// <summary>Rewritten from a copy nothing could verify (-TrustCopy / --trust-copy).</summary>
    HealedUnverified,
    /// <summary>Current data accepted: its tag recomputed (re-tag).</summary>
    Retagged,
    /// <summary>Lost: zeros with a valid tag written (zero-the-lost); reads return zeros instead of failing.</summary>
    Zeroed,
    /// <summary>The copy's block fails its own tag too (or is discarded): not written.</summary>
    NoGoodCopy,
    /// <summary>A plain copy whose block nothing can verify (the volume's stored tag is damaged too): not written.</summary>
    CopyUnverifiable,
    /// <summary>Given, but its tag already matches: nothing to do.</summary>
    AlreadyValid,
}

/// <summary>One run of blocks with the same outcome (typed per-range result).</summary>
public sealed class RepairRange
{
    public required ulong StartSector { get; init; }
    public required ulong Sectors { get; init; }
    public ulong LastSector => StartSector + Sectors - 1;
    public required ulong Blocks { get; init; }
    public required RepairOutcome Outcome { get; init; }
    /// <summary>Why, in one sentence.</summary>
    public required string Detail { get; init; }
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Sectors == 1 ? $"{StartSector}" : $"{StartSector}-{LastSector}")} {Outcome}");
}

/// <summary>Result of Repair-IntegrityVolume / ivol repair.</summary>
public sealed class RepairResult
{
    public required string Path { get; init; }
    /// <summary>"copy", "retag" or "zero-lost".</summary>
    public required string Mode { get; init; }
    public string? SourcePath { get; init; }
    public ulong SourceOffsetSectors { get; init; }
    /// <summary>True when the copy is an integrity volume whose own tags verified its blocks.</summary>
    public bool SourceHasTags { get; init; }
    public required string Algorithm { get; init; }
    public required int SectorSize { get; init; }
    /// <summary>Nothing was written (-WhatIf, --dry-run, or the confirmation was declined): outcomes are what would happen.</summary>
    public bool WhatIf { get; init; }
    /// <summary>Blocks looked at (the given ranges, or the whole volume when none were given).</summary>
    public required ulong BlocksExamined { get; init; }
    /// <summary>Blocks whose tag did not match before the repair (re-tag: the given blocks that needed a new tag).</summary>
    public required ulong MismatchedBlocks { get; init; }
    public ulong HealedBlocks { get; init; }
    public ulong HealedUnverifiedBlocks { get; init; }
    public ulong RetaggedBlocks { get; init; }
    public ulong ZeroedBlocks { get; init; }
    /// <summary>Mismatched blocks left as they were (no good copy, copy unverifiable): reads of them still fail.</summary>
    public ulong UnrepairedBlocks { get; init; }
    /// <summary>Blocks written (or, with WhatIf, that would be).</summary>
    public ulong BlocksToWrite { get; init; }
    public required RepairRange[] Ranges { get; init; }
    /// <summary>Logical sectors of the blocks lost (zeroed), exactly.</summary>
    public required SectorRange[] LostSectors { get; init; }
    /// <summary>Logical sectors still failing after the repair.</summary>
    public required SectorRange[] UnrepairedSectors { get; init; }
    /// <summary>True when every mismatched block was healed, re-tagged or zeroed.</summary>
    public bool Complete => UnrepairedBlocks == 0;
    /// <summary>Time of the verify pass that found the mismatches (zero when the sectors were given).</summary>
    public TimeSpan VerifyDuration { get; init; }
    public required TimeSpan Duration { get; init; }
    public string[] Warnings { get; init; } = [];
    /// <summary>The device-mapper name when the repair went through an active mapping (online); null offline.</summary>
    public string? Name { get; init; }
}
