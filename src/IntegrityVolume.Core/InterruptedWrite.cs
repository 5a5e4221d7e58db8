namespace IntegrityVolume.Core;

/// <summary>An offline write that did not finish (killed, cancelled, crashed): the range it was rewriting.</summary>
public sealed class InterruptedWrite
{
    /// <summary>First logical 512-byte sector of the write.</summary>
    public required ulong StartSector { get; init; }
    /// <summary>Sector after the last one (whole blocks).</summary>
    public required ulong EndSector { get; init; }
    public ulong Sectors => EndSector - StartSector;
    public required long InputBytes { get; init; }
    public required DateTime StartedUtc { get; init; }
    /// <summary>The tag algorithm the interrupted write used (kernel name).</summary>
    public required string Algorithm { get; init; }
    /// <summary>Written through the kernel's journal: every block of the range is old or new with a valid tag (after replay), none torn.</summary>
    public bool Journaled { get; init; }

    /// <summary>What the user should do, in one sentence.</summary>
    public string Advice => InputBytes == 0
        ? $"A repair (ivol repair / Repair-IntegrityVolume) of blocks in sectors {StartSector}-{EndSector - 1} ({Algorithm}, started {StartedUtc:u}) was interrupted: " +
          (Journaled ? "each block holds its old or its repaired data with a valid tag (the journal replays on the next open or write). "
                     : "blocks in that range hold old data, repaired data or a torn mix. ") +
          "Run the repair again to finish it."
        : $"A write of sectors {StartSector}-{EndSector - 1} ({InputBytes} bytes, {Algorithm}, started {StartedUtc:u}) was interrupted: " +
        (Journaled
            ? "it went through the journal, so each block in that range holds its old or its new data with a valid tag (the journal replays on the next open or write). "
            : "blocks in that range hold old data, new data or a torn mix (torn blocks fail their tag check). ") +
        $"Finish it by running the same write again (same input, offset {StartSector}); roll it back by writing the previous content of those sectors.";

    /// <summary>True when a write of [start, end) rewrites every block of this one.</summary>
    public bool CoveredBy(ulong start, ulong end) => start <= StartSector && end >= EndSector;
}
