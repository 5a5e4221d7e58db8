using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrityVolume.Benchmark;

/// <summary>Everything one `ivol bench` run measured, in the shape written to JSON (camelCase).</summary>
public sealed class BenchmarkReport
{
    public string Tool { get; set; } = "ivol bench";
    public string? CommandLine { get; set; }
    public DateTimeOffset Started { get; set; }
    public double TotalSeconds { get; set; }
    public MachineInfo Machine { get; set; } = new();
    public BenchmarkSettings Settings { get; set; } = new();
    /// <summary>Reference line: the seed article's integritysetup format rate (full-device wipe through the kernel).</summary>
    public double IntegritysetupReferenceMiBps { get; set; } = BenchmarkAnalysis.IntegritysetupReferenceMiBps;
    /// <summary>Median wall time of `ivol --help` (process start, runtime, command-line parsing).</summary>
    public double CliHelpSeconds { get; set; }
    /// <summary>Median wall time of `ivol verify` on a 4 MiB volume: the CLI's fixed cost including a cold JIT of the verify path.</summary>
    public double CliTinyVerifySeconds { get; set; }
    public List<ZeroWriteResult> ZeroWrites { get; set; } = new();
    public List<VolumeResult> Volumes { get; set; } = new();
    public List<HashVariantResult> HashVariants { get; set; } = new();
    public List<LinearityResult> Linearity { get; set; } = new();
    public List<TargetResult> Targets { get; set; } = new();
    public List<string> Notes { get; set; } = new();

    /// <summary>camelCase, indented, NaN/Infinity allowed; source-generated, so the NativeAOT ivol writes it too.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BenchmarkJsonContext.Default.BenchmarkReport);

    public static BenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, BenchmarkJsonContext.Default.BenchmarkReport) ?? throw new JsonException("The file holds null.");
}

/// <summary>Source-generated JSON metadata of the report (no reflection-based serialization needed).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BenchmarkReport))]
internal sealed partial class BenchmarkJsonContext : JsonSerializerContext;

public sealed class BenchmarkSettings
{
    public List<long> SizesBytes { get; set; } = new();
    public List<string> Algorithms { get; set; } = new();
    public List<int> SectorSizes { get; set; } = new();
    public List<int> Threads { get; set; } = new();
    public string Directory { get; set; } = "";
    public bool Quick { get; set; }
    public bool SystemDropCaches { get; set; }
    public double HashSeconds { get; set; }
    public double QuietTimeoutSeconds { get; set; }
    public double QuietMaxOtherCores { get; set; }
    public long CliCompareSizeBytes { get; set; }
    public int CliRepeats { get; set; }
    public string? CliCommand { get; set; }
    public ulong Seed { get; set; }
    public List<long> SkippedSizesBytes { get; set; } = new();
}

public sealed class ZeroWriteResult
{
    public long Bytes { get; set; }
    public double Seconds { get; set; }
    public double MiBps { get; set; }
    /// <summary>Time integritysetup would take at the article's 16.9 MiB/s.</summary>
    public double IntegritysetupReferenceSeconds { get; set; }
}

/// <summary>One volume (algorithm, sector size, image size): build, format, verify, limits, CLI.</summary>
public sealed class VolumeResult
{
    public string Algorithm { get; set; } = "";
    public int SectorSize { get; set; }
    public long ImageBytes { get; set; }
    public long DataBytes { get; set; }
    public int TagSize { get; set; }

    /// <summary>Every format run's seconds; FormatSeconds is the one at FormatBestRun.</summary>
    public List<double> FormatRunSeconds { get; set; } = new();
    /// <summary>The run kept: the fastest, or with a hash limit the nearest to the limit measured around it.</summary>
    public int FormatBestRun { get; set; }
    public double FormatSeconds { get; set; }
    public string FormatTagInitialization { get; set; } = "";
    public double FormatDataMiBps { get; set; }
    /// <summary>Share of 64 evenly spaced data blocks that are non-zero after the fill (1 = real data everywhere).</summary>
    public double NonZeroShare { get; set; }
    public double WriteSeconds { get; set; }
    public double WriteMiBps { get; set; }

