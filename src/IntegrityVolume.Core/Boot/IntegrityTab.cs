using System.Globalization;
using System.Text;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Boot;

/// <summary>Stable error ids of /etc/integritytab handling. Never rename one: scripts match on them.</summary>
public static class IntegrityTabErrorIds
{
    /// <summary>A line with a volume name but no device (systemd's generator skips it).</summary>
    public const string TooFewFields = "IntegrityTabTooFewFields";
    /// <summary>More than four fields; systemd ignores the rest (a warning).</summary>
    public const string ExtraFields = "IntegrityTabExtraFields";
    /// <summary>Not a usable volume name: empty, '.', '..', contains '/', whitespace or control characters, longer than 127 bytes, starts with '#'.</summary>
    public const string InvalidName = "IntegrityTabInvalidName";
    /// <summary>The device is neither an absolute path nor UUID=, PARTUUID=, LABEL=, PARTLABEL= with a value.</summary>
    public const string InvalidDevice = "IntegrityTabInvalidDevice";
    /// <summary>The key file is not an absolute path (or, when checked, is empty or larger than 4096 bytes).</summary>
    public const string InvalidKeyFile = "IntegrityTabInvalidKeyFile";
    /// <summary>A known option with a bad value: mode=, journal-watermark=, journal-commit-time=, data-device=.</summary>
    public const string InvalidOption = "IntegrityTabInvalidOption";
    /// <summary>An option systemd does not know; it logs a warning and ignores it (a warning here too).</summary>
    public const string UnknownOption = "IntegrityTabUnknownOption";
    /// <summary>integrity-algorithm= names an algorithm systemd-integritysetup does not accept.</summary>
    public const string UnknownAlgorithm = "IntegrityTabUnknownAlgorithm";
    /// <summary>A keyed algorithm without a key file, or a key file with an algorithm that takes no key.</summary>
    public const string KeyMismatch = "IntegrityTabKeyMismatch";
    /// <summary>Two lines for one volume name: the generator refuses the second unit file.</summary>
    public const string DuplicateName = "IntegrityTabDuplicateName";
    /// <summary>The file could not be read.</summary>
    public const string ReadFailed = "IntegrityTabReadFailed";
    /// <summary>The file could not be written (temporary file, rename).</summary>
    public const string WriteFailed = "IntegrityTabWriteFailed";
}

public enum IntegrityTabSeverity
{
    /// <summary>systemd accepts the line but ignores part of it.</summary>
    Warning,
    /// <summary>systemd's generator or systemd-integritysetup attach fails on this line.</summary>
    Error,
}

/// <summary>One finding about an integritytab line; <see cref="LineNumber"/> is 1-based (0: not from a file).</summary>
public sealed record IntegrityTabProblem(int LineNumber, string ErrorId, IntegrityTabSeverity Severity, string Message);

/// <summary>The journal modes of integritytab's mode= option (systemd 254 and later; older versions ignore it).</summary>
public enum IntegrityTabMode { Journal, Bitmap, Direct }

/// <summary>What a caller wants in an entry; <see cref="IntegrityTabEntry.Create"/> turns it into a validated entry.</summary>
public sealed record IntegrityTabEntrySpec
{
    public required string Name { get; init; }
    /// <summary>Absolute path, or UUID=, PARTUUID=, LABEL=, PARTLABEL=.</summary>
    public required string Device { get; init; }
    /// <summary>Absolute path of the HMAC key file (implies hmac-sha256 unless <see cref="Algorithm"/> says otherwise).</summary>
    public string? KeyFile { get; init; }
    /// <summary>Tag algorithm, systemd's spelling (hmac-sha256); kernel spelling hmac(sha256) is accepted. Null: systemd's default.</summary>
    public string? Algorithm { get; init; }
    public IntegrityTabMode? Mode { get; init; }
    public bool AllowDiscards { get; init; }
    public string? DataDevice { get; init; }
    /// <summary>journal-watermark= in percent (0..100; 0 = kernel default).</summary>
    public int? JournalWatermarkPercent { get; init; }
    /// <summary>journal-commit-time= as systemd reads it: a time span ("10", "10s", "500ms"; a bare number is seconds).</summary>
    public string? JournalCommitTime { get; init; }
    /// <summary>Further options written verbatim after the known ones (e.g. noauto, nofail, _netdev).</summary>
    public IReadOnlyList<string> ExtraOptions { get; init; } = Array.Empty<string>();
}

