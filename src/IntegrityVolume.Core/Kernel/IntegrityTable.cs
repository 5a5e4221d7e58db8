using System.Globalization;
using System.Numerics;
using System.Text;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Core.Kernel;

/// <summary>The dm-integrity mode letter of a table line.</summary>
public enum IntegrityMode
{
    /// <summary>J: writes go through the journal (default).</summary>
    Journal,
    /// <summary>D: direct writes, no journal (a crash can leave data and tag out of step).</summary>
    Direct,
    /// <summary>B: bitmap mode (dirty regions recalculated after a crash); needs an internal hash.</summary>
    Bitmap,
    /// <summary>R: recovery: no journal replay, no tag checks, writes rejected.</summary>
    Recovery,
    /// <summary>I: tags in the device's hardware integrity metadata.</summary>
    Inline,
}

/// <summary>How keys are written when a table is rendered.</summary>
public enum KeyRendering
{
    /// <summary>The key in hex: what the kernel needs (and what dmsetup table --showkeys prints).</summary>
    Clear,
    /// <summary>Zeros of the key's length, as dmsetup table prints it without --showkeys.</summary>
    Zeros,
    /// <summary>The literal text &lt;key&gt;.</summary>
    Placeholder,
}

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
    public static string KernelName(string name)
    {
        string n = name.Trim();
        if (n.Length == 0 || n.Any(c => char.IsWhiteSpace(c) || c == ':' || char.IsControl(c)))
            throw new IntegrityVolumeException(ErrorIds.UnknownAlgorithm, ErrorKind.InvalidArgument, $"'{name}' is not an algorithm name.", name);
        foreach (var prefix in new[] { "hmac-", "phmac-" })
            if (n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && !n.Contains('('))
                return $"{prefix[..^1].ToLowerInvariant()}({n[prefix.Length..]})";
        return n;
    }
}

/// <summary>What `dmsetup status` reports for a dm-integrity target: "&lt;mismatches&gt; &lt;provided_data_sectors&gt; &lt;recalc_sector|-&gt;".</summary>
public sealed record IntegrityStatus(ulong Mismatches, ulong ProvidedDataSectors, ulong? RecalcSector)
{
    public override string ToString() =>
        $"{Mismatches} {ProvidedDataSectors} {(RecalcSector is { } r ? r.ToString(CultureInfo.InvariantCulture) : "-")}";

    /// <summary>Parse the status parameters, or a whole status line ("0 32328 integrity 0 32328 -").</summary>
    public static IntegrityStatus Parse(string text)
    {
        var t = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (t.Length == 6 && t[2] == IntegrityTable.TargetType) t = t[3..];
        if (t.Length != 3 || !TryU64(t[0], out ulong mism) || !TryU64(t[1], out ulong provided) ||
            (t[2] != "-" && !TryU64(t[2], out _)))
            throw new FormatException($"Not a dm-integrity status line: '{text}'.");
        return new IntegrityStatus(mism, provided, t[2] == "-" ? null : ulong.Parse(t[2], CultureInfo.InvariantCulture));
    }

    private static bool TryU64(string s, out ulong v) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
}

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