    /// <summary>Cold sequential read: the better of one run before and one after the cold verifies (both in ColdReadSamples).</summary>
    public RateResult ColdRead { get; set; } = new();
    public List<double> ColdReadSamples { get; set; } = new();
    public RateResult CachedRead { get; set; } = new();
    /// <summary>Cached read with one thread per core at once (StorageProbe.ParallelRead): the shared memory-bandwidth limit.</summary>
    public RateResult CachedReadAllCores { get; set; } = new();
    public List<VerifyRun> Verify { get; set; } = new();

    /// <summary>TagComputer.Compute on one core over random data at this sector size (MiB/s).</summary>
    public double HashMiBps1Core { get; set; }
    /// <summary>Same over zero blocks (what format hashes).</summary>
    public double ZeroHashMiBps1Core { get; set; }
    /// <summary>
    /// The zero-block rate measured before the first format run and after each one (a run's limit at the moment it
    /// ran: on a VM the cores' speed drifts by 10-20% within seconds); empty for crc32c, whose target is the wipe.
    /// </summary>
    public List<double> FormatZeroHashSamples { get; set; } = new();
    /// <summary>The zero-block rate around the kept format run.</summary>
    public double FormatZeroHashMiBps1Core => FormatZeroHashSamples.Count == 0 ? ZeroHashMiBps1Core : FormatZeroHashAround(FormatBestRun);

    /// <summary>
    /// Sets FormatBestRun, FormatSeconds and FormatDataMiBps: with zero-block hash rates measured around the runs, the
    /// run nearest its own limit (format rate / rate around it); without them, the fastest.
    /// </summary>
    public void KeepBestFormatRun()
    {
        bool hashLimited = FormatZeroHashSamples.Count > 0;
        FormatBestRun = Enumerable.Range(0, FormatRunSeconds.Count)
            .MaxBy(run => 1 / FormatRunSeconds[run] / (hashLimited ? FormatZeroHashAround(run) : 1));
        FormatSeconds = FormatRunSeconds[FormatBestRun];
        FormatDataMiBps = Math.Round(DataBytes / (double)(1 << 20) / FormatSeconds, 1);
    }

    /// <summary>Mean of the zero-block rates measured just before and just after format run <paramref name="run"/>.</summary>
    public double FormatZeroHashAround(int run)
    {
        var (before, after) = FormatZeroHashBracket(run);
        return (before + after) / 2;
    }

    /// <summary>
    /// The zero-block rates measured just before and just after format run <paramref name="run"/> (reports from before
    /// per-run samples: before the first run and after the last).
    /// </summary>
    public (double Before, double After) FormatZeroHashBracket(int run) =>
        FormatZeroHashSamples.Count == FormatRunSeconds.Count + 1 && run >= 0 && run < FormatRunSeconds.Count
            ? (FormatZeroHashSamples[run], FormatZeroHashSamples[run + 1])
            : (FormatZeroHashSamples[0], FormatZeroHashSamples[^1]);
    /// <summary>Other processes' CPU use during the hash-rate measurement, in cores.</summary>
    public double HashOtherCores { get; set; }

    public CliResult? Cli { get; set; }
    public List<VerifyProfile> Profiles { get; set; } = new();
    /// <summary>Other processes' CPU use from format to the last CLI run (waits for quiet included), in cores; and the hypervisor's steal.</summary>
    public double OtherCores { get; set; }
    public double StealCores { get; set; }
    /// <summary>Seconds spent waiting for the machine to become quiet before this volume's measurements.</summary>
    public double QuietWaitSeconds { get; set; }

    public VerifyRun? Find(string cache, int threads) => Verify.FirstOrDefault(v => v.Cache == cache && v.Threads == threads);

    /// <summary>The most other processes used during any of the timed reads, verifies and hash runs of this volume, in cores.</summary>
    public double MaxOtherCoresWhileMeasuring() =>
        Verify.Select(v => v.OtherCores).Append(ColdRead.OtherCores).Append(CachedRead.OtherCores).Append(HashOtherCores).Max();
}

