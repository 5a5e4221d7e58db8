using System.Diagnostics;
using System.Globalization;

namespace IntegrityVolume.Benchmark;

/// <summary>
/// How busy the rest of the machine was while we measured: CPU time of all processes (/proc/stat) minus this process
/// and its waited-for children (/proc/self/stat), as a share of the machine's capacity. A shared machine makes every
/// figure lower; the report shows it next to the numbers.
/// </summary>
public sealed class CpuMonitor
{
    public readonly record struct Snapshot(long Busy, long Total, long Steal, long Self);

    private Snapshot _start = Take();
    public void Restart() => _start = Take();

    /// <summary>Other processes' CPU use since the start, in cores (0 = quiet; 1 = one core fully busy), and steal in cores.</summary>
    public (double OtherCores, double StealCores) Elapsed() => Between(_start, Take(), Environment.ProcessorCount);

    public static (double OtherCores, double StealCores) Between(Snapshot a, Snapshot b, int cpus)
    {
        long total = b.Total - a.Total;
        if (total <= 0) return (0, 0);
        double other = Math.Max(0, (b.Busy - a.Busy) - (b.Self - a.Self)) / (double)total * cpus;
        double steal = (b.Steal - a.Steal) / (double)total * cpus;
        return (Math.Round(other, 3), Math.Round(steal, 3));
    }

    public static Snapshot Take()
    {
        try { return Parse(File.ReadAllText("/proc/stat"), File.ReadAllText("/proc/self/stat")); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return default; }
    }

    /// <summary>From the "cpu" line of /proc/stat and /proc/self/stat (utime, stime, cutime, cstime), all in clock ticks.</summary>
    public static Snapshot Parse(string procStat, string selfStat)
    {
        var cpu = procStat.Split('\n').First(l => l.StartsWith("cpu ", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
        long idle = cpu[3] + (cpu.Length > 4 ? cpu[4] : 0);
        long all = cpu.Take(Math.Min(cpu.Length, 8)).Sum();
        long steal = cpu.Length > 7 ? cpu[7] : 0;
        // Fields after the ")" of the command name: state is field 3; utime..cstime are fields 14..17.
        var rest = selfStat[(selfStat.LastIndexOf(')') + 2)..].Split(' ');
        long self = 0;
        for (int f = 14; f <= 17; f++) self += long.Parse(rest[f - 3], CultureInfo.InvariantCulture);
        return new Snapshot(all - idle - steal, all, steal, self);
    }

    /// <summary>
    /// Wait until other processes use less than <paramref name="maxOtherCores"/> over a <paramref name="window"/>, at
    /// most <paramref name="timeout"/>. Returns the seconds waited and whether the machine became quiet.
    /// </summary>
    public static (double Waited, bool Quiet) WaitForQuiet(double maxOtherCores, TimeSpan window, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var a = Take();
            ct.WaitHandle.WaitOne(window);
            ct.ThrowIfCancellationRequested();
            var (other, _) = Between(a, Take(), Environment.ProcessorCount);
            if (other < maxOtherCores) return (sw.Elapsed.TotalSeconds, true);
            if (sw.Elapsed >= timeout) return (sw.Elapsed.TotalSeconds, false);
        }
    }
}