/// <summary>
/// One volume line of integritytab(5): <c>name device [keyfile|-] [options|-]</c>, options comma-separated.
/// The derived properties read the options the way systemd-integritysetup does (the last occurrence wins).
/// </summary>
public sealed class IntegrityTabEntry
{
    /// <summary>Names integritytab's integrity-algorithm= accepts (systemd src/integritysetup).</summary>
    public static readonly IReadOnlyList<string> SystemdAlgorithms = new[]
    {
        "crc32", "crc32c", "xxhash64", "sha1", "sha256", "hmac-sha256", "hmac-sha512", "phmac-sha256", "phmac-sha512",
    };

    /// <summary>Options systemd knows without a value check of ours (boot ordering flags of newer versions).</summary>
    private static readonly string[] KnownFlags = { "allow-discards", "noauto", "nofail", "_netdev" };

    public required string Name { get; init; }
    public required string Device { get; init; }
    /// <summary>Key file, or null for "-" / absent.</summary>
    public string? KeyFile { get; init; }
    /// <summary>The options in file order, verbatim (empty for "-" / absent).</summary>
    public IReadOnlyList<string> Options { get; init; } = Array.Empty<string>();
    /// <summary>1-based line in the file, 0 for an entry not read from a file.</summary>
    public int LineNumber { get; init; }

    /// <summary>The algorithm systemd-integritysetup will use: integrity-algorithm=, else hmac-sha256 with a key file, else crc32c.</summary>
    public string Algorithm => OptionValue("integrity-algorithm=") ?? (KeyFile is null ? TagAlgorithm.DefaultName : "hmac-sha256");
    /// <summary>mode= as written (journal when absent or not understood by systemd).</summary>
    public IntegrityTabMode Mode => OptionValue("mode=") switch
    {
        "bitmap" => IntegrityTabMode.Bitmap,
        "direct" => IntegrityTabMode.Direct,
        _ => IntegrityTabMode.Journal,
    };
    public bool AllowDiscards => Options.Contains("allow-discards");
    public string? DataDevice => OptionValue("data-device=");
    /// <summary>journal-watermark= in percent, when present and valid.</summary>
    public int? JournalWatermarkPercent => TryParsePercent(OptionValue("journal-watermark="), out int p) ? p : null;
    /// <summary>journal-commit-time= verbatim (a systemd time span).</summary>
    public string? JournalCommitTime => OptionValue("journal-commit-time=");
    /// <summary>
    /// What systemd-integritysetup passes to the kernel as commit_time (milliseconds): it reads the option as a time
    /// span and hands over the number of whole seconds rounded up, so "10" (10 s) becomes commit_time:10 (10 ms).
    /// </summary>
    public ulong? KernelCommitTimeMs => TryParseTimeSpan(JournalCommitTime, out ulong us) ? (us + 999_999) / 1_000_000 : null;

    private string? OptionValue(string prefix)
    {
        string? value = null;
        foreach (var o in Options)
            if (o.StartsWith(prefix, StringComparison.Ordinal)) value = o[prefix.Length..];
        return value;
    }

    /// <summary>The line as written by us: fields separated by one space, "-" for an absent key file when options follow.</summary>
    public string ToLine()
    {
        var sb = new StringBuilder().Append(Name).Append(' ').Append(Device);
        if (KeyFile is not null || Options.Count > 0) sb.Append(' ').Append(KeyFile ?? "-");
        if (Options.Count > 0) sb.Append(' ').Append(string.Join(',', Options));
        return sb.ToString();
    }

    public override string ToString() => ToLine();

    /// <summary>
    /// Same volume, device, key file and options, in any order and with defaults spelled out or not (mode=journal,
    /// integrity-algorithm=crc32c, or hmac-sha256 with a key file): rewriting the line would change nothing for systemd.
    /// </summary>
    public bool IsEquivalentTo(IntegrityTabEntry other) =>
        Name == other.Name && Device == other.Device && KeyFile == other.KeyFile &&
        SignificantOptions().SequenceEqual(other.SignificantOptions(), StringComparer.Ordinal);