/// <summary>
/// A dm-integrity table line: build it from a superblock and activation options, render it for DM_TABLE_LOAD,
/// parse what the kernel reports back, and predict that report (<see cref="ToKernelView"/>).
/// Rendering always uses the kernel's own argument order (dm_integrity_status), so a table in kernel form
/// renders exactly as `dmsetup table` prints it.
/// </summary>
public sealed record IntegrityTable
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

    public static char ModeLetter(IntegrityMode m) => m switch
    {
        IntegrityMode.Journal => 'J', IntegrityMode.Direct => 'D', IntegrityMode.Bitmap => 'B',
        IntegrityMode.Recovery => 'R', IntegrityMode.Inline => 'I', _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    public static IntegrityMode ParseMode(string s) => s switch
    {
        "J" => IntegrityMode.Journal, "D" => IntegrityMode.Direct, "B" => IntegrityMode.Bitmap,
        "R" => IntegrityMode.Recovery, "I" => IntegrityMode.Inline,
        _ => throw new FormatException($"Invalid dm-integrity mode '{s}' (expecting J, B, D, R, I)."),
    };

    // ------------------------------------------------------------------ rendering

    /// <summary>The target parameters (everything after "start length integrity").</summary>
    public string ToParameters(KeyRendering keys = KeyRendering.Clear)
    {
        var args = new List<string>();
        if (MetaDevice is not null) args.Add("meta_device:" + Escape(MetaDevice));
        if (BlockSize is { } bs) args.Add(F("block_size:", (ulong)bs));
        if (Recalculate) args.Add("recalculate");
        if (ResetRecalculate) args.Add("reset_recalculate");
        if (AllowDiscards) args.Add("allow_discards");
        if (JournalSectors is { } js) args.Add(F("journal_sectors:", js));
        if (InterleaveSectors is { } il) args.Add(F("interleave_sectors:", il));
        if (BufferSectors is { } bu) args.Add(F("buffer_sectors:", bu));
        if (JournalWatermark is { } jw) args.Add(F("journal_watermark:", jw));
        if (CommitTime is { } ct) args.Add(F("commit_time:", ct));
        if (SectorsPerBit is { } spb) args.Add(F("sectors_per_bit:", spb));
        if (BitmapFlushInterval is { } bfi) args.Add(F("bitmap_flush_interval:", bfi));
        if (FixPadding) args.Add("fix_padding");
        if (FixHmac) args.Add("fix_hmac");
        if (LegacyRecalculate) args.Add("legacy_recalculate");
        if (InternalHash is not null) args.Add("internal_hash:" + InternalHash.Render(keys));
        if (JournalCrypt is not null) args.Add("journal_crypt:" + JournalCrypt.Render(keys));
        if (JournalMac is not null) args.Add("journal_mac:" + JournalMac.Render(keys));
        args.AddRange(ExtraArguments);
        if (args.Count > 18)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "Too many dm-integrity table arguments (the kernel takes at most 18).");
        var sb = new StringBuilder();
        sb.Append(Escape(Device)).Append(' ').Append(Offset.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(TagSize is { } t ? t.ToString(CultureInfo.InvariantCulture) : "-").Append(' ')
          .Append(ModeLetter(Mode)).Append(' ').Append(args.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var a in args) sb.Append(' ').Append(a);
        return sb.ToString();
    }

    /// <summary>"start length integrity params", as dmsetup table prints it.</summary>
    public string ToLine(KeyRendering keys = KeyRendering.Clear) =>
        $"{Start.ToString(CultureInfo.InvariantCulture)} {Length.ToString(CultureInfo.InvariantCulture)} {TargetType} {ToParameters(keys)}";

    /// <summary>The target for DM_TABLE_LOAD (keys in clear: load it with DM_SECURE_DATA_FLAG when <see cref="HasKeys"/>).</summary>
    public DmTarget ToTarget() => new(Start, Length, TargetType, ToParameters(KeyRendering.Clear));

    /// <summary>Never prints keys.</summary>
    public override string ToString() => ToLine(KeyRendering.Zeros);

    private static string F(string name, ulong v) => name + v.ToString(CultureInfo.InvariantCulture);

    // dm_split_args: backslash escapes the next character; whitespace separates arguments.
    private static string Escape(string s)
    {
        if (!s.Any(c => c == '\\' || char.IsWhiteSpace(c))) return s;
        var sb = new StringBuilder();
        foreach (char c in s) { if (c == '\\' || char.IsWhiteSpace(c)) sb.Append('\\'); sb.Append(c); }
        return sb.ToString();
    }

    private static List<string> SplitArgs(string s)
    {
        var list = new List<string>();
        var cur = new StringBuilder();
        bool any = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\' && i + 1 < s.Length) { cur.Append(s[++i]); any = true; }
            else if (char.IsWhiteSpace(c)) { if (any) { list.Add(cur.ToString()); cur.Clear(); any = false; } }
            else { cur.Append(c); any = true; }
        }
        if (any) list.Add(cur.ToString());
        return list;
    }

    // ------------------------------------------------------------------ parsing

    /// <summary>
    /// Parse a table line ("0 32328 integrity 7:0 0 4 J 8 ...") or just its parameters ("7:0 0 4 J 8 ...").
    /// Keys given in hex are decoded; unknown arguments are kept in <see cref="ExtraArguments"/>.
    /// </summary>
    public static IntegrityTable Parse(string text)
    {
        var t = SplitArgs(text);
        ulong start = 0, length = 0;
        if (t.Count >= 3 && t[2] == TargetType && U64(t[0], out start) && U64(t[1], out length)) t = t.GetRange(3, t.Count - 3);
        if (t.Count < 5) throw new FormatException($"Not a dm-integrity table: '{Redact(text)}'.");
        if (!U64(t[1], out ulong offset)) throw new FormatException($"Invalid offset '{t[1]}'.");
        int? tag = null;
        if (t[2] != "-") tag = U64(t[2], out ulong tg) && tg > 0 && tg <= int.MaxValue ? (int)tg : throw new FormatException($"Invalid tag size '{t[2]}'.");
        var mode = ParseMode(t[3]);
        if (!U64(t[4], out ulong argc) || argc != (ulong)(t.Count - 5))
            throw new FormatException($"The argument count {t[4]} does not match the {t.Count - 5} arguments given.");
        var table = new IntegrityTable { Start = start, Length = length, Device = t[0], Offset = offset, TagSize = tag, Mode = mode };
        var extra = new List<string>();
        foreach (var a in t.Skip(5))
        {
            int colon = a.IndexOf(':');
            string key = colon < 0 ? a : a[..colon], val = colon < 0 ? "" : a[(colon + 1)..];
            table = key switch
            {
                "meta_device" when colon > 0 => table with { MetaDevice = val },
                "block_size" when colon > 0 => table with { BlockSize = checked((int)U32(key, val)) },
                "recalculate" when colon < 0 => table with { Recalculate = true },
                "reset_recalculate" when colon < 0 => table with { ResetRecalculate = true },
                "allow_discards" when colon < 0 => table with { AllowDiscards = true },
                "journal_sectors" when colon > 0 => table with { JournalSectors = U32(key, val) },
                "interleave_sectors" when colon > 0 => table with { InterleaveSectors = U32(key, val) },
                "buffer_sectors" when colon > 0 => table with { BufferSectors = U32(key, val) },
                "journal_watermark" when colon > 0 => table with { JournalWatermark = U32(key, val) },
                "commit_time" when colon > 0 => table with { CommitTime = U32(key, val) },
                "sectors_per_bit" when colon > 0 => table with { SectorsPerBit = U64(val, out ulong spb) ? spb : throw new FormatException($"Invalid {key}.") },
                "bitmap_flush_interval" when colon > 0 => table with { BitmapFlushInterval = U32(key, val) },
                "fix_padding" when colon < 0 => table with { FixPadding = true },
                "fix_hmac" when colon < 0 => table with { FixHmac = true },
                "legacy_recalculate" when colon < 0 => table with { LegacyRecalculate = true },
                "internal_hash" when colon > 0 => table with { InternalHash = ParseAlg(val) },
                "journal_crypt" when colon > 0 => table with { JournalCrypt = ParseAlg(val) },
                "journal_mac" when colon > 0 => table with { JournalMac = ParseAlg(val) },
                _ => AddExtra(table, extra, a),
            };
        }
        return extra.Count == 0 ? table : table with { ExtraArguments = extra };
    }

    private static IntegrityTable AddExtra(IntegrityTable t, List<string> extra, string a) { extra.Add(a); return t; }

    private static TableAlgorithm ParseAlg(string val)
    {
        int c = val.IndexOf(':');
        if (c < 0) return new TableAlgorithm(val);
        string hex = val[(c + 1)..];
        if (hex.Length % 2 != 0) throw new FormatException("A key in the table has an odd number of hex digits.");
        byte[] key;
        try { key = Convert.FromHexString(hex); }
        catch (FormatException) { throw new FormatException("A key in the table is not hex."); }
        return new TableAlgorithm(val[..c], key);
    }

    private static bool U64(string s, out ulong v) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);

    private static uint U32(string key, string s) =>
        uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out uint v) ? v : throw new FormatException($"Invalid {key} value '{s}'.");

    private static string Redact(string s) => TableKeys.Mask(TargetType, s);

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
        string? alg = o.Algorithm is null ? null : TableAlgorithm.KernelName(o.Algorithm);
        if (alg is null && (o.Mode == IntegrityMode.Bitmap || o.AllowDiscards || o.Recalculate || o.ResetRecalculate))
            throw Invalid("Bitmap mode, discards and recalculation need an integrity algorithm (internal_hash).");
        if (alg is not null && alg.StartsWith("hmac(", StringComparison.Ordinal) && o.Key is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument, $"{alg} is keyed: give the key (--integrity-key-file).", metadataDevice);
        if (o.Key is not null && alg is null)
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument, "A key was given without an algorithm.", metadataDevice);
        bool mac = o.JournalMacAlgorithm is not null;
        if (mac != sb.HasFlag(SuperblockFlags.HaveJournalMac))
            throw Invalid(mac ? "The volume was formatted without a journal MAC; do not give --journal-integrity."
                              : "The volume was formatted with a journal MAC: give --journal-integrity (and its key).");
        if (o.Mode == IntegrityMode.Bitmap && (o.JournalWatermark is not null || o.CommitTimeMs is not null))
            throw Invalid("Journal options (watermark, commit time) do not apply in bitmap mode.");
        if (o.Mode != IntegrityMode.Bitmap && (o.SectorsPerBit is not null || o.BitmapFlushIntervalMs is not null))
            throw Invalid("Bitmap options (sectors per bit, flush time) need bitmap mode.");
        if (o.JournalWatermark > 100) throw Invalid("The journal watermark is a percentage (0 to 100).");

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
            InternalHash = alg is null ? null : new TableAlgorithm(alg, o.Key),
            JournalCrypt = o.JournalCryptAlgorithm is null ? null : new TableAlgorithm(o.JournalCryptAlgorithm, o.JournalCryptKey),
            JournalMac = o.JournalMacAlgorithm is null ? null : new TableAlgorithm(TableAlgorithm.KernelName(o.JournalMacAlgorithm), o.JournalMacKey),
        };
    }

    private static IntegrityVolumeException Invalid(string message) => new(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, message);

    /// <summary>
    /// The table as the kernel will report it (DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG) once this table is
    /// loaded over a volume with superblock <paramref name="sb"/>: every default filled in, buffer_sectors capped to
    /// the metadata run, the watermark rounded through the journal's entry count, sectors_per_bit raised until the
    /// bitmap fits, bitmap_flush_interval rounded to jiffies (<paramref name="hz"/>; Debian's kernels use 250).
    /// Devices are reported as "major:minor": pass them that way (<paramref name="device"/>,
    /// <paramref name="metaDevice"/>), or the table's own strings are kept.
    /// </summary>
    public IntegrityTable ToKernelView(Superblock sb, string? device = null, string? metaDevice = null,
        ulong? metaDeviceSectors = null, int hz = 250)
    {
        bool separate = MetaDevice is not null;
        var shape = Geometry.ComputeJournalShape(sb.IntegrityTagSize, sb.Log2SectorsPerBlock, sb.HasFlag(SuperblockFlags.HaveJournalMac));
        ulong journalSectors = (ulong)shape.SectionSectors * sb.JournalSections;
        ulong journalEntries = (ulong)shape.SectionEntries * sb.JournalSections;

        int log2Buffer = Math.Min(BitOperations.Log2(Math.Max(1u, BufferSectors ?? DefaultBufferSectors)), 31 - 9);
        if (!separate)
        {
            ulong padding = sb.HasFlag(SuperblockFlags.FixedPadding) ? 4096UL : 512UL << Geometry.MetadataPaddingSectors;
            ulong bytes = (ulong)sb.IntegrityTagSize << (sb.Log2InterleaveSectors - sb.Log2SectorsPerBlock);
            ulong run = (bytes + padding - 1) / padding * padding / 512;
            log2Buffer = Math.Min(log2Buffer, BitOperations.TrailingZeroCount(run));
        }
        else if (metaDeviceSectors is { } metaSectors)
        {
            // try_smaller_buffer: the packed tags, rounded up to whole buffers, must fit on the metadata device.
            ulong initial = Superblock.AreaSectors + journalSectors;
            ulong tagBytes = (sb.ProvidedDataSectors >> sb.Log2SectorsPerBlock) * sb.IntegrityTagSize;
            while (log2Buffer > 3)
            {
                ulong unit = 1UL << (log2Buffer + 9);
                ulong metaSize = (tagBytes + unit - 1) / unit << log2Buffer;
                if (initial + metaSize <= metaSectors) break;
                log2Buffer--;
            }
        }

        uint? watermark = null, commit = null;
        ulong? sectorsPerBit = null;
        uint? flush = null;
        if (Mode == IntegrityMode.Journal)
        {
            ulong wm = JournalWatermark ?? DefaultJournalWatermark;
            ulong threshold = (journalEntries * (100 - wm) + 50) / 100;
            watermark = journalEntries == 0 ? (uint)wm : (uint)(((journalEntries - threshold) * 100 + journalEntries / 2) / journalEntries);
            commit = CommitTime ?? DefaultCommitTimeMs;
        }
        if (Mode == IntegrityMode.Bitmap)
        {
            ulong req = SectorsPerBit ?? DefaultSectorsPerBit;
            int log2 = req == 0 ? 0 : BitOperations.Log2(req);
            if (log2 < sb.Log2SectorsPerBlock) log2 = sb.Log2SectorsPerBlock;
            ulong bitsInJournal = Math.Min(uint.MaxValue, journalSectors << (9 + 3));
            if (bitsInJournal != 0)
                while (bitsInJournal < (sb.ProvidedDataSectors + (1UL << log2) - 1) >> log2) log2++;
            sectorsPerBit = 1UL << log2;   // sectors_per_block << log2_blocks_per_bitmap_bit
            ulong ms = BitmapFlushInterval ?? DefaultBitmapFlushIntervalMs;
            ulong jiffies = (ms * (ulong)hz + 999) / 1000;
            flush = (uint)(jiffies * 1000 / (ulong)hz);
        }

        return this with
        {
            Device = device ?? Device,
            MetaDevice = separate ? metaDevice ?? MetaDevice : null,
            TagSize = sb.IntegrityTagSize,
            BlockSize = sb.BlockSize == 512 ? null : sb.BlockSize,
            Recalculate = sb.HasFlag(SuperblockFlags.Recalculating) || Recalculate || ResetRecalculate,
            JournalSectors = (uint)journalSectors,
            InterleaveSectors = 1u << (separate ? 0 : sb.Log2InterleaveSectors),
            BufferSectors = 1u << log2Buffer,
            JournalWatermark = watermark,
            CommitTime = commit,
            SectorsPerBit = sectorsPerBit,
            BitmapFlushInterval = flush,
            FixPadding = sb.HasFlag(SuperblockFlags.FixedPadding),
            FixHmac = sb.HasFlag(SuperblockFlags.FixedHmac),
        };
    }
}

