using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Benchmark;

/// <summary>
/// The focused probes of `ivol bench --probe NAME`, each a question the full benchmark does not answer on its own:
/// <list type="bullet">
/// <item><c>cli</c>: is the shipped CLI (a child `ivol verify`, start-up and exit included) within 10% of the
/// in-process engine call on the same cached volume? Alternating pairs at each size (2 GiB and up).</item>
/// <item><c>pool</c>: what does pooling the verify buffers (Microsoft.Extensions.ObjectPool) save per volume when many
/// small volumes are verified one after another (<c>Get-ChildItem *.img | Test-IntegrityVolume</c>)? Alternating
/// rounds with the pool on and off (VerifyBuffers.PoolEnabled).</item>
/// </list>
/// Both print a Markdown table; the images live in a private subdirectory of the given directory (tmpfs, e.g.
/// /dev/shm, keeps the disk out of it), removed afterwards.
/// </summary>
public static class FocusedProbes
{
    public const string CliDefaultSizes = "2G,4G";
    public const string PoolDefaultSize = "4M";
    public const int PoolDefaultVolumes = 64;

    public sealed record Settings
    {
        public required IReadOnlyList<long> Sizes { get; init; }
        public required IReadOnlyList<string> Algorithms { get; init; }
        public required IReadOnlyList<int> SectorSizes { get; init; }
        public required string Directory { get; init; }
        /// <summary>Alternating pairs (cli) or rounds per mode (pool).</summary>
        public int Repeats { get; init; }
        /// <summary>Small volumes verified in turn per round (pool).</summary>
        public int Volumes { get; init; } = PoolDefaultVolumes;
        /// <summary>How to start the CLI (cli).</summary>
        public IReadOnlyList<string>? CliCommand { get; init; }
        public ulong Seed { get; init; } = 0x1D1A_5EED;
    }

