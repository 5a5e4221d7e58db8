using System.CommandLine;
using System.Text.Json;
using IntegrityVolume.Core;
using IntegrityVolume.Benchmark;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol bench: the reproducible benchmark. Verify (cold and cached, per thread count) next to the plain sequential read
/// and the raw hash rate, format next to a full-device write, peak RSS of `ivol verify`, CLI vs Core, time vs size.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var sizes = new Option<string?>("--sizes") { Description = $"Image sizes, comma separated (default {BenchmarkOptions.DefaultSizes}; with --quick {BenchmarkOptions.QuickSizes})." };
        var algorithms = new Option<string>("--algorithms") { Description = "Tag algorithms, comma separated.", DefaultValueFactory = _ => BenchmarkOptions.DefaultAlgorithms };
        var sectorSizes = new Option<string>("--sector-sizes") { Description = "Sector sizes, comma separated.", DefaultValueFactory = _ => BenchmarkOptions.DefaultSectorSizes };
        var threads = new Option<string?>("--threads") { Description = "Verify thread counts, comma separated (default: 1 and one per core)." };
        var dir = new Option<string>("--dir") { Description = "Directory for the images, on the disk to measure (a private subdirectory is created and removed).", DefaultValueFactory = _ => "." };
        var json = new Option<string?>("--json") { Description = "Also write the full results as JSON to this file." };
        var markdown = new Option<string?>("--markdown") { Description = "Also write the tables as Markdown to this file." };
        var quick = new Option<bool>("--quick") { Description = "Small sizes and short hash measurements: runs in seconds (a smoke test, not a measurement)." };
        var noDrop = new Option<bool>("--no-drop-caches") { Description = "Cold runs: only posix_fadvise DONTNEED on the image, never /proc/sys/vm/drop_caches." };
        var noCli = new Option<bool>("--no-cli") { Description = "Skip the child-process runs (peak RSS, CLI vs Core)." };
        var cli = new Option<string?>("--cli") { Description = "The ivol executable to time as a child process (default: this one), e.g. the NativeAOT build out/aot/ivol." };
        var waitQuiet = new Option<int>("--wait-quiet") { Description = "Before each group of measurements wait up to this many seconds for other processes to leave the CPUs alone (default 0: never wait)." };
        var fromJson = new Option<string?>("--from-json") { Description = "Measure nothing: load an earlier run's --json file, re-evaluate the targets and print the tables." };
        var probe = new Option<string?>("--probe")
        {
            Description = "Run one focused probe instead of the whole benchmark and print its Markdown table: 'cli' (the CLI given by --cli, " +
                $"a child `ivol verify`, against the in-process engine on cached volumes; default sizes {FocusedProbes.CliDefaultSizes}, use --dir /dev/shm) or " +
                $"'pool' ({FocusedProbes.PoolDefaultVolumes} small volumes of {FocusedProbes.PoolDefaultSize} verified in turn, per-volume cost with the verify-buffer pool and without).",
        };
        probe.AcceptOnlyFromAmong("cli", "pool");
        var repeats = new Option<int>("--repeats") { Description = "--probe: alternating pairs (cli, default 7) or rounds per mode (pool, default 12).", DefaultValueFactory = _ => 0 };
        var volumes = new Option<int>("--volumes") { Description = $"--probe pool: volumes verified per round (default {FocusedProbes.PoolDefaultVolumes}).", DefaultValueFactory = _ => FocusedProbes.PoolDefaultVolumes };
        var cmd = new Command("bench", "Benchmark format and verify against the machine's read, write and hash limits; print a table, optionally write JSON.")
        {
            sizes, algorithms, sectorSizes, threads, dir, json, markdown, quick, noDrop, noCli, cli, waitQuiet, fromJson, probe, repeats, volumes,
        };
        cmd.SetAction(p =>
        {
            try
            {
                if (p.GetValue(probe) is { } which)
                {
                    bool isCli = which == "cli";
                    var settings = new FocusedProbes.Settings
                    {
                        Sizes = BenchmarkOptions.ParseSizes(p.GetValue(sizes) ?? (isCli ? FocusedProbes.CliDefaultSizes : FocusedProbes.PoolDefaultSize)),
                        Algorithms = BenchmarkOptions.ParseAlgorithms(p.GetValue(algorithms)!),
                        SectorSizes = BenchmarkOptions.ParseSectorSizes(p.GetValue(sectorSizes)!),
                        Directory = p.GetValue(dir)!,
                        Repeats = p.GetValue(repeats) is > 0 and var r ? r : isCli ? 7 : 12,
                        Volumes = Math.Max(1, p.GetValue(volumes)),
                        CliCommand = p.GetValue(cli) is { } exe ? new[] { Path.GetFullPath(exe) } : IvolCommand(),
                    };
                    string table = isCli ? FocusedProbes.CliVsEngine(settings, Console.Error.WriteLine, Program.Cancellation)
                        : FocusedProbes.Pool(settings, Console.Error.WriteLine, Program.Cancellation);
                    Console.Out.Write(table);
                    if (p.GetValue(markdown) is { } probeMd)
                    {
                        File.WriteAllText(probeMd, table);
                        Console.Error.WriteLine($"ivol: table written to {probeMd}");
                    }
                    return ExitCodes.Success;
                }
                BenchmarkReport report;
                if (p.GetValue(fromJson) is { } saved)
                {
                    report = BenchmarkReport.FromJson(File.ReadAllText(saved));
                    report.Linearity = BenchmarkAnalysis.ComputeLinearity(report);
                    report.Targets = BenchmarkAnalysis.EvaluateTargets(report);
                }
                else
                {
                    bool isQuick = p.GetValue(quick);
                    var options = new BenchmarkOptions
                    {
                        Sizes = BenchmarkOptions.ParseSizes(p.GetValue(sizes) ?? (isQuick ? BenchmarkOptions.QuickSizes : BenchmarkOptions.DefaultSizes)),
                        Algorithms = BenchmarkOptions.ParseAlgorithms(p.GetValue(algorithms)!),
                        SectorSizes = BenchmarkOptions.ParseSectorSizes(p.GetValue(sectorSizes)!),
                        Threads = p.GetValue(threads) is { } t ? BenchmarkOptions.ParseThreads(t) : BenchmarkOptions.DefaultThreads(),
                        Directory = p.GetValue(dir)!,
                        Quick = isQuick,
                        HashSeconds = isQuick ? 0.1 : 1.0,
                        SystemDropCaches = !p.GetValue(noDrop),
                        CliCommand = p.GetValue(noCli) ? null : p.GetValue(cli) is { } exe ? new[] { Path.GetFullPath(exe) } : IvolCommand(),
                        QuietTimeout = TimeSpan.FromSeconds(Math.Max(0, p.GetValue(waitQuiet))),
                        CommandLine = "ivol " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                    };
                    report = new BenchmarkRunner(options, Console.Error.WriteLine).Run(Program.Cancellation);
                }
                Console.Out.Write(BenchmarkTable.Format(report));
                if (p.GetValue(json) is { } path)
                {
                    File.WriteAllText(path, report.ToJson());
                    Console.Error.WriteLine($"ivol: results written to {path}");
                }
                if (p.GetValue(markdown) is { } md)
                {
                    File.WriteAllText(md, BenchmarkTable.Format(report, markdown: true));
                    Console.Error.WriteLine($"ivol: tables written to {md}");
                }
                return ExitCodes.Success;
            }
            catch (JsonException ex)
            {
                Console.Error.WriteLine($"ivol: {p.GetValue(fromJson)} is not a benchmark JSON file: {ex.Message}");
                return ExitCodes.UsageError;
            }
            catch (Exception ex) when (ErrorClassifier.Classify(ex) is { } error)
            {
                return CliOutput.Fail(error, json: false);
            }
        });
        return cmd;
    }

    /// <summary>How to start this same ivol as a child: the apphost next to ivol.dll, else `dotnet ivol.dll`.</summary>
    internal static IReadOnlyList<string> IvolCommand()
    {
        string dir = AppContext.BaseDirectory;
        string host = Path.Combine(dir, OperatingSystem.IsWindows() ? "ivol.exe" : "ivol");
        if (File.Exists(host)) return new[] { host };
        return new[] { "dotnet", Path.Combine(dir, "ivol.dll") };
    }
}