    private IEnumerable<string> SignificantOptions()
    {
        string defaultAlgorithm = "integrity-algorithm=" + (KeyFile is null ? TagAlgorithm.DefaultName : "hmac-sha256");
        return Options.Where(o => o != "mode=journal" && o != defaultAlgorithm).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
    }

    /// <summary>
    /// Split a volume line into fields as systemd's generator does (whitespace-separated, no quoting): a line with one
    /// field is an error (<see cref="IntegrityTabErrorIds.TooFewFields"/>); blank and '#' lines are not entries (null).
    /// </summary>
    public static IntegrityTabEntry? TryParseFields(string line, int lineNumber, out IntegrityTabProblem? problem)
    {
        problem = null;
        string t = line.Trim();
        if (t.Length == 0 || t[0] == '#') return null;
        var fields = t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2)
        {
            problem = new IntegrityTabProblem(lineNumber, IntegrityTabErrorIds.TooFewFields, IntegrityTabSeverity.Error,
                $"'{t}' has a volume name but no device (expected: name device [keyfile|-] [options|-]).");
            return null;
        }
        string? key = fields.Length > 2 && fields[2] != "-" ? fields[2] : null;
        var options = fields.Length > 3 && fields[3] != "-" ? fields[3].Split(',') : Array.Empty<string>();
        return new IntegrityTabEntry { Name = fields[0], Device = fields[1], KeyFile = key, Options = options, LineNumber = lineNumber };
    }

    /// <summary>Parse one volume line strictly: any error (not warnings) throws with its stable id.</summary>
    public static IntegrityTabEntry Parse(string line, string? source = null, int lineNumber = 0)
    {
        var entry = TryParseFields(line, lineNumber, out var problem);
        if (problem is not null) throw ToException(problem, source, ErrorKind.InvalidData);
        if (entry is null)
            throw new IntegrityVolumeException(IntegrityTabErrorIds.TooFewFields, ErrorKind.InvalidData,
                $"{Where(source, lineNumber)}'{line.Trim()}' is not a volume line (blank or comment).", source);
        var firstError = entry.Check().FirstOrDefault(p => p.Severity == IntegrityTabSeverity.Error);
        if (firstError is not null) throw ToException(firstError, source, ErrorKind.InvalidData);
        return entry;
    }

    /// <summary>Build a validated entry in our canonical option order; throws the first error with its stable id.</summary>
    public static IntegrityTabEntry Create(IntegrityTabEntrySpec spec)
    {
        var options = new List<string>();
        string? algorithm = spec.Algorithm is null ? null : NormalizeAlgorithm(spec.Algorithm);
        string defaultAlgorithm = spec.KeyFile is null ? TagAlgorithm.DefaultName : "hmac-sha256";
        // Written only when it differs from systemd's default, so the line stays what a person would write.
        if (algorithm is not null && algorithm != defaultAlgorithm) options.Add("integrity-algorithm=" + algorithm);
        if (spec.Mode is { } m && m != IntegrityTabMode.Journal) options.Add("mode=" + m.ToString().ToLowerInvariant());
        if (spec.AllowDiscards) options.Add("allow-discards");
        if (spec.DataDevice is not null) options.Add("data-device=" + spec.DataDevice);
        if (spec.JournalWatermarkPercent is { } w) options.Add($"journal-watermark={w.ToString(CultureInfo.InvariantCulture)}%");
        if (spec.JournalCommitTime is not null) options.Add("journal-commit-time=" + spec.JournalCommitTime);
        foreach (var extra in spec.ExtraOptions)
        {
            if (string.IsNullOrEmpty(extra) || extra.Contains(',') || extra.Any(char.IsWhiteSpace) || extra == "-")
                throw new IntegrityVolumeException(IntegrityTabErrorIds.InvalidOption, ErrorKind.InvalidArgument,
                    $"Option '{extra}' cannot be written: options are non-empty and contain no comma or whitespace.", extra);
            if (!options.Contains(extra, StringComparer.Ordinal)) options.Add(extra);
        }
        foreach (var o in options)
            if (o.Contains(',') || o.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || o.EndsWith('='))
                throw new IntegrityVolumeException(IntegrityTabErrorIds.InvalidOption, ErrorKind.InvalidArgument,
                    $"Option '{o}' cannot be written: an option has a value and contains no comma or whitespace.", o);
        var entry = new IntegrityTabEntry { Name = spec.Name, Device = spec.Device, KeyFile = spec.KeyFile, Options = options };
        var fieldError = CheckFieldSyntax(entry);
        if (fieldError is not null) throw ToException(fieldError, null, ErrorKind.InvalidArgument);
        var error = entry.Check().FirstOrDefault(p => p.Severity == IntegrityTabSeverity.Error);
        if (error is not null) throw ToException(error, null, ErrorKind.InvalidArgument);
        return entry;
    }

    /// <summary>systemd's spelling of an algorithm name; the kernel's hmac(sha256) becomes hmac-sha256.</summary>
    public static string NormalizeAlgorithm(string name) => TagAlgorithm.IntegritysetupSpelling(name.Trim().ToLowerInvariant());

    /// <summary>Fields of an entry we build must survive being written and read back (no whitespace, no empty field, no "-").</summary>
    private static IntegrityTabProblem? CheckFieldSyntax(IntegrityTabEntry e)
    {
        foreach (var (what, value, id) in new[]
                 {
                     ("volume name", e.Name, IntegrityTabErrorIds.InvalidName),
                     ("device", e.Device, IntegrityTabErrorIds.InvalidDevice),
                     ("key file", e.KeyFile, IntegrityTabErrorIds.InvalidKeyFile),
                 })
        {
            if (value is null) continue;
            if (value.Length == 0 || value == "-" || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                return new IntegrityTabProblem(0, id, IntegrityTabSeverity.Error,
                    $"The {what} '{value}' cannot be written to integritytab: fields are non-empty, not '-', and contain no whitespace.");
        }
        return null;
    }

    /// <summary>Every finding about this entry, as systemd's generator and systemd-integritysetup attach would judge it.</summary>
    public IReadOnlyList<IntegrityTabProblem> Check()
    {
        var problems = new List<IntegrityTabProblem>();
        void Add(string id, IntegrityTabSeverity s, string message) => problems.Add(new IntegrityTabProblem(LineNumber, id, s, message));
        const IntegrityTabSeverity E = IntegrityTabSeverity.Error, W = IntegrityTabSeverity.Warning;

        // Volume name: systemd-integritysetup requires a valid file name; device-mapper names are at most 127 bytes.
        if (Name.Length == 0 || Name == "." || Name == ".." || Name.Contains('/') || Name[0] == '#' ||
            Name.Any(char.IsControl) || Encoding.UTF8.GetByteCount(Name) > 127)
            Add(IntegrityTabErrorIds.InvalidName, E,
                $"'{Name}' is not a valid volume name (a file name of at most 127 bytes, no '/', not '.' or '..', not starting with '#').");

        // Device: the generator turns UUID=/PARTUUID=/LABEL=/PARTLABEL= into /dev/disk/by-*; anything else must be an absolute path.
        if (!IsDeviceSpec(Device))
            Add(IntegrityTabErrorIds.InvalidDevice, E,
                $"Device '{Device}' is neither an absolute path nor UUID=, PARTUUID=, LABEL= or PARTLABEL= with a value.");

        if (KeyFile is not null && !KeyFile.StartsWith('/'))
            Add(IntegrityTabErrorIds.InvalidKeyFile, E, $"Key file '{KeyFile}' is not an absolute path (systemd refuses relative ones).");

        foreach (var o in Options)
        {
            if (KnownFlags.Contains(o, StringComparer.Ordinal)) continue;
            if (o.StartsWith("mode=", StringComparison.Ordinal))
            {
                string v = o[5..];
                if (v is not ("journal" or "bitmap" or "direct"))
                    Add(IntegrityTabErrorIds.InvalidOption, E, $"mode={v}: expected journal, bitmap or direct (systemd would ignore it and use journal mode).");
            }
            else if (o.StartsWith("journal-watermark=", StringComparison.Ordinal))
            {
                if (!TryParsePercent(o[18..], out _))
                    Add(IntegrityTabErrorIds.InvalidOption, E, $"{o}: expected a percentage from 0% to 100% (with the % sign).");
            }
            else if (o.StartsWith("journal-commit-time=", StringComparison.Ordinal))
            {
                if (!TryParseTimeSpan(o[20..], out _))
                    Add(IntegrityTabErrorIds.InvalidOption, E, $"{o}: expected a systemd time span such as 10, 10s or 500ms.");
            }
            else if (o.StartsWith("data-device=", StringComparison.Ordinal))
            {
                if (!o[12..].StartsWith('/'))
                    Add(IntegrityTabErrorIds.InvalidOption, E, $"{o}: the data device must be an absolute path (e.g. /dev/disk/by-uuid/...).");
            }
            else if (o.StartsWith("integrity-algorithm=", StringComparison.Ordinal))
            {
                string a = o[20..];
                if (!SystemdAlgorithms.Contains(a, StringComparer.Ordinal))
                    Add(IntegrityTabErrorIds.UnknownAlgorithm, E,
                        $"integrity-algorithm={a} is not one systemd-integritysetup accepts ({string.Join(", ", SystemdAlgorithms)}).");
            }
            else
                Add(IntegrityTabErrorIds.UnknownOption, W, $"Unknown option '{o}': systemd logs a warning and ignores it.");
        }

        string alg = Algorithm;
        bool keyed = TagAlgorithm.IsKeyedName(alg);
        if (SystemdAlgorithms.Contains(alg, StringComparer.Ordinal))
        {
            if (keyed && KeyFile is null)
                Add(IntegrityTabErrorIds.KeyMismatch, E, $"{alg} is keyed: the third field must name the key file.");
            else if (!keyed && KeyFile is not null)
                Add(IntegrityTabErrorIds.KeyMismatch, E, $"{alg} takes no key, but the line names key file {KeyFile}.");
        }
        return problems;
    }

    public static bool IsDeviceSpec(string device)
    {
        if (device.StartsWith('/')) return device.Length > 1;
        foreach (var tag in new[] { "UUID=", "PARTUUID=", "LABEL=", "PARTLABEL=" })
            if (device.StartsWith(tag, StringComparison.Ordinal)) return device.Length > tag.Length;
        return false;
    }

    /// <summary>systemd's parse_percent: an integer 0..100 followed by '%'.</summary>
    public static bool TryParsePercent(string? text, out int percent)
    {
        percent = 0;
        if (text is null || text.Length < 2 || text[^1] != '%') return false;
        return int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out percent) && percent <= 100;
    }

    // systemd's time units (parse_time); matched longest first so "ms" is not read as "m" + "s".
    private static readonly (string Unit, ulong Microseconds)[] TimeUnits = new (string Unit, ulong Microseconds)[]
    {
        ("usec", 1), ("us", 1), ("µs", 1), ("μs", 1), ("msec", 1000), ("ms", 1000),
        ("seconds", 1_000_000), ("second", 1_000_000), ("sec", 1_000_000), ("s", 1_000_000),
        ("minutes", 60_000_000), ("minute", 60_000_000), ("min", 60_000_000), ("m", 60_000_000),
        ("hours", 3_600_000_000), ("hour", 3_600_000_000), ("hr", 3_600_000_000), ("h", 3_600_000_000),
        ("days", 86_400_000_000), ("day", 86_400_000_000), ("d", 86_400_000_000),
        ("weeks", 604_800_000_000), ("week", 604_800_000_000), ("w", 604_800_000_000),
        ("months", 2_629_800_000_000), ("month", 2_629_800_000_000), ("M", 2_629_800_000_000),
        ("years", 31_557_600_000_000), ("year", 31_557_600_000_000), ("y", 31_557_600_000_000),
    }.OrderByDescending(u => u.Unit.Length).ToArray();

    /// <summary>A systemd time span without spaces ("10", "10s", "1min30s", "1.5s", "500ms"); a bare number is seconds.</summary>
    public static bool TryParseTimeSpan(string? text, out ulong microseconds)
    {
        microseconds = 0;
        if (string.IsNullOrEmpty(text)) return false;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start) return false;
            decimal number = decimal.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            if (i < text.Length && text[i] == '.')
            {
                int fracStart = ++i;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                if (i == fracStart) return false;
                number += decimal.Parse("0." + text[fracStart..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            }
            ulong factor = 1_000_000;
            if (i < text.Length && !char.IsAsciiDigit(text[i]))
            {
                var unit = TimeUnits.FirstOrDefault(u => string.CompareOrdinal(text, i, u.Unit, 0, u.Unit.Length) == 0);
                if (unit.Unit is null) return false;
                factor = unit.Microseconds;
                i += unit.Unit.Length;
            }
            try { microseconds = checked(microseconds + (ulong)(number * factor)); }
            catch (OverflowException) { return false; }
        }
        return true;
    }

    internal static IntegrityVolumeException ToException(IntegrityTabProblem p, string? source, ErrorKind kind) =>
        new(p.ErrorId, kind, Where(source, p.LineNumber) + p.Message, source);

    internal static string Where(string? source, int line) =>
        source is null ? "" : line > 0 ? $"{source}:{line}: " : $"{source}: ";
}

