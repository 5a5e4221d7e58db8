using System.Globalization;

namespace IntegrityVolume.Benchmark;

/// <summary>Bounds, linearity and the issue's targets, computed from measurements (pure functions, no I/O).</summary>
public static class BenchmarkAnalysis
{
    /// <summary>The seed article's integritysetup format rate (full-device wipe through dm-integrity).</summary>
    public const double IntegritysetupReferenceMiBps = 16.9;

    public const double ColdVerifyVsReadTarget = 0.90;
    public const double CachedVsBoundTarget4096 = 0.85;
    public const double CachedVsBoundTargetSmall = 0.70;
    public const double FormatCrcVsWipeTarget = 0.02;
    public const double FormatVsHashLimitTarget = 0.90;
    public const double PeakRssTargetMiB = 64;
    public const double LinearityTarget = 0.10;
    public const double CliOverheadTarget = 0.05;

    /// <summary>
    /// Best throughput of <paramref name="cores"/> workers that each read then hash their own chunks:
    /// cores / (1/read_rate_1core + 1/hash_rate_1core). Any unit, as long as both rates use it.
    /// </summary>
    public static double CombinedBound(int cores, double readRate1Core, double hashRate1Core) =>
        readRate1Core <= 0 || hashRate1Core <= 0 ? 0 : cores / (1 / readRate1Core + 1 / hashRate1Core);

    /// <summary>Verify workers actually running in parallel: the thread count, at most the CPUs.</summary>
    public static int EffectiveCores(int threads, int cpus) => Math.Max(1, Math.Min(threads, cpus));

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var s = values.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>
    /// Seconds per GiB at each point, and how far time is from growing linearly: the least-squares line
    /// t = fixed + size·perGiB through the points (fixed costs such as start-up and journal inspection are
    /// allowed, a negative fixed cost is not), and the largest relative distance of a point from it.
    /// </summary>
    public static (double[] SecondsPerGiB, double MaxDeviation) Linearity(IReadOnlyList<(long Bytes, double Seconds)> points)
    {
        var sorted = points.OrderBy(p => p.Bytes).ToArray();
        var perGiB = sorted.Select(p => p.Seconds / (p.Bytes / (double)(1L << 30))).ToArray();
        if (perGiB.Length < 2 || sorted.Any(p => p.Seconds <= 0)) return (perGiB, 0);
        double[] x = sorted.Select(p => p.Bytes / (double)(1L << 30)).ToArray(), y = sorted.Select(p => p.Seconds).ToArray();
        double mx = x.Average(), my = y.Average();
        double slope = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / x.Sum(a => (a - mx) * (a - mx));
        double fixedCost = my - slope * mx;
        if (fixedCost < 0) { fixedCost = 0; slope = x.Zip(y, (a, b) => a * b).Sum() / x.Sum(a => a * a); } // through the origin
        double max = x.Zip(y, (a, b) => Math.Abs(b - (fixedCost + slope * a)) / b).Max();
        return (perGiB, max);
    }

    public static List<LinearityResult> ComputeLinearity(BenchmarkReport r)
    {
        var list = new List<LinearityResult>();
        int all = r.Settings.Threads.Count == 0 ? 1 : r.Settings.Threads.Max();
        foreach (var grp in r.Volumes.GroupBy(v => (v.Algorithm, v.SectorSize)))
        {
            var vols = grp.OrderBy(v => v.ImageBytes).ToList();
            if (vols.Count < 2) continue;
            void Add(string measure, Func<VolumeResult, double?> seconds)
            {
                var pts = vols.Select(v => (v.DataBytes, seconds(v))).Where(p => p.Item2 is > 0).Select(p => (p.DataBytes, p.Item2!.Value)).ToList();
                if (pts.Count < 2) return;
                var (perGiB, dev) = Linearity(pts);
                list.Add(new LinearityResult
                {
                    Algorithm = grp.Key.Algorithm, SectorSize = grp.Key.SectorSize, Measure = measure,
                    SizesBytes = vols.Select(v => v.ImageBytes).ToList(), SecondsPerGiB = perGiB.Select(x => Math.Round(x, 4)).ToList(),
                    MaxDeviation = Math.Round(dev, 4),
                });
            }
            Add("verify-cached", v => v.Find("cached", all)?.Seconds);
            Add("verify-cold", v => v.Find("cold", all)?.Seconds);
            Add("format", v => v.FormatSeconds);
        }
        return list;
    }