public sealed class RateResult
{
    public long Bytes { get; set; }
    public double Seconds { get; set; }
    public double MiBps { get; set; }
    /// <summary>Share of the file in the page cache just before the run (mincore); -1 unknown.</summary>
    public double ResidentBefore { get; set; }
    /// <summary>Other processes' CPU use during the run, in cores (see CpuMonitor).</summary>
    public double OtherCores { get; set; }
    /// <summary>Runs taken (more than one when other processes disturbed the first).</summary>
    public int Attempts { get; set; } = 1;
}

public sealed class VerifyRun
{
    /// <summary>"cold" (page cache dropped) or "cached" (second of two consecutive runs).</summary>
    public string Cache { get; set; } = "";
    public int Threads { get; set; }
    public double Seconds { get; set; }
    public double EngineSeconds { get; set; }
    /// <summary>Data bytes verified per wall-clock second.</summary>
    public double MiBps { get; set; }
    public double ResidentBefore { get; set; }
    /// <summary>Other processes' CPU use during the run, in cores.</summary>
    public double OtherCores { get; set; }
    /// <summary>Runs taken (more than one when other processes disturbed the first).</summary>
    public int Attempts { get; set; } = 1;
    public bool Healthy { get; set; }
    public ulong ValidBlocks { get; set; }
    public ulong BlocksChecked { get; set; }
}

public sealed class CliResult
{
    public int Threads { get; set; }
    public long PeakRssBytes { get; set; }
    public double PeakRssMiB { get; set; }
    public long ChildrenMaxRssBytes { get; set; }
    public int ExitCode { get; set; }
    /// <summary>Median wall time of `ivol verify` as a child process (start to exit), cached.</summary>
    public double CliSeconds { get; set; }
    /// <summary>Median wall time of VolumeOperations.Verify in this process, cached, same threads.</summary>
    public double CoreSeconds { get; set; }
    public int Repeats { get; set; }
    public List<double> CliSamples { get; set; } = new();
    public List<double> CoreSamples { get; set; } = new();
    /// <summary>CLI time / Core time - 1.</summary>
    public double Overhead => CoreSeconds <= 0 ? double.NaN : Math.Round(CliSeconds / CoreSeconds - 1, 4);
}

public sealed class VerifyProfile
{
    public string Cache { get; set; } = "";
    public long Chunks { get; set; }
    public ulong Blocks { get; set; }
    public ulong ValidBlocks { get; set; }
    public double ReadTagsSeconds { get; set; }
    public double ReadDataSeconds { get; set; }
    public double HashSeconds { get; set; }
    public double TotalSeconds { get; set; }
    public double DataMiBps { get; set; }
}

public sealed class HashVariantResult
{
    public string Algorithm { get; set; } = "";
    public int BlockSize { get; set; }
    public string Data { get; set; } = "";
    public string Variant { get; set; } = "";
    public double MiBps { get; set; }
    /// <summary>The engine's TagComputer on the same data, for the ratio.</summary>
    public double EngineMiBps { get; set; }
    public bool EqualsEngine { get; set; }
}

public sealed class LinearityResult
{
    public string Algorithm { get; set; } = "";
    public int SectorSize { get; set; }
    /// <summary>"verify-cached", "verify-cold" or "format".</summary>
    public string Measure { get; set; } = "";
    public List<long> SizesBytes { get; set; } = new();
    /// <summary>Seconds per GiB of data at each size.</summary>
    public List<double> SecondsPerGiB { get; set; } = new();
    /// <summary>Largest |t/GiB at a size ÷ t/GiB at the smallest size - 1|.</summary>
    public double MaxDeviation { get; set; }
}

public sealed class TargetResult
{
    public string Target { get; set; } = "";
    public string Subject { get; set; } = "";
    public double Measured { get; set; }
    public double Reference { get; set; }
    /// <summary>Measured ÷ reference (or the quantity the threshold is about).</summary>
    public double Ratio { get; set; }
    public string Threshold { get; set; } = "";
    /// <summary>True met, false missed, null not applicable (see Note).</summary>
    public bool? Met { get; set; }
    public string Note { get; set; } = "";
}
