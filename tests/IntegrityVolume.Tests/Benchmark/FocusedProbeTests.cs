using IntegrityVolume.Benchmark;
using IntegrityVolume.Core.Verification;
using Xunit;

namespace IntegrityVolume.Tests.Benchmark;

/// <summary>`ivol bench --probe cli|pool` on tiny sizes: each prints its table and cleans up. No timing decides anything.</summary>
public class FocusedProbeTests
{
    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ivol-probe-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void PoolProbeComparesPooledAndUnpooledAndRestoresThePool()
    {
        string dir = TempDir();
        try
        {
            var log = new List<string>();
            string table = FocusedProbes.Pool(new FocusedProbes.Settings
            {
                Sizes = BenchmarkOptions.ParseSizes("1M"), Algorithms = BenchmarkOptions.ParseAlgorithms("crc32c,hmac-sha256"),
                SectorSizes = BenchmarkOptions.ParseSectorSizes("4096"), Directory = dir, Repeats = 2, Volumes = 3,
            }, log.Add, CancellationToken.None);

            Assert.True(VerifyBuffers.PoolEnabled);
            Assert.Contains("| crc32c 4096 |", table);
            Assert.Contains("| hmac-sha256 4096 |", table);
            Assert.Contains("3 volumes of 1M", table);
            Assert.Contains(log, l => l.Contains("per volume pooled"));
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void CliProbeTimesTheChildAgainstTheEngine()
    {
        string dir = TempDir();
        try
        {
            string table = FocusedProbes.CliVsEngine(new FocusedProbes.Settings
            {
                Sizes = BenchmarkOptions.ParseSizes("4M"), Algorithms = BenchmarkOptions.ParseAlgorithms("crc32c"),
                SectorSizes = BenchmarkOptions.ParseSectorSizes("512"), Directory = dir, Repeats = 1,
                CliCommand = new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "ivol.dll") },
            }, _ => { }, CancellationToken.None);

            var row = table.Split('\n').Single(l => l.StartsWith("| crc32c 512 4M |", StringComparison.Ordinal));
            Assert.Equal(11, row.Split('|').Length);   // 9 columns
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