public enum IntegrityTabLineKind { Blank, Comment, Entry, Invalid }

/// <summary>One line of the file, kept verbatim (without its '\n') so a rewrite changes only what it must.</summary>
public sealed class IntegrityTabLine
{
    public required IntegrityTabLineKind Kind { get; init; }
    public required string Text { get; init; }
    public IntegrityTabEntry? Entry { get; init; }

    public static IntegrityTabLine Parse(string text, int lineNumber, out IntegrityTabProblem? problem)
    {
        string t = text.Trim();
        problem = null;
        if (t.Length == 0) return new IntegrityTabLine { Kind = IntegrityTabLineKind.Blank, Text = text };
        if (t[0] == '#') return new IntegrityTabLine { Kind = IntegrityTabLineKind.Comment, Text = text };
        var entry = IntegrityTabEntry.TryParseFields(text, lineNumber, out problem);
        return entry is null
            ? new IntegrityTabLine { Kind = IntegrityTabLineKind.Invalid, Text = text }
            : new IntegrityTabLine { Kind = IntegrityTabLineKind.Entry, Text = text, Entry = entry };
    }
}

/// <summary>What an add or remove did (or, with dry run, would do) to an integritytab file.</summary>
public sealed class IntegrityTabUpdateResult
{
    public required string Path { get; init; }
    public required string Name { get; init; }
    /// <summary>"added", "replaced", "removed" or "unchanged".</summary>
    public required string Action { get; init; }
    public bool Changed => Action != "unchanged";
    public bool DryRun { get; init; }
    /// <summary>The entry's line after the change (null after a removal).</summary>
    public string? Line { get; init; }
    /// <summary>The line(s) the change replaced or removed.</summary>
    public string[] PreviousLines { get; init; } = Array.Empty<string>();
    public string[] Warnings { get; init; } = Array.Empty<string>();
}

