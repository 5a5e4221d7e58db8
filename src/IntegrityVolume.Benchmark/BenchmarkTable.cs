using System.Globalization;
using System.Text;

namespace IntegrityVolume.Benchmark;

/// <summary>The human-readable report: one table per question, then the targets.</summary>
public static class BenchmarkTable
{
    public static string Size(double bytes)
    {
        string[] units = { "B", "K", "M", "G", "T" };
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return bytes.ToString(bytes == Math.Floor(bytes) ? "0" : "0.##", CultureInfo.InvariantCulture) + units[u];
    }

    private static string F(double v, string fmt = "0") =>
        double.IsNaN(v) || double.IsInfinity(v) ? "-" : v.ToString(fmt, CultureInfo.InvariantCulture);
    private static string P(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "-" : (v * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>Plain-text table: first column left-aligned, the rest right-aligned.</summary>
    public static string Render(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, bool markdown = false)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        int cols = header.Count;
        var width = new int[cols];
        foreach (var r in all)
            for (int c = 0; c < cols && c < r.Count; c++) width[c] = Math.Max(width[c], r[c].Length);
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> r)
        {
            if (markdown) sb.Append("| ");
            for (int c = 0; c < cols; c++)
            {
                string cell = c < r.Count ? r[c] : "";
                sb.Append(c == 0 ? cell.PadRight(width[c]) : cell.PadLeft(width[c]));
                sb.Append(markdown ? " | " : "  ");
            }
            sb.Length -= markdown ? 1 : 2;
            sb.Append('\n');
        }
        Line(header);
        if (markdown) sb.Append("|" + string.Join("|", width.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|\n");
        else sb.Append(string.Join("  ", width.Select(w => new string('-', w)))).Append('\n');
        foreach (var r in all.Skip(1)) Line(r);
        return sb.ToString();
    }

    public static string Format(BenchmarkReport r, bool markdown = false)
    {
        var sb = new StringBuilder();
        int all = r.Settings.Threads.Count == 0 ? 1 : r.Settings.Threads.Max();
        int cores = BenchmarkAnalysis.EffectiveCores(all, r.Machine.LogicalCpus);
        var threads = r.Settings.Threads.Count == 0 ? new List<int> { 1 } : r.Settings.Threads;
        string h(string title) => markdown ? $"\n### {title}\n\n" : $"\n== {title}\n";

        sb.Append(markdown ? "" : $"Machine: {r.Machine}\n");
        if (r.CommandLine is not null && !markdown) sb.Append($"Command: {r.CommandLine}\n");

        sb.Append(h("Verify throughput (MiB/s of data; read = plain 1 MiB sequential read of the image, 1 thread; others = the most cores other processes used during any timed run of that volume)"));
        var vh = new List<string> { "volume", "cold read" };
        vh.AddRange(threads.Select(t => $"cold t{t}"));
        vh.Add($"cold/read");
        vh.Add("cached read");
        vh.AddRange(threads.Select(t => $"cached t{t}"));
        vh.Add("hash 1core");
        vh.Add($"bound t{all}");
        vh.Add($"cached/bound");
        vh.Add("others");
        sb.Append(Render(vh, r.Volumes.Select(v =>
        {
            var row = new List<string> { $"{v.Algorithm} {v.SectorSize} {Size(v.ImageBytes)}", F(v.ColdRead.MiBps) };
            row.AddRange(threads.Select(t => F(v.Find("cold", t)?.MiBps ?? double.NaN)));
            row.Add(P((v.Find("cold", all)?.MiBps ?? double.NaN) / v.ColdRead.MiBps));
            row.Add(F(v.CachedRead.MiBps));
            row.AddRange(threads.Select(t => F(v.Find("cached", t)?.MiBps ?? double.NaN)));
            row.Add(F(v.HashMiBps1Core));
            double bound = BenchmarkAnalysis.CombinedBound(cores, v.CachedRead.MiBps, v.HashMiBps1Core);
            row.Add(F(bound));
            row.Add(P((v.Find("cached", all)?.MiBps ?? double.NaN) / bound));
            row.Add(F(v.MaxOtherCoresWhileMeasuring(), "0.00"));
            return (IReadOnlyList<string>)row;
        }), markdown));

        sb.Append(h($"Format (tags-only, new sparse image) vs writing the whole device (zeros + fsync) and integritysetup at {BenchmarkAnalysis.IntegritysetupReferenceMiBps} MiB/s"));
        sb.Append(Render(new[] { "volume", "format s", "wipe s", "format/wipe", "integritysetup s", "zero-hash 1core at format", $"format MiB/s", $"/ {r.Machine.LogicalCpus}-core hash", "fill (write) MiB/s" },
            r.Volumes.Select(v =>
            {
                var wipe = r.ZeroWrites.FirstOrDefault(z => z.Bytes == v.ImageBytes);
                double limit = r.Machine.LogicalCpus * v.FormatZeroHashMiBps1Core;
                return (IReadOnlyList<string>)new[]
                {
                    $"{v.Algorithm} {v.SectorSize} {Size(v.ImageBytes)}", F(v.FormatSeconds, "0.000"), F(wipe?.Seconds ?? double.NaN, "0.00"),
                    P(v.FormatSeconds / (wipe?.Seconds ?? double.NaN)), F(v.ImageBytes / (double)(1 << 20) / BenchmarkAnalysis.IntegritysetupReferenceMiBps, "0.0"),
                    F(v.FormatZeroHashMiBps1Core), F(v.FormatDataMiBps), P(v.FormatDataMiBps / limit), F(v.WriteMiBps),
                };
            }), markdown));

        sb.Append(h("Raw tag hash rate, one core (TagComputer.ComputeConsecutive over a 1 MiB buffer, as the verifier), and alternatives"));
        var hashRows = r.Volumes.GroupBy(v => (v.Algorithm, v.SectorSize)).Select(g => (IReadOnlyList<string>)new[]
        {
            $"{g.Key.Algorithm} {g.Key.SectorSize}", "TagComputer (engine), random", F(BenchmarkAnalysis.Median(g.Select(v => v.HashMiBps1Core).ToList())), "",
        }).Concat(r.Volumes.GroupBy(v => (v.Algorithm, v.SectorSize)).Select(g => (IReadOnlyList<string>)new[]
        {
            $"{g.Key.Algorithm} {g.Key.SectorSize}", "TagComputer (engine), zero blocks", F(BenchmarkAnalysis.Median(g.Select(v => v.ZeroHashMiBps1Core).ToList())), "",
        })).Concat(r.HashVariants.Select(x => (IReadOnlyList<string>)new[]
        {
            $"{x.Algorithm} {x.BlockSize}", x.Variant + (x.EqualsEngine ? "" : " (TAGS DIFFER)"), F(x.MiBps), x.EngineMiBps > 0 ? $"x{F(x.MiBps / x.EngineMiBps, "0.00")}" : "",
        })).OrderBy(row => row[0], StringComparer.Ordinal);
        sb.Append(Render(new[] { "algorithm bs", "implementation", "MiB/s", "vs engine" }, hashRows, markdown));

        var clis = r.Volumes.Where(v => v.Cli is not null).ToList();
        if (clis.Count > 0)
        {
            sb.Append(h("ivol verify as a child process (cached): peak RSS, and CLI end to end vs the in-process Core call"));
            sb.Append(Render(new[] { "volume", "threads", "peak RSS MiB", "CLI s", "Core s", "CLI overhead" }, clis.Select(v => (IReadOnlyList<string>)new[]
            {
                $"{v.Algorithm} {v.SectorSize} {Size(v.ImageBytes)}", v.Cli!.Threads.ToString(CultureInfo.InvariantCulture), F(v.Cli.PeakRssMiB, "0.0"),
                v.Cli.Repeats > 0 ? F(v.Cli.CliSeconds, "0.000") : "-", v.Cli.Repeats > 0 ? F(v.Cli.CoreSeconds, "0.000") : "-",
                v.Cli.Repeats > 0 ? P(v.Cli.Overhead) : "-",
            }), markdown));
            if (r.CliHelpSeconds > 0)
                sb.Append($"\nFixed cost of the CLI: `ivol --help` {F(r.CliHelpSeconds, "0.000")} s, `ivol verify` of a 4 MiB volume {F(r.CliTinyVerifySeconds, "0.000")} s (medians of 3).\n");
        }

        if (r.Linearity.Count > 0)
        {
            sb.Append(h("Time vs size (seconds per GiB of data at each size, smallest first)"));
            sb.Append(Render(new[] { "measure", "volume", "sizes", "s/GiB", "max deviation" }, r.Linearity.Select(l => (IReadOnlyList<string>)new[]
            {
                l.Measure, $"{l.Algorithm} {l.SectorSize}", string.Join("/", l.SizesBytes.Select(s => Size(s))),
                string.Join(" / ", l.SecondsPerGiB.Select(x => F(x, "0.000"))), P(l.MaxDeviation),
            }), markdown));
        }

        var profiled = r.Volumes.Where(v => v.Profiles.Count > 0).ToList();
        if (profiled.Count > 0)
        {
            sb.Append(h("Profile: one thread, the verifier's access pattern, stopwatch per step (seconds)"));
            sb.Append(Render(new[] { "volume", "cache", "read tags", "read data", "hash+compare", "total", "MiB/s", "hash share" },
                profiled.SelectMany(v => v.Profiles.Select(p => (IReadOnlyList<string>)new[]
                {
                    $"{v.Algorithm} {v.SectorSize} {Size(v.ImageBytes)}", p.Cache, F(p.ReadTagsSeconds, "0.000"), F(p.ReadDataSeconds, "0.000"),
                    F(p.HashSeconds, "0.000"), F(p.TotalSeconds, "0.000"), F(p.DataMiBps), P(p.HashSeconds / p.TotalSeconds),
                })), markdown));
        }

        if (r.Targets.Count > 0)
        {
            sb.Append(h("Targets"));
            sb.Append(Render(new[] { "target", "subject", "measured", "reference", "ratio", "threshold", "result", "note" }, r.Targets.Select(t => (IReadOnlyList<string>)new[]
            {
                t.Target, t.Subject, F(t.Measured, "0.###"), F(t.Reference, "0.###"), F(t.Ratio, "0.###"), t.Threshold,
                t.Met is null ? "n/a" : t.Met.Value ? "MET" : "MISSED", t.Note,
            }), markdown));
            int met = r.Targets.Count(t => t.Met == true), missed = r.Targets.Count(t => t.Met == false);
            sb.Append($"\n{met} met, {missed} missed, {r.Targets.Count - met - missed} not applicable.\n");
        }
        foreach (var n in r.Notes) sb.Append($"note: {n}\n");
        return sb.ToString();
    }
}