    /// <summary>The in-process engine against the CLI as a child process, cached, all cores, median of alternating pairs.</summary>
    public static string CliVsEngine(Settings s, Action<string> log, CancellationToken ct)
    {
        var cli = s.CliCommand ?? throw new ArgumentException("The cli probe needs the ivol to time (--cli).");
        int threads = Environment.ProcessorCount;
        var sb = Header(s.Directory, $"CLI end to end (`{string.Join(' ', cli)} verify`, a child process) against the in-process engine call " +
            $"(VolumeOperations.Verify), cached, {threads} threads, medians of {s.Repeats} alternating pairs after one warm-up each; " +
            "wall time, and CPU time (user + system, getrusage: this process for the engine, the child for the CLI), which other processes on a busy machine disturb less.",
            "| alg / block / size | engine (s) | CLI (s) | CLI − engine (ms) | CLI vs engine | within 10% | CPU engine / CLI (s) | CPU CLI vs engine | samples engine / CLI (s) |",
            "|---|---|---|---|---|---|---|---|---|");
        Work(s.Directory, (work, key, keyPath) =>
        {
            foreach (long size in s.Sizes.OrderBy(x => x))
                foreach (string alg in s.Algorithms)
                    foreach (int ss in s.SectorSizes)
                    {
                        ct.ThrowIfCancellationRequested();
                        var algorithm = TagAlgorithm.Parse(alg);
                        var spec = new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = algorithm.IsKeyed ? key : null };
                        string name = $"{alg} {ss} {BenchmarkTable.Size(size)}";
                        var loc = Fill(work, size, ss, spec, s.Seed, log, name, ct);
                        try
                        {
                            var args = new List<string> { "verify", loc.Path, "--integrity", alg, "--threads", threads.ToString(CultureInfo.InvariantCulture) };
                            if (algorithm.IsKeyed) args.AddRange(new[] { "--integrity-key-file", keyPath });
                            var engine = new List<double>();
                            var child = new List<double>();
                            var engineCpu = new List<double>();
                            var childCpu = new List<double>();
                            for (int i = -1; i < s.Repeats; i++)   // i = -1: the warm-up pair, not kept
                            {
                                ct.ThrowIfCancellationRequested();
                                double cpu0 = BenchNative.CpuSeconds(BenchNative.RUSAGE_SELF);
                                var sw = Stopwatch.StartNew();
                                var r = VolumeOperations.Verify(new VerifyRequest { Volume = loc, Integrity = spec, Threads = threads }, null, ct);
                                double e = sw.Elapsed.TotalSeconds;
                                double ec = BenchNative.CpuSeconds(BenchNative.RUSAGE_SELF) - cpu0;
                                if (!r.Healthy || r.ValidBlocks != r.BlocksChecked) throw new InvalidOperationException($"{name}: the volume did not verify clean in process.");
                                double child0 = BenchNative.CpuSeconds(BenchNative.RUSAGE_CHILDREN);
                                var run = ChildProcessMeter.Execute(cli, args, pollRss: false);
                                double childSeconds = BenchNative.CpuSeconds(BenchNative.RUSAGE_CHILDREN) - child0;
                                if (run.ExitCode != 0) throw new InvalidOperationException($"`{string.Join(' ', cli)} {string.Join(' ', args)}` exited {run.ExitCode}: {run.StdErr.Trim()}");
                                if (i < 0) continue;
                                engine.Add(e);
                                child.Add(run.WallSeconds);
                                engineCpu.Add(ec);
                                childCpu.Add(childSeconds);
                            }
                            double me = BenchmarkAnalysis.Median(engine), mc = BenchmarkAnalysis.Median(child);
                            double ce = BenchmarkAnalysis.Median(engineCpu), cc = BenchmarkAnalysis.Median(childCpu);
                            double ratio = mc / me - 1, cpuRatio = cc / ce - 1;
                            log($"{name}: engine {me:0.000} s, CLI {mc:0.000} s ({ratio:+0.0%;-0.0%}); CPU {ce:0.000} vs {cc:0.000} s ({cpuRatio:+0.0%;-0.0%})");
                            sb.AppendLine(Inv($"| {name} | {me:0.000} | {mc:0.000} | {(mc - me) * 1000:0} | {ratio:+0.0%;-0.0%} | {(ratio <= 0.10 ? "yes" : "no")} | {ce:0.000} / {cc:0.000} | {cpuRatio:+0.0%;-0.0%} | ") +
                                Inv($"{string.Join(' ', engine.Select(x => x.ToString("0.000", CultureInfo.InvariantCulture)))} / {string.Join(' ', child.Select(x => x.ToString("0.000", CultureInfo.InvariantCulture)))} |"));
                        }
                        finally { File.Delete(loc.Path); }
                    }
        });
        return sb.ToString();
    }

    /// <summary>
    /// Many small volumes verified one after another, per-volume wall time and allocation with the verify buffers pooled
    /// and built per worker, in alternating rounds (the first round of each mode is a warm-up, not kept).
    /// </summary>
    public static string Pool(Settings s, Action<string> log, CancellationToken ct)
    {
        long size = s.Sizes[0];
        int threads = Environment.ProcessorCount;
        var sb = Header(s.Directory, $"{s.Volumes} volumes of {BenchmarkTable.Size(size)} verified one after another (cached, {threads} threads each), " +
            $"{s.Repeats} alternating rounds per mode after a warm-up round of each; per volume: wall time and bytes allocated by the process.",
            "| alg / block | pooled median (ms) | unpooled median (ms) | pooled best | unpooled best | saved per volume (median) | allocated pooled / unpooled |",
            "|---|---|---|---|---|---|---|");
        bool saved = VerifyBuffers.PoolEnabled;
        try
        {
            Work(s.Directory, (work, key, _) =>
            {
                foreach (string alg in s.Algorithms)
                    foreach (int ss in s.SectorSizes)
                    {
                        ct.ThrowIfCancellationRequested();
                        var algorithm = TagAlgorithm.Parse(alg);
                        var spec = new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = algorithm.IsKeyed ? key : null };
                        string name = $"{alg} {ss}";
                        var first = Fill(work, size, ss, spec, s.Seed, log, $"{name} {BenchmarkTable.Size(size)}", ct);
                        var volumes = new List<VolumeLocation> { first };
                        for (int i = 1; i < s.Volumes; i++)
                        {
                            string copy = Path.Combine(work, $"small-{i}.img");
                            File.Copy(first.Path, copy, overwrite: true);
                            volumes.Add(new VolumeLocation { Path = copy });
                        }
                        try
                        {
                            var perVolume = new Dictionary<bool, List<double>> { [true] = new(), [false] = new() };
                            var allocated = new Dictionary<bool, List<double>> { [true] = new(), [false] = new() };
                            for (int round = -1; round < s.Repeats; round++)
                                foreach (bool pooled in round % 2 == 0 ? new[] { true, false } : new[] { false, true })
                                {
                                    ct.ThrowIfCancellationRequested();
                                    VerifyBuffers.PoolEnabled = pooled;
                                    GC.Collect();
                                    GC.WaitForPendingFinalizers();
                                    long before = GC.GetTotalAllocatedBytes(precise: true);
                                    var sw = Stopwatch.StartNew();
                                    foreach (var v in volumes)
                                    {
                                        var r = VolumeOperations.Verify(new VerifyRequest { Volume = v, Integrity = spec, Threads = threads }, null, ct);
                                        if (!r.Healthy) throw new InvalidOperationException($"{v.Path}: the volume did not verify clean.");
                                    }
                                    double ms = sw.Elapsed.TotalMilliseconds / volumes.Count;
                                    long bytes = (GC.GetTotalAllocatedBytes(precise: true) - before) / volumes.Count;
                                    if (round < 0) continue;
                                    perVolume[pooled].Add(ms);
                                    allocated[pooled].Add(bytes);
                                }
                            double pm = BenchmarkAnalysis.Median(perVolume[true]), um = BenchmarkAnalysis.Median(perVolume[false]);
                            double pa = BenchmarkAnalysis.Median(allocated[true]), ua = BenchmarkAnalysis.Median(allocated[false]);
                            log($"{name}: per volume pooled {pm:0.00} ms, unpooled {um:0.00} ms; allocated {BenchmarkTable.Size(pa)} vs {BenchmarkTable.Size(ua)}");
                            sb.AppendLine(Inv($"| {name} | {pm:0.00} | {um:0.00} | {perVolume[true].Min():0.00} | {perVolume[false].Min():0.00} | ") +
                                Inv($"{um - pm:0.00} ms ({(um - pm) / um:0%}) | {BenchmarkTable.Size(pa)} / {BenchmarkTable.Size(ua)} |"));
                        }
                        finally
                        {
                            foreach (var v in volumes) File.Delete(v.Path);
                        }
                    }
            });
        }
        finally { VerifyBuffers.PoolEnabled = saved; }
        return sb.ToString();
    }

    private static StringBuilder Header(string directory, string method, string columns, string rule)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {MachineInfo.Collect(directory)}; load average {LoadAverage()}."));
        sb.AppendLine(method);
        sb.AppendLine();
        sb.AppendLine(columns);
        sb.AppendLine(rule);
        return sb;
    }

    /// <summary>The 1-minute load average when the probe started (other builds on a shared machine show here).</summary>
    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="body"/> in a private subdirectory with an HMAC key file, removed afterwards.</summary>
    private static void Work(string directory, Action<string, IntegrityKey, string> body)
    {
        string work = Path.Combine(Path.GetFullPath(directory), $"ivol-probe-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(work);
        try
        {
            var keyBytes = RandomNumberGenerator.GetBytes(32);
            string keyPath = Path.Combine(work, "hmac.key");
            File.WriteAllBytes(keyPath, keyBytes);
            using var key = new IntegrityKey(keyBytes);
            body(work, key, keyPath);
        }
        finally
        {
            try { System.IO.Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A new volume of <paramref name="size"/> filled with pseudo-random data through the engine, cached.</summary>
    private static VolumeLocation Fill(string work, long size, int sectorSize, IntegrityAlgorithmSpec spec, ulong seed, Action<string> log,
        string name, CancellationToken ct)
    {
        var loc = new VolumeLocation { Path = Path.Combine(work, $"{spec.Algorithm.IntegritysetupName}-{sectorSize}-{BenchmarkTable.Size(size)}.img") };
        if (File.Exists(loc.Path)) File.Delete(loc.Path);
        var sw = Stopwatch.StartNew();
        var f = VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = size, Integrity = spec, SectorSize = sectorSize }, null, ct);
        string input = Path.Combine(work, "input.bin");
        PseudoRandomData.WriteFile(input, (long)f.Volume.ProvidedBytes, seed ^ (ulong)size, ct);
        try { VolumeOperations.Write(new WriteRequest { Volume = loc, Integrity = spec, InputPath = input }, null, ct); }
        finally { File.Delete(input); }
        log($"{name}: formatted and filled in {sw.Elapsed.TotalSeconds:0.0} s");
        return loc;
    }
}