/// <summary>
/// An /etc/integritytab file (systemd's integritytab(5)): parsed leniently so every line, comment, blank or broken
/// line survives a rewrite byte for byte; entries added, replaced and removed in place; written atomically.
/// </summary>
public sealed class IntegrityTab
{
    public const string DefaultPath = "/etc/integritytab";

    private readonly List<IntegrityTabLine> _lines;
    private bool _endsWithNewline;

    private IntegrityTab(List<IntegrityTabLine> lines, bool endsWithNewline, string? path, bool exists)
    {
        _lines = lines;
        _endsWithNewline = endsWithNewline;
        Path = path;
        Exists = exists;
    }

    public string? Path { get; }
    /// <summary>False when the file did not exist (an empty table).</summary>
    public bool Exists { get; }
    public IReadOnlyList<IntegrityTabLine> Lines => _lines;
    public IEnumerable<IntegrityTabEntry> Entries => _lines.Where(l => l.Entry is not null).Select(l => l.Entry!);

    public static IntegrityTab Parse(string text, string? path = null) => Parse(text, path, exists: true);

    private static IntegrityTab Parse(string text, string? path, bool exists)
    {
        var lines = new List<IntegrityTabLine>();
        bool endsWithNewline = false;
        if (text.Length > 0)
        {
            endsWithNewline = text[^1] == '\n';
            string body = endsWithNewline ? text[..^1] : text;
            var raw = body.Split('\n');
            for (int i = 0; i < raw.Length; i++) lines.Add(IntegrityTabLine.Parse(raw[i], i + 1, out _));
        }
        return new IntegrityTab(lines, endsWithNewline, path, exists);
    }

