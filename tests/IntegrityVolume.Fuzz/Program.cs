using IntegrityVolume.Core;
using SharpFuzz;

namespace IntegrityVolume.Fuzz;

/// <summary>
/// ivol-fuzz fuzz            - under afl-fuzz (SharpFuzz fork server, the input run in a child process).
/// ivol-fuzz replay PATH...  - run every file (directories recursively) through the same target, no fuzzer needed.
/// ivol-fuzz seed FIXTURES OUT - write the seed corpus from the kernel-made fixtures (see <see cref="Seeds"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "fuzz";
        var timeout = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("IVOL_FUZZ_TIMEOUT") ?? "60"));
        switch (mode)
        {
            case "fuzz":
            {
                // Out of process: the watchdog's FailFast ends only the child running the input, which afl-fuzz records
                // as a crash; in process it would end the fork server and the whole campaign.
                using var target = new Target(timeout);
                Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var ms = new MemoryStream();
                    stream.CopyTo(ms);
                    target.Run(ms.GetBuffer().AsSpan(0, (int)ms.Length));
                });
                return 0;
            }
            case "replay":
                return Replay(args.Skip(1).ToArray(), timeout);
            case "seed" when args.Length == 3:
                return Seeds.Write(args[1], args[2]);
            default:
                Console.Error.WriteLine("usage: ivol-fuzz fuzz | replay PATH... | seed FIXTURES OUTDIR");
                return 2;
        }
    }

    private static int Replay(string[] paths, TimeSpan timeout)
    {
        var files = paths.SelectMany(p => Directory.Exists(p)
                ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.'))
                : new[] { p })
            .Order(StringComparer.Ordinal).ToList();
        string current = "";
        Watchdog.OnViolation = v => Console.WriteLine($"FAIL {current}: {v}");
        int passed = 0, failed = 0;
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        using var target = new Target(timeout);
        foreach (var file in files)
        {
            current = file;
            try
            {
                target.Run(File.ReadAllBytes(file));
                passed++;
                outcomes[target.LastOutcome] = outcomes.GetValueOrDefault(target.LastOutcome) + 1;
            }
            catch (Exception ex)
            {
                failed++;
                Console.WriteLine($"FAIL {file}: {ex}");
            }
        }
        foreach (var (outcome, n) in outcomes) Console.WriteLine($"  {n,6}  {outcome}");
        Console.WriteLine($"replay: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
