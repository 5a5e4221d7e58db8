using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol tab: read and edit /etc/integritytab (systemd's integritytab(5)) so systemd-integritysetup attaches the
/// volumes at boot. Edits keep every other line byte for byte and replace the file atomically.
/// </summary>
internal static class TabCommand
{
    public static Command Create()
    {
        var cmd = new Command("tab", "Read and edit /etc/integritytab, from which systemd-integritysetup attaches volumes at boot.")
        {
            List(), Add(), Remove(), Check(),
        };
        return cmd;
    }

    private static Option<string> FileOption() => new("--file", "-f")
    {
        Description = $"The integritytab file (default {IntegrityTab.DefaultPath}).",
        DefaultValueFactory = _ => IntegrityTab.DefaultPath,
    };

    private static Option<int?> SystemdVersionOption() => new("--systemd-version")
    {
        Description = "The systemd version that attaches the volumes at boot, for its list of algorithms (default: the installed one, from libsystemd-shared-<version>.so).",
    };

    private static int? SystemdVersion(ParseResult p, Option<int?> o) => p.GetValue(o) ?? SystemdIntegritysetup.InstalledVersion();

    /// <summary>systemd-integritysetup's key-file warnings (mode too permissive, not owned by root) as problems of the lines.</summary>
    private static IEnumerable<IntegrityTabProblem> KeyFileProblems(IntegrityTab tab) =>
        tab.Entries.Where(e => e.KeyFile is not null).SelectMany(e => SystemdIntegritysetup.KeyFileWarnings(e.KeyFile!)
            .Select(w => new IntegrityTabProblem(e.LineNumber, ErrorIds.IntegrityTabInvalidKeyFile, IntegrityTabSeverity.Warning, w)));

    private static Command List()
    {
        var file = FileOption();
        var json = CommonOptions.Json();
        var cmd = new Command("list", "List the volumes of an integritytab file with the settings systemd will use.") { file, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            string path = p.GetValue(file)!;
            var tab = IntegrityTab.Load(path);
            var problems = tab.Validate();
            var entries = tab.Entries.Select(TabEntryView.From).ToArray();
            if (asJson)
            {
                CliOutput.WriteJson(new TabListResult { Path = path, Exists = tab.Exists, Entries = entries, Problems = problems.ToArray() });
                return ExitCodes.Success;
            }
            if (entries.Length == 0) Console.WriteLine($"{path}: no volumes{(tab.Exists ? "" : " (the file does not exist)")}.");
            else
            {
                int w = Math.Max(4, entries.Max(e => e.Name.Length));
                int dw = Math.Max(6, entries.Max(e => e.Device.Length));
                Console.WriteLine($"{"NAME".PadRight(w)}  {"DEVICE".PadRight(dw)}  {"ALGORITHM",-12} {"MODE",-8} OPTIONS");
                foreach (var e in entries)
                    Console.WriteLine($"{e.Name.PadRight(w)}  {e.Device.PadRight(dw)}  {e.Algorithm,-12} {IntegrityModes.Name(e.Mode),-8} {(e.Options.Length == 0 ? "-" : string.Join(',', e.Options))}");
            }
            PrintProblems(path, problems);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static Command Check()
    {
        var file = FileOption();
        var json = CommonOptions.Json();
        var systemd = SystemdVersionOption();
        var cmd = new Command("check", "Validate an integritytab file as systemd's generator and the installed systemd-integritysetup would read it; exit 2 on errors.") { file, systemd, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            string path = p.GetValue(file)!;
            var tab = IntegrityTab.Load(path);
            var problems = tab.Validate(SystemdVersion(p, systemd)).Concat(KeyFileProblems(tab)).OrderBy(x => x.LineNumber).ToList();
            bool valid = problems.All(x => x.Severity != IntegrityTabSeverity.Error);
            if (asJson) CliOutput.WriteJson(new TabCheckResult { Path = path, Exists = tab.Exists, Valid = valid, Problems = problems.ToArray() });
            else
            {
                PrintProblems(path, problems);
                Console.WriteLine($"{path}: {(valid ? "valid" : "INVALID")} ({tab.Entries.Count()} volumes, " +
                    $"{problems.Count(x => x.Severity == IntegrityTabSeverity.Error)} errors, {problems.Count(x => x.Severity == IntegrityTabSeverity.Warning)} warnings).");
            }
            return valid ? ExitCodes.Success : ExitCodes.UsageError;
        }));
        return cmd;
    }

    private static Command Add()
    {
        var name = new Argument<string>("name") { Description = "Volume name: systemd attaches it as /dev/mapper/<name>." };
        var device = new Argument<string>("device") { Description = "Device holding superblock, journal and tags: an absolute path, or UUID=, PARTUUID=, LABEL=, PARTLABEL=." };
        var integrity = new Option<string?>("--integrity", "-I") { Description = $"Tag algorithm as at format (systemd accepts {string.Join(", ", IntegrityTabEntry.SystemdAlgorithms)}; xxhash64 from v257, hmac-sha512 and phmac-* from v259). Default: {Core.Hashing.TagAlgorithm.DefaultName}, hmac-sha256 with a key file." };
        var keyFile = new Option<string?>("--integrity-key-file") { Description = "Key file of a keyed algorithm (made absolute; at most 4096 bytes, all of it is the key)." };
        var dataDevice = CommonOptions.DataDevice();
        var discards = new Option<bool>("--allow-discards") { Description = "Pass discards down (kernel 5.7+)." };
        var mode = new Option<string?>("--mode") { Description = "journal (default), bitmap or direct (the mode= option: systemd 254 and later; older versions ignore it)." };
        mode.AcceptOnlyFromAmong(IntegrityModes.IntegrityTab.Select(IntegrityModes.Name).ToArray());
        var watermark = new Option<int?>("--journal-watermark") { Description = "Journal fill percentage that starts a flush (0-100; 0 = kernel default)." };
        var commitTime = new Option<string?>("--journal-commit-time") { Description = "journal-commit-time= verbatim: a systemd time span (note: systemd hands the kernel the whole seconds as milliseconds)." };
        var extra = new Option<string[]>("--option", "-o") { Description = "A further option written verbatim (e.g. noauto, nofail, _netdev); repeatable.", AllowMultipleArgumentsPerToken = false };
        var file = FileOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; write nothing." };
        var json = CommonOptions.Json();
        var cmd = new Command("add", "Add or replace the entry of a volume (idempotent: an equivalent entry is left alone and reported unchanged).")
        {
            name, device, integrity, keyFile, dataDevice, discards, mode, watermark, commitTime, extra, file, dryRun, json,
        };
        var systemd = SystemdVersionOption();
        cmd.Options.Add(systemd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            string path = p.GetValue(file)!;
            var warnings = new List<string>();
            string dev = Absolute(p.GetValue(device)!);
            string? key = p.GetValue(keyFile) is { } k ? Path.GetFullPath(k) : null;
            string? data = p.GetValue(dataDevice) is { } d ? Path.GetFullPath(d) : null;
            string? modeText = p.GetValue(mode);
            var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec
            {
                Name = p.GetValue(name)!, Device = dev, KeyFile = key, Algorithm = p.GetValue(integrity),
                Mode = modeText is null ? null : IntegrityModes.Parse(modeText, IntegrityModes.IntegrityTab),
                AllowDiscards = p.GetValue(discards), DataDevice = data,
                JournalWatermarkPercent = p.GetValue(watermark), JournalCommitTime = p.GetValue(commitTime),
                ExtraOptions = p.GetValue(extra) ?? Array.Empty<string>(),
                SystemdVersion = SystemdVersion(p, systemd),
            });
            CheckKeyFile(key);
            warnings.AddRange(DeviceWarnings(entry));
            if (key is not null) warnings.AddRange(SystemdIntegritysetup.KeyFileWarnings(key));
            var r = IntegrityTab.AddOrReplace(path, entry, p.GetValue(dryRun), SystemdVersion(p, systemd));
            r = WithWarnings(r, warnings);
            if (asJson) CliOutput.WriteJson(r);
            else
            {
                foreach (var w in r.Warnings) Console.Error.WriteLine($"warning: {w}");
                Console.WriteLine(r.Action switch
                {
                    "unchanged" => $"{r.Path}: '{r.Name}' unchanged: {r.Line}",
                    "added" => $"{r.Path}: {(r.DryRun ? "would add" : "added")} {r.Line}",
                    _ => $"{r.Path}: {(r.DryRun ? "would replace" : "replaced")} '{string.Join("', '", r.PreviousLines)}' with {r.Line}",
                });
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "Volume name to remove (every line of it)." };
        var file = FileOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; write nothing." };
        var json = CommonOptions.Json();
        var cmd = new Command("remove", "Remove the entry of a volume (idempotent: nothing to remove is reported unchanged).") { name, file, dryRun, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            var r = IntegrityTab.RemoveEntry(p.GetValue(file)!, p.GetValue(name)!, p.GetValue(dryRun));
            if (asJson) CliOutput.WriteJson(r);
            else if (!r.Changed) Console.WriteLine($"{r.Path}: '{r.Name}' unchanged (no entry).");
            else Console.WriteLine($"{r.Path}: {(r.DryRun ? "would remove" : "removed")} {string.Join("; ", r.PreviousLines)}");
            return ExitCodes.Success;
        }));
        return cmd;
    }

    /// <summary>Relative paths become absolute (systemd needs absolute ones); TAG=value (UUID=, LABEL=, ...) stays as given.</summary>
    private static string Absolute(string device)
    {
        int eq = device.IndexOf('='), slash = device.IndexOf('/');
        bool tagSpec = eq > 0 && (slash < 0 || eq < slash);
        return tagSpec || device.Length == 0 ? device : Path.GetFullPath(device);
    }

    /// <summary>systemd-integritysetup reads at most 4096 bytes and uses the whole file as the key.</summary>
    private static void CheckKeyFile(string? key)
    {
        if (key is null || !File.Exists(key)) return;
        long len = new FileInfo(key).Length;
        if (len == 0 || len > 4096)
            throw new IntegrityVolumeException(ErrorIds.IntegrityTabInvalidKeyFile, ErrorKind.InvalidArgument,
                $"Key file {key} has {len} bytes; systemd-integritysetup needs 1 to 4096 (the whole file is the key).", key);
    }

    /// <summary>Things systemd will trip over at boot that the line itself cannot show.</summary>
    private static IEnumerable<string> DeviceWarnings(IntegrityTabEntry e)
    {
        if (e.KeyFile is not null && !File.Exists(e.KeyFile))
            yield return $"Key file {e.KeyFile} does not exist (yet); systemd-integritysetup will fail to attach '{e.Name}' without it.";
        if (e.Mode != IntegrityMode.Journal)
            yield return $"mode={IntegrityModes.Name(e.Mode)} needs systemd 254 or later; older versions ignore it and attach in journal mode.";
        if (!e.Device.StartsWith('/')) yield break;
        if (!File.Exists(e.Device))
        {
            yield return $"{e.Device} does not exist (yet).";
            yield break;
        }
        if (!IsBlockDevice(new FileInfo(e.Device)))
            yield return $"{e.Device} is a regular file: systemd waits for a .device unit that a file never gets; use a block device (or a loop device) at boot.";
        string? sbProblem = null;
        try { VolumeOperations.ReadSuperblock(new VolumeLocation { Path = e.Device }); }
        catch (Exception ex) when (ErrorClassifier.Classify(ex) is { } error && error.Kind != ErrorKind.OperationStopped) { sbProblem = error.Message; }
        if (sbProblem is not null) yield return $"{e.Device} has no readable dm-integrity superblock ({sbProblem}); format it before boot.";
    }

    private static bool IsBlockDevice(FileInfo fi) => fi.Attributes.HasFlag(FileAttributes.Device) || fi.FullName.StartsWith("/dev/", StringComparison.Ordinal);

    private static IntegrityTabUpdateResult WithWarnings(IntegrityTabUpdateResult r, List<string> warnings) =>
        warnings.Count == 0 ? r : new IntegrityTabUpdateResult
        {
            Path = r.Path, Name = r.Name, Action = r.Action, DryRun = r.DryRun, Line = r.Line, PreviousLines = r.PreviousLines,
            Warnings = r.Warnings.Concat(warnings).ToArray(),
        };

    private static void PrintProblems(string path, IReadOnlyList<IntegrityTabProblem> problems)
    {
        foreach (var x in problems)
            Console.Error.WriteLine($"{(x.Severity == IntegrityTabSeverity.Error ? "error" : "warning")}: {path}:{x.LineNumber}: {x.Message} [{x.ErrorId}]");
    }
}

