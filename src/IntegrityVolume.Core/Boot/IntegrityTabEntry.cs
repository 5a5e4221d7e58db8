using System.Globalization;
using System.Text;

using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Boot;

public enum IntegrityTabSeverity
{
    /// <summary>systemd accepts the line but ignores part of it.</summary>
    Warning,
    /// <summary>systemd's generator or systemd-integritysetup attach fails on this line.</summary>
    Error,
}

/// <summary>One finding about an integritytab line; <see cref="LineNumber"/> is 1-based (0: not from a file).</summary>
public sealed record IntegrityTabProblem(int LineNumber, string ErrorId, IntegrityTabSeverity Severity, string Message);

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
    /// <summary>mode= (systemd 254 and later; older versions ignore it): one of <see cref="IntegrityModes.IntegrityTab"/>.</summary>
    public IntegrityMode? Mode { get; init; }
    public bool AllowDiscards { get; init; }
    public string? DataDevice { get; init; }
    /// <summary>journal-watermark= in percent (0..100; 0 = kernel default).</summary>
    public int? JournalWatermarkPercent { get; init; }
    /// <summary>journal-commit-time= as systemd reads it: a time span ("10", "10s", "500ms"; a bare number is seconds).</summary>
    public string? JournalCommitTime { get; init; }
    /// <summary>Further options written verbatim after the known ones (e.g. noauto, nofail, _netdev).</summary>
    public IReadOnlyList<string> ExtraOptions { get; init; } = Array.Empty<string>();
    /// <summary>The systemd version that will attach it (SystemdIntegritysetup.InstalledVersion); null: any version.</summary>
    public int? SystemdVersion { get; init; }
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
    public IntegrityMode Mode => IntegrityModes.IntegrityTab.FirstOrDefault(m => IntegrityModes.Name(m) == OptionValue("mode="), IntegrityMode.Journal);
    public bool AllowDiscards => Options.Contains("allow-discards");
    public string? DataDevice => OptionValue("data-device=");
    /// <summary>journal-watermark= in percent, when present and valid.</summary>
    public int? JournalWatermarkPercent => SystemdValues.TryParsePercent(OptionValue("journal-watermark="), out int p) ? p : null;
    /// <summary>journal-commit-time= verbatim (a systemd time span).</summary>
    public string? JournalCommitTime => OptionValue("journal-commit-time=");
    /// <summary>
    /// What systemd-integritysetup passes to the kernel as commit_time (milliseconds): it reads the option as a time
    /// span and hands over the number of whole seconds rounded up, so "10" (10 s) becomes commit_time:10 (10 ms).
    /// </summary>
    public ulong? KernelCommitTimeMs => SystemdValues.TryParseTimeSpan(JournalCommitTime, out ulong us) ? (us + 999_999) / 1_000_000 : null;

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
    /// field is an error (<see cref="ErrorIds.IntegrityTabTooFewFields"/>); blank and '#' lines are not entries (null).
    /// </summary>
    public static IntegrityTabEntry? TryParseFields(string line, int lineNumber, out IntegrityTabProblem? problem)
    {
        problem = null;
        string t = line.Trim();
        if (t.Length == 0 || t[0] == '#') return null;
        var fields = t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2)
        {
            problem = new IntegrityTabProblem(lineNumber, ErrorIds.IntegrityTabTooFewFields, IntegrityTabSeverity.Error,
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
            throw new IntegrityVolumeException(ErrorIds.IntegrityTabTooFewFields, ErrorKind.InvalidData,
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
        if (spec.Mode is { } m && !IntegrityModes.IntegrityTab.Contains(m))
            throw new IntegrityVolumeException(ErrorIds.IntegrityTabInvalidOption, ErrorKind.InvalidArgument,
                $"mode={IntegrityModes.Name(m)}: integritytab takes {string.Join(", ", IntegrityModes.IntegrityTab.Select(IntegrityModes.Name))}.", spec.Name);
        if (spec.Mode is { } mode && mode != IntegrityMode.Journal) options.Add("mode=" + IntegrityModes.Name(mode));
        if (spec.AllowDiscards) options.Add("allow-discards");
        if (spec.DataDevice is not null) options.Add("data-device=" + spec.DataDevice);
        if (spec.JournalWatermarkPercent is { } w) options.Add($"journal-watermark={w.ToString(CultureInfo.InvariantCulture)}%");
        if (spec.JournalCommitTime is not null) options.Add("journal-commit-time=" + spec.JournalCommitTime);
        foreach (var extra in spec.ExtraOptions)
        {
            if (string.IsNullOrEmpty(extra) || extra.Contains(',') || extra.Any(char.IsWhiteSpace) || extra == "-")
                throw new IntegrityVolumeException(ErrorIds.IntegrityTabInvalidOption, ErrorKind.InvalidArgument,
                    $"Option '{extra}' cannot be written: options are non-empty and contain no comma or whitespace.", extra);
            if (!options.Contains(extra, StringComparer.Ordinal)) options.Add(extra);
        }
        foreach (var o in options)
            if (o.Contains(',') || o.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || o.EndsWith('='))
                throw new IntegrityVolumeException(ErrorIds.IntegrityTabInvalidOption, ErrorKind.InvalidArgument,
                    $"Option '{o}' cannot be written: an option has a value and contains no comma or whitespace.", o);
        var entry = new IntegrityTabEntry { Name = spec.Name, Device = spec.Device, KeyFile = spec.KeyFile, Options = options };
        var fieldError = CheckFieldSyntax(entry);
        if (fieldError is not null) throw ToException(fieldError, null, ErrorKind.InvalidArgument);
        var error = entry.Check(spec.SystemdVersion).FirstOrDefault(p => p.Severity == IntegrityTabSeverity.Error);
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
                     ("volume name", e.Name, ErrorIds.IntegrityTabInvalidName),
                     ("device", e.Device, ErrorIds.IntegrityTabInvalidDevice),
                     ("key file", e.KeyFile, ErrorIds.IntegrityTabInvalidKeyFile),
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
    /// <param name="systemdVersion">The systemd that attaches it: its own algorithm list (older ones refuse xxhash64 and
    /// hmac-sha512: "Unsupported integrity algorithm"); null: the names any version accepts.</param>
    public IReadOnlyList<IntegrityTabProblem> Check(int? systemdVersion = null)
    {
        var problems = new List<IntegrityTabProblem>();
        void Add(string id, IntegrityTabSeverity s, string message) => problems.Add(new IntegrityTabProblem(LineNumber, id, s, message));
        const IntegrityTabSeverity E = IntegrityTabSeverity.Error, W = IntegrityTabSeverity.Warning;

        // Volume name: systemd-integritysetup requires a valid file name; device-mapper names are at most 127 bytes.
        if (Name.Length == 0 || Name == "." || Name == ".." || Name.Contains('/') || Name[0] == '#' ||
            Name.Any(char.IsControl) || Encoding.UTF8.GetByteCount(Name) > 127)
            Add(ErrorIds.IntegrityTabInvalidName, E,
                $"'{Name}' is not a valid volume name (a file name of at most 127 bytes, no '/', not '.' or '..', not starting with '#').");

        // Device: the generator turns UUID=/PARTUUID=/LABEL=/PARTLABEL= into /dev/disk/by-*; anything else must be an absolute path.
        if (!SystemdValues.IsDeviceSpec(Device))
            Add(ErrorIds.IntegrityTabInvalidDevice, E,
                $"Device '{Device}' is neither an absolute path nor UUID=, PARTUUID=, LABEL= or PARTLABEL= with a value.");

        if (KeyFile is not null && !KeyFile.StartsWith('/'))
            Add(ErrorIds.IntegrityTabInvalidKeyFile, E, $"Key file '{KeyFile}' is not an absolute path (systemd refuses relative ones).");

        foreach (var o in Options)
        {
            if (KnownFlags.Contains(o, StringComparer.Ordinal)) continue;
            if (o.StartsWith("mode=", StringComparison.Ordinal))
            {
                string v = o[5..];
                if (!IntegrityModes.IntegrityTab.Any(m => IntegrityModes.Name(m) == v))
                    Add(ErrorIds.IntegrityTabInvalidOption, E, $"mode={v}: expected journal, bitmap or direct (systemd would ignore it and use journal mode).");
            }
            else if (o.StartsWith("journal-watermark=", StringComparison.Ordinal))
            {
                if (!SystemdValues.TryParsePercent(o[18..], out _))
                    Add(ErrorIds.IntegrityTabInvalidOption, E, $"{o}: expected a percentage from 0% to 100% (with the % sign).");
            }
            else if (o.StartsWith("journal-commit-time=", StringComparison.Ordinal))
            {
                if (!SystemdValues.TryParseTimeSpan(o[20..], out _))
                    Add(ErrorIds.IntegrityTabInvalidOption, E, $"{o}: expected a systemd time span such as 10, 10s or 500ms.");
            }
            else if (o.StartsWith("data-device=", StringComparison.Ordinal))
            {
                if (!o[12..].StartsWith('/'))
                    Add(ErrorIds.IntegrityTabInvalidOption, E, $"{o}: the data device must be an absolute path (e.g. /dev/disk/by-uuid/...).");
            }
            else if (o.StartsWith("integrity-algorithm=", StringComparison.Ordinal))
            {
                string a = o[20..];
                var accepted = SystemdIntegritysetup.AlgorithmsFor(systemdVersion);
                if (!accepted.Contains(a, StringComparer.Ordinal))
                    Add(ErrorIds.IntegrityTabUnknownAlgorithm, E, systemdVersion is int v && SystemdIntegritysetup.FirstVersionAccepting(a) is int first
                        ? $"integrity-algorithm={a} needs systemd {first} or later; systemd {v} here fails with \"Unsupported integrity algorithm ({a})\" (it accepts {string.Join(", ", accepted)})."
                        : $"integrity-algorithm={a} is not one systemd-integritysetup accepts ({string.Join(", ", accepted)}).");
            }
            else
                Add(ErrorIds.IntegrityTabUnknownOption, W, $"Unknown option '{o}': systemd logs a warning and ignores it.");
        }

        string alg = Algorithm;
        bool keyed = TagAlgorithm.IsKeyedName(alg);
        if (SystemdAlgorithms.Contains(alg, StringComparer.Ordinal))
        {
            if (keyed && KeyFile is null)
                Add(ErrorIds.IntegrityTabKeyMismatch, E, $"{alg} is keyed: the third field must name the key file.");
            else if (!keyed && KeyFile is not null)
                Add(ErrorIds.IntegrityTabKeyMismatch, E, $"{alg} takes no key, but the line names key file {KeyFile}.");
        }
        return problems;
    }

    internal static IntegrityVolumeException ToException(IntegrityTabProblem p, string? source, ErrorKind kind) =>
        new(p.ErrorId, kind, Where(source, p.LineNumber) + p.Message, source);

    internal static string Where(string? source, int line) =>
        source is null ? "" : line > 0 ? $"{source}:{line}: " : $"{source}: ";
}