    public static double CachedThreshold(int sectorSize) => sectorSize >= 4096 ? CachedVsBoundTarget4096 : CachedVsBoundTargetSmall;

    /// <summary>Algorithms the cached-bound target names; others are reported for information.</summary>
    private static bool InCachedTarget(string algorithm) => algorithm is "crc32c" or "sha256";

    private static string ZeroHashAroundNote(VolumeResult v)
    {
        var (before, after) = v.FormatZeroHashBracket(v.FormatBestRun);
        return string.Create(CultureInfo.InvariantCulture, $"{before:0} / {after:0} MiB/s/core just before / after it");
    }

    private static string Subject(VolumeResult v) => $"{v.Algorithm} {v.SectorSize} {BenchmarkTable.Size(v.ImageBytes)}";

    public static List<TargetResult> EvaluateTargets(BenchmarkReport r)
    {
        var t = new List<TargetResult>();
        int cpus = Math.Max(1, r.Machine.LogicalCpus);
        int all = r.Settings.Threads.Count == 0 ? 1 : r.Settings.Threads.Max();
        int cores = EffectiveCores(all, cpus);
        int formatCores = cpus; // format runs one worker per core

        foreach (var v in r.Volumes)
        {
            // 1. Cold verify vs cold sequential read, where hashing is not the bottleneck.
            if (v.Find("cold", all) is { } cold && v.ColdRead.MiBps > 0)
            {
                double capacity = cores * v.HashMiBps1Core;
                double limit = Math.Min(v.ColdRead.MiBps, capacity);
                bool hashBound = capacity < v.ColdRead.MiBps;
                t.Add(new TargetResult
                {
                    Target = "cold-verify-vs-read", Subject = $"{Subject(v)} t{all}", Measured = cold.MiBps, Reference = v.ColdRead.MiBps,
                    Ratio = Math.Round(cold.MiBps / v.ColdRead.MiBps, 3), Threshold = $">= {ColdVerifyVsReadTarget:P0} of cold read",
                    Met = hashBound ? null : cold.MiBps / v.ColdRead.MiBps >= ColdVerifyVsReadTarget,
                    Note = hashBound
                        ? $"hash-bound: {cores} x {v.HashMiBps1Core:0} MiB/s hash < {v.ColdRead.MiBps:0} MiB/s read; verify = {cold.MiBps / limit:P0} of min(read, hash)"
                        : $"hash capacity {capacity:0} MiB/s >= read",
                });
            }
            // 2. Cached verify vs the combined read+hash bound.
            if (v.Find("cached", all) is { } cached && v.CachedRead.MiBps > 0 && v.HashMiBps1Core > 0)
            {
                double bound = CombinedBound(cores, v.CachedRead.MiBps, v.HashMiBps1Core);
                double thr = CachedThreshold(v.SectorSize);
                bool named = InCachedTarget(v.Algorithm);
                t.Add(new TargetResult
                {
                    Target = "cached-verify-vs-bound", Subject = $"{Subject(v)} t{all}", Measured = cached.MiBps, Reference = Math.Round(bound, 1),
                    Ratio = Math.Round(cached.MiBps / bound, 3), Threshold = $">= {thr:P0} of {cores}/(1/read + 1/hash)",
                    Met = named ? cached.MiBps / bound >= thr : null,
                    Note = (named ? "" : "not in the target's list (crc32c, sha256); for information. ") + $"read {v.CachedRead.MiBps:0}, hash {v.HashMiBps1Core:0} MiB/s/core" +
                        (v.CachedReadAllCores.MiBps > 0 ? $"; {all} threads only read {v.CachedReadAllCores.MiBps:0} MiB/s together: verify = {cached.MiBps / v.CachedReadAllCores.MiBps:P0} of that" : ""),
                });
            }
            // 3. Format.
            if (v.FormatSeconds > 0)
            {
                if (v.Algorithm == "crc32c")
                {
                    var wipe = r.ZeroWrites.FirstOrDefault(z => z.Bytes == v.ImageBytes);
                    if (wipe is not null && wipe.Seconds > 0)
                        t.Add(new TargetResult
                        {
                            Target = "format-crc32c-vs-wipe", Subject = Subject(v), Measured = v.FormatSeconds, Reference = wipe.Seconds,
                            Ratio = Math.Round(v.FormatSeconds / wipe.Seconds, 4), Threshold = $"<= {FormatCrcVsWipeTarget:P0} of the full-device write time",
                            Met = v.FormatSeconds / wipe.Seconds <= FormatCrcVsWipeTarget,
                            Note = $"wipe {wipe.MiBps:0} MiB/s; integritysetup at {IntegritysetupReferenceMiBps} MiB/s would take {wipe.IntegritysetupReferenceSeconds:0.#} s",
                        });
                }
                else if (v.FormatZeroHashMiBps1Core > 0)
                {
                    double limit = formatCores * v.FormatZeroHashMiBps1Core;
                    t.Add(new TargetResult
                    {
                        Target = "format-vs-hash-limit", Subject = Subject(v), Measured = v.FormatDataMiBps, Reference = Math.Round(limit, 1),
                        Ratio = Math.Round(v.FormatDataMiBps / limit, 3), Threshold = $">= {FormatVsHashLimitTarget:P0} of {formatCores} x zero-block hash rate",
                        Met = v.FormatDataMiBps / limit >= FormatVsHashLimitTarget,
                        Note = $"format {v.FormatSeconds:0.###} s{(v.FormatRunSeconds.Count > 1 ? $" (run {v.FormatBestRun + 1} of {v.FormatRunSeconds.Count})" : "")} for {BenchmarkTable.Size(v.DataBytes)} of data; zero-block hash " +
                            (v.FormatZeroHashSamples.Count > 0 ? ZeroHashAroundNote(v) : $"{v.ZeroHashMiBps1Core:0} MiB/s/core"),
                    });
                }
            }
            // 4. Peak RSS of ivol verify.
            if (v.Cli is { PeakRssBytes: > 0 } cli)
                t.Add(new TargetResult
                {
                    Target = "peak-rss", Subject = $"{Subject(v)} t{cli.Threads}", Measured = cli.PeakRssMiB, Reference = PeakRssTargetMiB,
                    Ratio = Math.Round(cli.PeakRssMiB / PeakRssTargetMiB, 3), Threshold = $"<= {PeakRssTargetMiB} MiB",
                    Met = cli.PeakRssMiB <= PeakRssTargetMiB, Note = "VmHWM of `ivol verify`",
                });
            // 6. CLI vs Core.
            if (v.Cli is { Repeats: > 0, CoreSeconds: > 0, CliSeconds: > 0 } c)
                t.Add(new TargetResult
                {
                    Target = "cli-vs-core", Subject = $"{Subject(v)} t{c.Threads}", Measured = c.CliSeconds, Reference = c.CoreSeconds,
                    Ratio = c.Overhead, Threshold = $"CLI <= Core + {CliOverheadTarget:P0}", Met = c.Overhead <= CliOverheadTarget,
                    Note = $"medians of {c.Repeats}; difference {(c.CliSeconds - c.CoreSeconds) * 1000:0} ms",
                });
        }
        // 5. Linearity of verify time in size.
        foreach (var l in r.Linearity)
            t.Add(new TargetResult
            {
                Target = "linearity", Subject = $"{l.Measure} {l.Algorithm} {l.SectorSize} t{(l.Measure == "format" ? formatCores : all)}",
                Measured = l.SecondsPerGiB.LastOrDefault(), Reference = l.SecondsPerGiB.FirstOrDefault(), Ratio = l.MaxDeviation,
                Threshold = $"within {LinearityTarget:P0} of a line (fixed + per GiB)",
                Met = l.Measure == "format" ? null : l.MaxDeviation <= LinearityTarget,
                Note = (l.Measure == "format" ? "for information. " : "") + string.Join(" / ", l.SecondsPerGiB.Select(x => x.ToString("0.###"))) + " s/GiB",
            });
        return t;
    }
}