    /// <summary>Read a file; a missing file is an empty table (<see cref="Exists"/> false), as systemd treats it.</summary>
    public static IntegrityTab Load(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                if (Directory.Exists(path))
                    throw new IntegrityVolumeException(IntegrityTabErrorIds.ReadFailed, ErrorKind.InvalidArgument, $"{path} is a directory.", path);
                return new IntegrityTab(new List<IntegrityTabLine>(), false, path, exists: false);
            }
            return Parse(File.ReadAllText(path, new UTF8Encoding(false)), path, exists: true);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IntegrityVolumeException(IntegrityTabErrorIds.ReadFailed, ErrorKind.PermissionDenied, $"{path}: {ex.Message}", path, ex);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(IntegrityTabErrorIds.ReadFailed, ErrorKind.DeviceError, $"{path}: {ex.Message}", path, ex);
        }
    }

    /// <summary>The file's text: identical to what was parsed until a change.</summary>
    public string ToText() => _lines.Count == 0 ? "" : string.Join('\n', _lines.Select(l => l.Text)) + (_endsWithNewline ? "\n" : "");

    /// <summary>Every problem in the file: per line, plus duplicate volume names (the generator fails on the second).</summary>
    public IReadOnlyList<IntegrityTabProblem> Validate()
    {
        var problems = new List<IntegrityTabProblem>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i];
            if (line.Kind == IntegrityTabLineKind.Invalid)
            {
                IntegrityTabLine.Parse(line.Text, i + 1, out var p);
                if (p is not null) problems.Add(p);
                continue;
            }
            if (line.Entry is not { } e) continue;
            var fields = line.Text.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4)
                problems.Add(new IntegrityTabProblem(i + 1, IntegrityTabErrorIds.ExtraFields, IntegrityTabSeverity.Warning,
                    $"'{string.Join(' ', fields[4..])}' after the options field is ignored by systemd."));
            problems.AddRange(e.Check());
            if (seen.TryGetValue(e.Name, out int first))
                problems.Add(new IntegrityTabProblem(i + 1, IntegrityTabErrorIds.DuplicateName, IntegrityTabSeverity.Error,
                    $"Volume '{e.Name}' is already defined on line {first}; systemd's generator fails on the second definition."));
            else seen[e.Name] = i + 1;
        }
        return problems;
    }

    /// <summary>
    /// Make the file hold exactly this entry for its name: unchanged when an equivalent line is already the only one
    /// (its spacing and option order kept), else the first line of that name is replaced (later duplicates dropped)
    /// or the line is appended.
    /// </summary>
    public IntegrityTabUpdateResult Set(IntegrityTabEntry entry)
    {
        var indexes = IndexesOf(entry.Name);
        string path = Path ?? "";
        if (indexes.Count == 1 && _lines[indexes[0]].Entry!.IsEquivalentTo(entry))
            return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "unchanged", Line = _lines[indexes[0]].Text.Trim() };
        string text = entry.ToLine();
        // A CRLF file stays CRLF: the line we write or replace takes the '\r' its neighbour (or predecessor) had.
        var model = indexes.Count > 0 ? _lines[indexes[0]] : _lines.LastOrDefault();
        string cr = model is not null && model.Text.EndsWith('\r') ? "\r" : "";
        var newLine = new IntegrityTabLine
        {
            Kind = IntegrityTabLineKind.Entry, Text = text + cr,
            Entry = new IntegrityTabEntry { Name = entry.Name, Device = entry.Device, KeyFile = entry.KeyFile, Options = entry.Options.ToArray() },
        };
        var previous = indexes.Select(i => _lines[i].Text.Trim()).ToArray();
        if (indexes.Count == 0)
        {
            _lines.Add(newLine);
            _endsWithNewline = true;
            return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "added", Line = text };
        }
        _lines[indexes[0]] = newLine;
        for (int k = indexes.Count - 1; k >= 1; k--) _lines.RemoveAt(indexes[k]);
        return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "replaced", Line = text, PreviousLines = previous };
    }

    /// <summary>Remove every line of this volume name; unchanged when there is none.</summary>
    public IntegrityTabUpdateResult Remove(string name)
    {
        var indexes = IndexesOf(name);
        string path = Path ?? "";
        if (indexes.Count == 0) return new IntegrityTabUpdateResult { Path = path, Name = name, Action = "unchanged" };
        var previous = indexes.Select(i => _lines[i].Text.Trim()).ToArray();
        for (int k = indexes.Count - 1; k >= 0; k--) _lines.RemoveAt(indexes[k]);
        if (_lines.Count == 0) _endsWithNewline = false;
        return new IntegrityTabUpdateResult { Path = path, Name = name, Action = "removed", PreviousLines = previous };
    }

    private List<int> IndexesOf(string name)
    {
        var result = new List<int>();
        for (int i = 0; i < _lines.Count; i++)
            if (_lines[i].Entry?.Name == name) result.Add(i);
        return result;
    }

    /// <summary>
    /// Write atomically: a temporary file beside the target (through a symlink, beside its final target), flushed to
    /// disk, given the old file's mode (0644 for a new one), then renamed over it, so a reader or a crash never sees
    /// half a file.
    /// </summary>
