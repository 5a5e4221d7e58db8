using System.Globalization;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Benchmark;

/// <summary>What one benchmark run measures, and where.</summary>
public sealed record BenchmarkOptions
{
    public const string DefaultSizes = "1G,4G,8G";
    public const string QuickSizes = "16M,64M";
    public const string DefaultAlgorithms = "crc32c,sha256,hmac-sha256";
    public const string DefaultSectorSizes = "512,4096";

    /// <summary>Image file sizes in bytes (the volume's data is a little smaller: journal and tags).</summary>
    public IReadOnlyList<long> Sizes { get; init; } = ParseSizes(DefaultSizes);
    public IReadOnlyList<string> Algorithms { get; init; } = ParseAlgorithms(DefaultAlgorithms);
    public IReadOnlyList<int> SectorSizes { get; init; } = ParseSectorSizes(DefaultSectorSizes);
    /// <summary>Verify thread counts; the last one is the "all cores" figure the targets use.</summary>
    public IReadOnlyList<int> Threads { get; init; } = DefaultThreads();
    /// <summary>Where the images go (a private subdirectory is created and removed).</summary>
    public string Directory { get; init; } = ".";
    public bool Quick { get; init; }
    /// <summary>Also write /proc/sys/vm/drop_caches (root only) for the cold runs, besides posix_fadvise DONTNEED.</summary>
    public bool SystemDropCaches { get; init; } = true;
    /// <summary>Minimum seconds per raw hash-rate measurement.</summary>
    public double HashSeconds { get; init; } = 1.0;
    /// <summary>How to start ivol (e.g. ["/path/ivol"] or ["dotnet", "/path/ivol.dll"]); null skips the child-process runs.</summary>
    public IReadOnlyList<string>? CliCommand { get; init; }
    /// <summary>Alternating CLI/Core verify runs at the comparison size (medians are compared).</summary>
    public int CliRepeats { get; init; } = 3;
    /// <summary>Image size of the CLI-vs-Core comparison; null = the size closest to 1 GiB.</summary>
    public long? CliCompareSize { get; init; }
    /// <summary>Run the stopwatch profile (read tags / read data / hash per chunk) at the smallest size.</summary>
    public bool Profile { get; init; } = true;
    /// <summary>Seed of the pseudo-random volume content.</summary>
    public ulong Seed { get; init; } = 0x1D1A_5EED;
    /// <summary>Stop before a size whose files would leave less than this free.</summary>
    public long FreeSpaceReserveBytes { get; init; } = 1L << 30;
    public string? CommandLine { get; init; }
    /// <summary>Before each group of measurements wait up to this long for other processes to go quiet (0 = never wait).</summary>
    public TimeSpan QuietTimeout { get; init; } = TimeSpan.Zero;
    /// <summary>"Quiet": other processes use less than this many cores over a 2 s window.</summary>
    public double QuietMaxOtherCores { get; init; } = 0.2;

    public static IReadOnlyList<int> DefaultThreads() =>
        Environment.ProcessorCount > 1 ? new[] { 1, Environment.ProcessorCount } : new[] { 1 };

    /// <summary>The size closest to 1 GiB (ties: the smaller).</summary>
    public long EffectiveCliCompareSize =>
        CliCompareSize ?? Sizes.OrderBy(s => Math.Abs(Math.Log((double)s / (1L << 30)))).ThenBy(s => s).First();

    /// <summary>"1G,4G,8G" / "64M" / "1048576": binary units, as integritysetup and truncate read them.</summary>
    public static IReadOnlyList<long> ParseSizes(string text) =>
        Split(text).Select(ParseSize).Distinct().OrderBy(s => s).ToArray();

    public static long ParseSize(string text)
    {
        string t = text.Trim();
        if (t.EndsWith("iB", StringComparison.OrdinalIgnoreCase)) t = t[..^2];
        else if (t.EndsWith('B') || t.EndsWith('b')) t = t[..^1];
        long mult = 1;
        if (t.Length > 0)
            switch (char.ToUpperInvariant(t[^1]))
            {
                case 'K': mult = 1L << 10; t = t[..^1]; break;
                case 'M': mult = 1L << 20; t = t[..^1]; break;
                case 'G': mult = 1L << 30; t = t[..^1]; break;
                case 'T': mult = 1L << 40; t = t[..^1]; break;
            }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || (n * mult) % 512 != 0 || n * mult < (1L << 20))
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"'{text}' is not a benchmark size (a multiple of 512 bytes, at least 1M; e.g. 64M, 1G).");
        return checked(n * mult);
    }

    /// <summary>Algorithm names as integritysetup spells them (hmac-sha256), validated.</summary>
    public static IReadOnlyList<string> ParseAlgorithms(string text) =>
        Split(text).Select(a => TagAlgorithm.Parse(a).IntegritysetupName).Distinct().ToArray();

    public static IReadOnlyList<int> ParseSectorSizes(string text) =>
        Split(text).Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is 512 or 1024 or 2048 or 4096 ? v
            : throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"Sector size '{s}' is not one of 512, 1024, 2048, 4096."))
            .Distinct().OrderBy(v => v).ToArray();

    public static IReadOnlyList<int> ParseThreads(string text) =>
        Split(text).Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 1 and <= 1024 ? v
            : throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"Thread count '{s}' is not a number from 1 to 1024."))
            .Distinct().OrderBy(v => v).ToArray();

    private static string[] Split(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "An empty list was given.");
        return parts;
    }
}