/// <summary>One integritytab entry as ivol tab list --json shows it.</summary>
internal sealed class TabEntryView
{
    public required int Line { get; init; }
    public required string Name { get; init; }
    public required string Device { get; init; }
    public string? KeyFile { get; init; }
    public required string[] Options { get; init; }
    public required string Algorithm { get; init; }
    public required IntegrityMode Mode { get; init; }
    public bool AllowDiscards { get; init; }
    public string? DataDevice { get; init; }
    public int? JournalWatermarkPercent { get; init; }
    public string? JournalCommitTime { get; init; }
    /// <summary>commit_time the kernel gets from systemd-integritysetup: the span's whole seconds, rounded up, as milliseconds.</summary>
    public ulong? KernelCommitTimeMs { get; init; }
    public required string Text { get; init; }

    public static TabEntryView From(IntegrityTabEntry e) => new()
    {
        Line = e.LineNumber, Name = e.Name, Device = e.Device, KeyFile = e.KeyFile, Options = e.Options.ToArray(),
        Algorithm = e.Algorithm, Mode = e.Mode, AllowDiscards = e.AllowDiscards, DataDevice = e.DataDevice,
        JournalWatermarkPercent = e.JournalWatermarkPercent, JournalCommitTime = e.JournalCommitTime, KernelCommitTimeMs = e.KernelCommitTimeMs, Text = e.ToLine(),
    };
}

internal sealed class TabListResult
{
    public required string Path { get; init; }
    public required bool Exists { get; init; }
    public required TabEntryView[] Entries { get; init; }
    public required IntegrityTabProblem[] Problems { get; init; }
}

internal sealed class TabCheckResult
{
    public required string Path { get; init; }
    public required bool Exists { get; init; }
    public required bool Valid { get; init; }
    public required IntegrityTabProblem[] Problems { get; init; }
}