#pragma warning disable CA1416 // Unix file modes: integritytab exists on Linux only.
    public void Save(string path)
    {
        string target = path;
        string? tmp = null;
        try
        {
            if (new FileInfo(path).LinkTarget is not null && File.ResolveLinkTarget(path, returnFinalTarget: true) is { } final)
                target = final.FullName;
            string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(target))!;
            if (!Directory.Exists(dir))
                throw new IntegrityVolumeException(IntegrityTabErrorIds.WriteFailed, ErrorKind.NotFound, $"{path}: directory {dir} does not exist.", path);
            tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            var mode = File.Exists(target) ? File.GetUnixFileMode(target)
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            var bytes = new UTF8Encoding(false).GetBytes(ToText());
            using (var fs = new FileStream(tmp, new FileStreamOptions
                   { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(tmp, mode); // the umask may have narrowed it
            File.Move(tmp, target, overwrite: true);
            tmp = null;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IntegrityVolumeException(IntegrityTabErrorIds.WriteFailed, ErrorKind.PermissionDenied, $"{path}: {ex.Message}", path, ex);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(IntegrityTabErrorIds.WriteFailed, ErrorKind.DeviceError, $"{path}: {ex.Message}", path, ex);
        }
        finally
        {
            if (tmp is not null) try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

#pragma warning restore CA1416

    /// <summary>Add or replace an entry in a file (created when missing); with dry run, report what would happen.</summary>
    public static IntegrityTabUpdateResult AddOrReplace(string path, IntegrityTabEntry entry, bool dryRun = false)
    {
        var tab = Load(path);
        var r = tab.Set(entry);
        if (r.Changed && !dryRun) tab.Save(path);
        // Warnings about the entry, and errors elsewhere in the file that systemd will trip over (left as they are).
        var warnings = entry.Check().Where(p => p.Severity == IntegrityTabSeverity.Warning).Select(p => p.Message)
            .Concat(tab.Validate().Where(p => p.Severity == IntegrityTabSeverity.Error)
                .Select(p => $"{path}:{p.LineNumber}: {p.Message} [{p.ErrorId}]"));
        return new IntegrityTabUpdateResult
        {
            Path = path, Name = r.Name, Action = r.Action, DryRun = dryRun, Line = r.Line, PreviousLines = r.PreviousLines,
            Warnings = warnings.ToArray(),
        };
    }

    /// <summary>Remove an entry from a file; unchanged (and the file untouched) when it is not there.</summary>
    public static IntegrityTabUpdateResult RemoveEntry(string path, string name, bool dryRun = false)
    {
        var tab = Load(path);
        var r = tab.Remove(name);
        if (r.Changed && !dryRun) tab.Save(path);
        return new IntegrityTabUpdateResult { Path = path, Name = name, Action = r.Action, DryRun = dryRun, PreviousLines = r.PreviousLines };
    }
}
