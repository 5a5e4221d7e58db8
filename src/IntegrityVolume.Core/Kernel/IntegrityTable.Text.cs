using System.Globalization;
using System.Text;

namespace IntegrityVolume.Core.Kernel;

/// <summary>The table line as text: rendered in the kernel's argument order (dm_integrity_status), parsed back.</summary>
public sealed partial record IntegrityTable
{
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
          .Append(IntegrityModes.Letter(Mode)).Append(' ').Append(args.Count.ToString(CultureInfo.InvariantCulture));
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
        var mode = IntegrityModes.FromLetter(t[3]);
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
}
