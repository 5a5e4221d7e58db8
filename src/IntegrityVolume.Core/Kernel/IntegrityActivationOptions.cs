namespace IntegrityVolume.Core.Kernel;

/// <summary>Options of an activation (integritysetup open): everything that is not stored in the superblock.</summary>
public sealed record IntegrityActivationOptions
{
    /// <summary>internal_hash algorithm (integritysetup or kernel spelling); null = tags come from the layer above (dm-crypt AEAD).</summary>
    public string? Algorithm { get; init; } = "crc32c";
    public byte[]? Key { get; init; }
    public string? JournalMacAlgorithm { get; init; }
    public byte[]? JournalMacKey { get; init; }
    public string? JournalCryptAlgorithm { get; init; }
    public byte[]? JournalCryptKey { get; init; }
    public IntegrityMode Mode { get; init; } = IntegrityMode.Journal;
    public bool AllowDiscards { get; init; }
    public uint? BufferSectors { get; init; }
    public uint? JournalWatermark { get; init; }
    public uint? CommitTimeMs { get; init; }
    public ulong? SectorsPerBit { get; init; }
    public uint? BitmapFlushIntervalMs { get; init; }
    public bool Recalculate { get; init; }
    public bool ResetRecalculate { get; init; }
    public bool LegacyRecalculate { get; init; }
}
