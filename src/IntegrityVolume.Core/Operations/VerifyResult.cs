using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core;

/// <summary>How one block was judged by the offline verifier.</summary>
public enum BlockClass
{
    /// <summary>The stored tag equals the computed one.</summary>
    Valid,
    /// <summary>Tag and data disagree: the kernel returns EILSEQ for this block.</summary>
    Mismatch,
    /// <summary>All-0xF6 discard filler; valid only when the volume is opened with allow_discards.</summary>
    Discarded,
    /// <summary>Beyond recalc_sector while RECALCULATING: the kernel does not check it yet.</summary>
    Uninitialized,
    /// <summary>In a region marked dirty in the bitmap: the kernel recalculates it on the next activation.</summary>
    Unsynchronized,
    /// <summary>A committed journal entry will overwrite this block when the kernel replays the journal.</summary>
    JournalPending,
}

/// <summary>Result of Test-IntegrityVolume / ivol verify.</summary>
public sealed class VerifyResult
{
    public required string Path { get; init; }
    public string? DataDevicePath { get; init; }
    public required string Algorithm { get; init; }
    /// <summary>Path of the key file of a keyed algorithm, when the caller knows it (never the key itself).</summary>
    public string? KeyFile { get; private set; }
    public required int SectorSize { get; init; }
    public required ulong ProvidedDataSectors { get; init; }
    /// <summary>True when no block mismatched (discarded, uninitialised, unsynchronised and journal-pending blocks are not corruption).</summary>
    public bool Healthy => MismatchedBlocks == 0;
    public required ulong BlocksChecked { get; init; }
    public required ulong ValidBlocks { get; init; }
    public required ulong MismatchedBlocks { get; init; }
    public required ulong DiscardedBlocks { get; init; }
    public required ulong UninitializedBlocks { get; init; }
    public required ulong UnsynchronizedBlocks { get; init; }
    public required ulong JournalPendingBlocks { get; init; }
    /// <summary>Mismatching blocks as runs of 512-byte logical sectors (whole blocks).</summary>
    public required SectorRange[] MismatchedSectors { get; init; }
    public required JournalState JournalState { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Data bytes hashed per second, in MiB/s.</summary>
    public required double ThroughputMiBps { get; init; }
    /// <summary>Notes a storage engineer should read (keyed hash with discard filler, pending journal, ...).</summary>
    public required string[] Warnings { get; init; }

    /// <summary>This result with the key file that verified it, so the next command can bind it by property name.</summary>
    public VerifyResult WithKeyFile(string? keyFile)
    {
        var copy = (VerifyResult)MemberwiseClone();
        copy.KeyFile = keyFile;
        return copy;
    }
}
