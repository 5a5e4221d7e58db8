using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// Options of an activation (integritysetup open): everything that is not stored in the superblock. Algorithms stay
/// names: the kernel computes them, so any name its crypto API knows is allowed. Disposing disposes the keys.
/// </summary>
public sealed record IntegrityActivationOptions : IDisposable
{
    /// <summary>internal_hash algorithm (integritysetup or kernel spelling); null = tags come from the layer above (dm-crypt AEAD).</summary>
    public string? Algorithm { get; init; } = TagAlgorithm.DefaultName;
    public IntegrityKey? Key { get; init; }
    public string? JournalMacAlgorithm { get; init; }
    public IntegrityKey? JournalMacKey { get; init; }
    public string? JournalCryptAlgorithm { get; init; }
    public IntegrityKey? JournalCryptKey { get; init; }
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

    /// <summary>Every check that needs no superblock (IntegrityMappings.Open runs it before touching the kernel).</summary>
    public void Validate()
    {
        string? alg = Algorithm is null ? null : TagAlgorithm.ToKernelName(Algorithm);
        if (alg is null && (Mode == IntegrityMode.Bitmap || AllowDiscards || Recalculate || ResetRecalculate))
            throw Invalid("Bitmap mode, discards and recalculation need an integrity algorithm (internal_hash).");
        if (alg is not null && TagAlgorithm.IsKeyedName(alg) && Key is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument, $"{alg} is keyed: give the key (--integrity-key-file / -KeyFile).", alg);
        // A seeded checksum (crc32c with a 4-byte key): the kernel's setkey refuses any other length.
        if (alg is not null && Key is not null && TagAlgorithm.OptionalKeySize(alg) is int seed && Key.Length != seed)
            TagAlgorithm.ValidateKey(alg, Key.Length, "--integrity-key-file / -KeyFile");
        if (Key is not null && alg is null)
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument, "A key was given without an algorithm.");
        if (JournalMacAlgorithm is null && JournalMacKey is not null)
            throw Invalid("A journal integrity key (--journal-integrity-key-file / -JournalIntegrityKeyFile) needs the journal integrity algorithm (--journal-integrity / -JournalIntegrity, e.g. hmac-sha256).");
        if (JournalCryptAlgorithm is null && JournalCryptKey is not null)
            throw Invalid("A journal encryption key (--journal-crypt-key-file) needs the journal encryption algorithm (--journal-crypt).");
        if (JournalCryptAlgorithm is not null)
        {
            // integritysetup's spelling (cbc-aes) becomes the kernel's (cbc(aes)); a cipher always needs its key.
            TagAlgorithm.ToKernelName(JournalCryptAlgorithm);
            if (JournalCryptKey is null)
                throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                    $"The journal cipher {JournalCryptAlgorithm} needs its key (--journal-crypt-key-file / -JournalCryptKeyFile).", JournalCryptAlgorithm);
        }
        if (Mode == IntegrityMode.Bitmap && (JournalWatermark is not null || CommitTimeMs is not null))
            throw Invalid("Journal options (watermark, commit time) do not apply in bitmap mode.");
        if (Mode != IntegrityMode.Bitmap && (SectorsPerBit is not null || BitmapFlushIntervalMs is not null))
            throw Invalid("Bitmap options (sectors per bit, flush time) need bitmap mode.");
        if (JournalWatermark > 100) throw Invalid($"The journal watermark {JournalWatermark} (--journal-watermark / -JournalWatermark) is a percentage (0 to 100).");
    }

    private static IntegrityVolumeException Invalid(string message) => new(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, message);

    public void Dispose() { Key?.Dispose(); JournalMacKey?.Dispose(); JournalCryptKey?.Dispose(); }
}
