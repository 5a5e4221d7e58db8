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

/// <summary>
/// What an offline verification proves. Kernel parity: anything the kernel would read and fail is Corrupt; Healthy only
/// when every block the kernel would read was checked (directly, or through the journal entry that replaces it).
/// </summary>
public enum VerifyVerdict
{
    /// <summary>Every block verified: its tag matches (or is the discard filler), or a committed journal entry with a
    /// matching tag replaces it. ivol exit code 0.</summary>
    Healthy,
    /// <summary>The kernel would fail a read: a block's tag mismatches, a committed journal entry fails its tag check
    /// ("tag mismatch when replaying journal": every read fails), or a journal section MAC does not verify. Exit code 1.</summary>
    Corrupt,
    /// <summary>Nothing wrong was found, but not everything was verified: blocks not protected yet (RECALCULATING beyond
    /// recalc_sector, stale tags in dirty bitmap regions), or a check that needs a key or algorithm not given (journal MAC),
    /// or a journal that cannot be read (journal_crypt). <see cref="VerifyResult.NotVerified"/> says what. Exit code 6.</summary>
    Incomplete,
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
    /// <summary>Healthy, Corrupt or Incomplete (see <see cref="VerifyVerdict"/>).</summary>
    public VerifyVerdict Verdict =>
        MismatchedBlocks > 0 || FailedJournalEntries.Length > 0 || JournalMacFailedSections.Length > 0 || InterruptedWrite is { Journaled: false }
            ? VerifyVerdict.Corrupt
        : NotVerified.Length > 0 ? VerifyVerdict.Incomplete : VerifyVerdict.Healthy;
    /// <summary>True only for <see cref="VerifyVerdict.Healthy"/>: every block checked and nothing wrong.</summary>
    public bool Healthy => Verdict == VerifyVerdict.Healthy;
    /// <summary>Blocks whose content was proven (valid tag, discard filler, or replaced by a checked journal entry).</summary>
    public ulong VerifiedBlocks { get; init; }
    /// <summary>Verified blocks in percent of the volume's blocks (provided_data_sectors / sectors per block).</summary>
    public double Coverage { get; init; }
    /// <summary>What was not verified, one sentence each; non-empty makes the verdict Incomplete (unless Corrupt).</summary>
    public string[] NotVerified { get; init; } = Array.Empty<string>();
    /// <summary>Committed journal entries whose tag does not match their block: the kernel fails the replay and every read.</summary>
    public JournalEntryInfo[] FailedJournalEntries { get; init; } = Array.Empty<JournalEntryInfo>();
    /// <summary>Committed journal sections whose MAC does not verify with the journal integrity key (kernel: "journal mac").</summary>
    public uint[] JournalMacFailedSections { get; init; } = Array.Empty<uint>();
    /// <summary>An offline write that did not finish: its range holds old and new blocks (see its Advice); the verdict is Corrupt.</summary>
    public InterruptedWrite? InterruptedWrite { get; init; }
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

    /// <summary>Given (-Algorithm, --integrity) or Detected (found on the volume, see <see cref="AlgorithmDetection"/>).</summary>
    public AlgorithmSource AlgorithmSource { get; private set; }
    /// <summary>The detection that chose <see cref="Algorithm"/>, when none was given.</summary>
    public AlgorithmDetection? AlgorithmDetection { get; private set; }

    /// <summary>This result with the detection that chose its algorithm.</summary>
    public VerifyResult WithDetection(AlgorithmDetection? detection)
    {
        var copy = (VerifyResult)MemberwiseClone();
        copy.AlgorithmDetection = detection;
        copy.AlgorithmSource = detection is null ? AlgorithmSource.Given : AlgorithmSource.Detected;
        return copy;
    }

    /// <summary>This result with the key file that verified it, so the next command can bind it by property name.</summary>
    public VerifyResult WithKeyFile(string? keyFile)
    {
        var copy = (VerifyResult)MemberwiseClone();
        copy.KeyFile = keyFile;
        return copy;
    }
}