/// <summary>Hides keys in table parameters the way dmsetup does without --showkeys (hex digits become zeros).</summary>
public static class TableKeys
{
    public static string Mask(string targetType, string parameters)
    {
        if (targetType == IntegrityTable.TargetType)
        {
            var parts = parameters.Split(' ');
            for (int i = 0; i < parts.Length; i++)
                foreach (var prefix in new[] { "internal_hash:", "journal_crypt:", "journal_mac:" })
                    if (parts[i].StartsWith(prefix, StringComparison.Ordinal))
                    {
                        int c = parts[i].IndexOf(':', prefix.Length);
                        if (c > 0) parts[i] = parts[i][..(c + 1)] + ZeroHex(parts[i][(c + 1)..]);
                    }
            return string.Join(' ', parts);
        }
        if (targetType == "crypt")
        {
            // <cipher> <key> <iv_offset> ...: a key starting with ':' names a keyring entry and is not secret text.
            var parts = parameters.Split(' ');
            if (parts.Length > 1 && !parts[1].StartsWith(':') && parts[1] != "-") parts[1] = ZeroHex(parts[1]);
            return string.Join(' ', parts);
        }
        return parameters;
    }

    private static string ZeroHex(string s) => new(s.Select(ch => Uri.IsHexDigit(ch) ? '0' : ch).ToArray());
}
