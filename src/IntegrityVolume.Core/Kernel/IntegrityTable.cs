using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Kernel;

/// <summary>An algorithm argument of the table: internal_hash:, journal_crypt: or journal_mac: name[:hexkey].</summary>
public sealed record TableAlgorithm(string Name, byte[]? Key = null)
{
    public string Render(KeyRendering keys) => Key is null ? Name : keys switch
    {
        KeyRendering.Clear => $"{Name}:{Convert.ToHexString(Key).ToLowerInvariant()}",
        KeyRendering.Zeros => $"{Name}:{new string('0', Key.Length * 2)}",
        _ => $"{Name}:<key>",
    };

    public override string ToString() => Render(KeyRendering.Placeholder);

    public bool Equals(TableAlgorithm? other) =>
        other is not null && Name == other.Name && (Key is null ? other.Key is null : other.Key is not null && Key.AsSpan().SequenceEqual(other.Key));

    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);

    /// <summary>The kernel crypto API name for a name as integritysetup accepts it ("hmac-sha256" is "hmac(sha256)").</summary>
    public static string KernelName(string name) => TagAlgorithm.ToKernelName(name);
}

/// <summary>
/// A dm-integrity table line: build it from a superblock and activation options, render it for DM_TABLE_LOAD,
/// parse what the kernel reports back, and predict that report (<see cref="ToKernelView"/>).
/// Rendering always uses the kernel's own argument order (dm_integrity_status), so a table in kernel form
/// renders exactly as `dmsetup table` prints it.
/// </summary>
public sealed partial record IntegrityTable
{
    public const string TargetType = "integrity";
    public const int DefaultBufferSectors = 128, DefaultJournalWatermark = 50, DefaultCommitTimeMs = 10000;
    public const int DefaultBitmapFlushIntervalMs = 10000;
    public const ulong DefaultSectorsPerBit = 32768;

    /// <summary>First logical sector of the target (always 0 for a whole volume).</summary>
    public ulong Start { get; init; }
    /// <summary>Target length in 512-byte sectors (provided_data_sectors for a whole volume).</summary>
    public ulong Length { get; init; }
    /// <summary>Data device: a path or "major:minor".</summary>
    public required string Device { get; init; }
    /// <summary>Sectors before the superblock on the metadata device.</summary>
    public ulong Offset { get; init; }
    /// <summary>Tag size in bytes; null renders "-" (the internal hash's digest size).</summary>
    public int? TagSize { get; init; }
    public IntegrityMode Mode { get; init; } = IntegrityMode.Journal;
    public string? MetaDevice { get; init; }
    public int? BlockSize { get; init; }
    public bool Recalculate { get; init; }
    public bool ResetRecalculate { get; init; }
    public bool AllowDiscards { get; init; }
    public uint? JournalSectors { get; init; }
    public uint? InterleaveSectors { get; init; }
    public uint? BufferSectors { get; init; }
    public uint? JournalWatermark { get; init; }
    public uint? CommitTime { get; init; }
    public ulong? SectorsPerBit { get; init; }
    public uint? BitmapFlushInterval { get; init; }
    public bool FixPadding { get; init; }
    public bool FixHmac { get; init; }
    public bool LegacyRecalculate { get; init; }
    public TableAlgorithm? InternalHash { get; init; }
    public TableAlgorithm? JournalCrypt { get; init; }
    public TableAlgorithm? JournalMac { get; init; }
    /// <summary>Arguments this code does not know (newer kernels), kept in order so a table round-trips.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = Array.Empty<string>();

    /// <summary>True when a key is in the table: load it with DM_SECURE_DATA_FLAG.</summary>
    public bool HasKeys => InternalHash?.Key is not null || JournalCrypt?.Key is not null || JournalMac?.Key is not null;

    // ------------------------------------------------------------------ building

    /// <summary>
    /// The table to activate a volume, as integritysetup open builds it: size, tag size and block size from the
    /// superblock; fix_padding / fix_hmac only when the superblock carries those flags; recalculate when the
    /// superblock is still recalculating; everything else from <paramref name="options"/>.
    /// </summary>
    /// <param name="metadataDevice">The device holding superblock, journal and tags (path or major:minor).</param>
    /// <param name="dataDevice">A separate data device (integritysetup --data-device), or null.</param>
    public static IntegrityTable ForActivation(Superblock sb, string metadataDevice, IntegrityActivationOptions options,
        string? dataDevice = null, ulong offset = 0)
    {
        var o = options;
        bool separate = dataDevice is not null;
        if (separate != (sb.Log2InterleaveSectors == 0))
            throw new IntegrityVolumeException(ErrorIds.DataDeviceMismatch, ErrorKind.InvalidArgument, separate
                ? "The superblock describes an interleaved volume, but a separate data device was given."
                : "The superblock describes a volume with a separate data device; give it (--data-device).", metadataDevice);
        if (sb.HasFlag(SuperblockFlags.Inline) != (o.Mode == IntegrityMode.Inline))
            throw Invalid("The superblock's inline flag and the requested mode disagree (inline volumes open only in mode I).");
        o.Validate();
        string? alg = o.Algorithm is null ? null : TableAlgorithm.KernelName(o.Algorithm);
        bool mac = o.JournalMacAlgorithm is not null;
        if (mac != sb.HasFlag(SuperblockFlags.HaveJournalMac))
            throw Invalid(mac ? "The volume was formatted without a journal MAC; do not give --journal-integrity."
                              : "The volume was formatted with a journal MAC: give --journal-integrity (and its key).");

        bool recalc = o.Recalculate || o.LegacyRecalculate || (sb.HasFlag(SuperblockFlags.Recalculating) && alg is not null);
        return new IntegrityTable
        {
            Length = sb.ProvidedDataSectors,
            Device = separate ? dataDevice! : metadataDevice,
            MetaDevice = separate ? metadataDevice : null,
            Offset = offset,
            TagSize = sb.IntegrityTagSize,
            Mode = o.Mode,
            BlockSize = sb.BlockSize == 512 ? null : sb.BlockSize,
            Recalculate = recalc && !o.ResetRecalculate,
            ResetRecalculate = o.ResetRecalculate,
            AllowDiscards = o.AllowDiscards,
            BufferSectors = o.BufferSectors,
            JournalWatermark = o.JournalWatermark,
            CommitTime = o.CommitTimeMs,
            SectorsPerBit = o.SectorsPerBit,
            BitmapFlushInterval = o.BitmapFlushIntervalMs,
            FixPadding = sb.HasFlag(SuperblockFlags.FixedPadding),
            FixHmac = sb.HasFlag(SuperblockFlags.FixedHmac),
            LegacyRecalculate = o.LegacyRecalculate,
            // The table borrows the keys' own arrays (no copy): disposing the options zeroes them here too.
            InternalHash = alg is null ? null : new TableAlgorithm(alg, o.Key?.Borrow()),
            JournalCrypt = o.JournalCryptAlgorithm is null ? null : new TableAlgorithm(TableAlgorithm.KernelName(o.JournalCryptAlgorithm), o.JournalCryptKey?.Borrow()),
            JournalMac = o.JournalMacAlgorithm is null ? null : new TableAlgorithm(TableAlgorithm.KernelName(o.JournalMacAlgorithm), o.JournalMacKey?.Borrow()),
        };
    }

    private static IntegrityVolumeException Invalid(string message) => new(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, message);
}
