using System.Diagnostics;
using System.Runtime.InteropServices;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;
using Microsoft.Win32.SafeHandles;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Online repair of an ACTIVE mapping. The bad blocks are the ones the kernel refuses to read through
/// /dev/mapper/NAME (EILSEQ: tag mismatch, or EIO from below), found as the online verifier finds them, or the given
/// ranges, each read once through the kernel. Every block to repair is then written THROUGH the mapping with O_DIRECT,
/// whole and block-aligned (block = the volume's sector size): dm-integrity computes the new tag itself
/// (integrity_metadata on write), and in journal mode its journal makes each block write atomic, so none of the
/// offline write path (lock, intent record, own journal commit) applies. Refused: a read-only mapping, recovery mode
/// (the kernel takes no writes), tags from the layer above (no internal_hash), a suspended mapping, and — unless
/// forced — a mapping that is mounted or held (the file system's cache would not see the repaired blocks).
/// </summary>
internal static class OnlineRepairer
{
    private const int BatchBlocks = 256;

    public static RepairResult Repair(OnlineRepairRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        r.Validate();
        DeviceMapperClient.ValidateName(r.Name);
        var info = IntegrityMappings.Status(r.Name) ?? throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound,
            $"Device {r.Name} is not active.", r.Name);
        if (info.Suspended)
            throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                $"{r.Name} is suspended: reads and writes would wait until it is resumed (dmsetup resume {r.Name}).", r.Name);
        string? refusal = info.ReadOnly && !r.DryRun ? "it is read-only; reopen it read-write (or close it and repair the device offline)"
            : info.Mode == IntegrityMode.Recovery ? "it is in recovery mode: the kernel neither checks tags nor accepts writes; close it and repair the device offline"
            : info.Algorithm is null ? "its tags come from the layer above (no internal_hash): the kernel cannot compute them on a write through this mapping"
            : null;
        if (refusal is not null)
            throw new IntegrityVolumeException(ErrorIds.OnlineRepairRefused, ErrorKind.NotSupported, $"{r.Name}: cannot repair online: {refusal}.", r.Name);
        string node = OnlineVerifier.DeviceNodeOf(info);
        var warnings = new List<string>();
        if ((DeviceUsage.FindUser(node) ?? HolderOf(info)) is { } user)
        {
            if (!r.Force && !r.DryRun)
                throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                    $"{node} is in use ({user}): a block written under a mounted file system or another device is not seen by its cache, " +
                    "and it may write the same block meanwhile. Unmount it first, or --force / -Force to write anyway.", node);
            warnings.Add($"{node} is in use ({user}); {(r.DryRun ? "a real repair is refused without --force / -Force" : "written anyway (--force / -Force): its caches do not see the repaired blocks")}.");
        }
        if (info.Mode == IntegrityMode.Direct)
            warnings.Add("The mapping has no journal (direct mode): a block write interrupted by a crash can leave it failing again; run the repair again then.");

        var algorithm = TagAlgorithm.Parse(info.Algorithm!);
        if (info.Keyed && r.Key is null && r.Source is not null && !r.Source.Plain)
            warnings.Add($"The mapping's {info.Algorithm} is keyed and no key was given: an integrity copy's own tags cannot be checked, so it is read as plain data.");
        IntegrityKey? key = info.Keyed ? r.Key : null;
        var source = r.Source is { } src0 && info.Keyed && key is null ? src0 with { Plain = true } : r.Source;

        using var mapped = MappedDeviceReader.Open(node);
        int bs = info.SectorSize;
        ulong spb = (ulong)bs / 512;
        ulong mappedSectors = (ulong)mapped.Length / 512 / spb * spb;
        var (g, under) = OpenUnderlying(info, ct);
        using var _ = under;
        if (g.BlockSize != bs)
            throw new IntegrityVolumeException(ErrorIds.OnlineRepairRefused, ErrorKind.InvalidData,
                $"{r.Name}: the table's block size is {bs} bytes, the superblock's {g.BlockSize}.", r.Name);
        using var copy = source is null ? null : Repairer.Copy.Open(source, info.DataLoopBackingFile ?? under.Data.Path, info.MetadataLoopBackingFile ?? info.MetadataDevice, g with { ProvidedDataSectors = Math.Min(g.ProvidedDataSectors, mappedSectors) },
            algorithm, key, force: false, waitForLock: false, warnings, ct);

        // 1. The blocks the kernel fails: one online verify pass, or each given block read once through the mapping.
        var plan = new RepairPlan(spb);
        TimeSpan verifyDuration = TimeSpan.Zero;
        ulong examined;
        var buffer = PageAlignedBuffer.Allocate(BatchBlocks * bs);
        var copyBlock = new byte[bs];
        if (r.Sectors is null)
        {
            var run = OnlineVerifier.Verify(info, mapped, null, new OnlineVerifyOptions { Threads = r.Threads }, progress, ct);
            verifyDuration = run.Duration;
            examined = run.BlocksChecked;
            // Mismatched and unreadable ranges merged in sector order (the plan is built in order).
            var bad = run.MismatchedSectors.Select(x => (Range: x, Unreadable: false))
                .Concat(run.UnreadableSectors.Select(x => (Range: x, Unreadable: true))).OrderBy(x => x.Range.Start);
            foreach (var (range, unreadable) in bad)
                foreach (ulong s in RepairPlan.BlocksOf([range], spb)) Decide(s, unreadable);
            warnings.AddRange(run.Warnings);
        }
        else
        {
            var given = RepairPlan.GivenBlocks(r.Sectors, mappedSectors, spb, range => new IntegrityVolumeException(ErrorIds.OffsetOutOfRange,
                ErrorKind.InvalidArgument, $"{r.Name}: sectors {range} are past the end of the mapping ({mappedSectors} sectors).", r.Name));
            examined = RepairPlan.BlockCount(given, spb);
            foreach (ulong s in RepairPlan.BlocksOf(given, spb))
            {
                ct.ThrowIfCancellationRequested();
                int e = mapped.Read(checked((long)s * 512), buffer.AsSpan(0, bs));
                if (e == 0) plan.Add(s, RepairOutcome.AlreadyValid, "the kernel reads it without error");
                else if (OnlineVerifier.IsMismatch(e) || OnlineVerifier.IsDeviceError(e)) Decide(s, OnlineVerifier.IsDeviceError(e));
                else throw ReadFailed(node, s, e);
            }
        }

        // 2. A bad block's outcome, decided as it is found (the plan stays in sector order).
        void Decide(ulong s, bool unreadable)
        {
            ct.ThrowIfCancellationRequested();
            string why = unreadable ? " (the device below failed the read)" : "";
            if (r.Retag) { plan.Add(s, RepairOutcome.Retagged, "its current data was accepted; the kernel computed its tag" + why); return; }
            (RepairOutcome Outcome, string Detail) p;
            if (copy is null) p = (RepairOutcome.NoGoodCopy, "no copy was given" + why);
            else
                p = copy.Read(s, copyBlock) switch
                {
                    Repairer.CopyCheck.Verified => (RepairOutcome.Healed, "rewritten through the kernel from the copy, verified by the copy's own tag" + why),
                    Repairer.CopyCheck.Failed => (RepairOutcome.NoGoodCopy, "the copy's block fails its own tag too" + why),
                    Repairer.CopyCheck.Discarded => (RepairOutcome.NoGoodCopy, "the copy's block is discarded (no data)" + why),
                    _ when r.TrustCopy => (RepairOutcome.HealedUnverified, "rewritten through the kernel from the copy, unverified (--trust-copy / -TrustCopy)" + why),
                    _ => (RepairOutcome.CopyUnverifiable, "a plain copy: online nothing verifies its block (--trust-copy / -TrustCopy writes it; offline repair checks it against the stored tag)" + why),
                };
            if (r.ZeroLost && p.Outcome is RepairOutcome.NoGoodCopy or RepairOutcome.CopyUnverifiable)
                p = (RepairOutcome.Zeroed, $"lost, zeros written through the kernel ({p.Detail})");
            plan.Add(s, p.Outcome, p.Detail);
        }

        RepairResult Result(bool whatIf) => WithName(Repairer.BuildResult(node, source, r.Retag, g, algorithm, copy, plan, examined, whatIf,
            verifyDuration, sw.Elapsed, warnings), r.Name);
        ulong toWrite = plan.BlocksToWrite;
        if (r.DryRun || toWrite == 0) return Result(whatIf: r.DryRun);
        if (r.Confirm is not null && !r.Confirm(Result(whatIf: true))) return Result(whatIf: true);

        // 3. Writes through the mapping: O_DIRECT (no page-cache read-modify-write of neighbouring bad blocks), whole
        // blocks; O_EXCL unless forced, so the kernel itself refuses when something mounted or claimed it meanwhile.
        using var handle = OpenForWrite(node, exclusive: !r.Force);
        var last = Stopwatch.StartNew();
        var check = new byte[bs];
        ulong written = 0;
        foreach (var writes in plan.WriteBatches(BatchBlocks))
        {
            ct.ThrowIfCancellationRequested();
            int n = writes.Count;
            for (int k = 0; k < n; k++)
            {
                var w = writes[k];
                var span = buffer.AsSpan(k * bs, bs);
                switch (w.Outcome)
                {
                    case RepairOutcome.Zeroed: span.Clear(); break;
                    case RepairOutcome.Retagged:
                        // The block's raw data where the kernel keeps it (the data area of the underlying device).
                        int e = under.Data!.Read(checked((long)g.DataSector(w.Sector) * 512), span);
                        if (e != 0) throw ReadFailed(under.Data.Path, g.DataSector(w.Sector), e);
                        break;
                    default:
                        var c = copy!.Read(w.Sector, span);
                        if (w.Outcome is RepairOutcome.Healed && c is not Repairer.CopyCheck.Verified)
                            throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError,
                                $"{copy.Path}: the copy's block at sector {w.Sector} changed during the repair; blocks before it were written. Run the repair again.", copy.Path);
                        break;
                }
            }
            Write(handle, node, checked((long)writes[0].Sector * 512), buffer.AsSpan(0, n * bs));
            written += (ulong)n;
            if (last.ElapsedMilliseconds >= 250)
            {
                progress?.Report(new OperationProgress("Repairing blocks through the kernel", node, (long)written, (long)toWrite, sw.Elapsed));
                last.Restart();
            }
        }
        if (NativeMethods.Fsync((int)handle.DangerousGetHandle()) != 0)
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                $"{node}: fsync failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.", node);
        // The kernel must now read every written block (its new tag is its own).
        foreach (var w in plan.WrittenBlocks())
        {
            ct.ThrowIfCancellationRequested();
            int e = mapped.Read(checked((long)w.Sector * 512), buffer.AsSpan(0, bs));
            if (e != 0) warnings.Add($"Sector {w.Sector} was written but the kernel still fails its read ({Marshal.GetPInvokeErrorMessage(e)}).");
        }
        progress?.Report(new OperationProgress("Repairing blocks through the kernel", node, (long)toWrite, (long)toWrite, sw.Elapsed));
        return Result(whatIf: false);
    }

    /// <summary>"held by X" when another device sits on the mapping (/sys/dev/block/MAJ:MIN/holders, by number: the
    /// node's name need not be the kernel's dm-N).</summary>
    private static string? HolderOf(IntegrityMappingInfo info) =>
        DeviceNumber.TryParse(info.DeviceNumber, out var dev) && DeviceNodes.Holders(dev) is { Count: > 0 } h ? $"held by {h[0]}" : null;

    private static RepairResult WithName(RepairResult r, string name) => new()
    {
        Path = r.Path, Mode = r.Mode, SourcePath = r.SourcePath, SourceOffsetSectors = r.SourceOffsetSectors, SourceHasTags = r.SourceHasTags,
        Algorithm = r.Algorithm, SectorSize = r.SectorSize, WhatIf = r.WhatIf, BlocksExamined = r.BlocksExamined, MismatchedBlocks = r.MismatchedBlocks,
        HealedBlocks = r.HealedBlocks, HealedUnverifiedBlocks = r.HealedUnverifiedBlocks, RetaggedBlocks = r.RetaggedBlocks, ZeroedBlocks = r.ZeroedBlocks,
        UnrepairedBlocks = r.UnrepairedBlocks, BlocksToWrite = r.BlocksToWrite, Ranges = r.Ranges, LostSectors = r.LostSectors,
        UnrepairedSectors = r.UnrepairedSectors, VerifyDuration = r.VerifyDuration, Duration = r.Duration, Warnings = r.Warnings, Name = name,
    };

    private static IntegrityVolumeException ReadFailed(string path, ulong sector, int errno) =>
        new(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, $"{path}: read at sector {sector} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", path);

    /// <summary>The underlying devices, read with O_DIRECT (the kernel writes them below the page cache): the
    /// superblock at the table's offset on the metadata device (or the only device), and the layout it gives.</summary>
    private static (Geometry, Underlying) OpenUnderlying(IntegrityMappingInfo info, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string dataPath = info.DataDevice ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{info.Name}: no data device in its table.", info.Name);
        var meta = MappedDeviceReader.Open(info.MetadataDevice ?? dataPath);
        MappedDeviceReader? data = null;
        try
        {
            data = info.MetadataDevice is null ? meta : MappedDeviceReader.Open(dataPath);
            var area = PageAlignedBuffer.Allocate(Superblock.AreaSize);
            int e = meta.Read(checked((long)info.Offset * 512), area);
            if (e != 0) throw ReadFailed(meta.Path, info.Offset, e);
            var sb = Superblock.Parse(area, meta.Path);
            var g = Geometry.FromSuperblock(sb, (ulong)meta.Length / 512, info.Offset, info.MetadataDevice is not null, (ulong)data.Length / 512, meta.Path);
            return (g, new Underlying(meta, data));
        }
        catch
        {
            if (data is not null && !ReferenceEquals(data, meta)) data.Dispose();
            meta.Dispose();
            throw;
        }
    }

    private sealed record Underlying(MappedDeviceReader Meta, MappedDeviceReader Data) : IDisposable
    {
        public void Dispose()
        {
            if (!ReferenceEquals(Data, Meta)) Data.Dispose();
            Meta.Dispose();
        }
    }

    private static SafeFileHandle OpenForWrite(string node, bool exclusive)
    {
        int flags = NativeMethods.O_RDWR | NativeMethods.O_DIRECT | NativeMethods.O_CLOEXEC | (exclusive ? NativeMethods.O_EXCL : 0);
        int fd = NativeMethods.Open(node, flags, 0);
        if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
        int errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            NativeMethods.EBUSY => new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                $"{node} is in use (mounted, or held by another device or program): not written. --force / -Force writes anyway.", node),
            NativeMethods.EACCES or NativeMethods.EPERM or 30 /* EROFS */ => new IntegrityVolumeException(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied,
                $"{node}: cannot open it for writing (root is needed; a read-only mapping cannot be repaired online).", node),
            _ => new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError, $"{node}: open for writing failed ({Marshal.GetPInvokeErrorMessage(errno)}).", node),
        };
    }

    private static void Write(SafeFileHandle handle, string node, long offset, ReadOnlySpan<byte> data)
    {
        try { RandomAccess.Write(handle, data, offset); }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError, $"{node}: write error at byte {offset}: {ex.Message}", node, ex);
        }
    }
}
