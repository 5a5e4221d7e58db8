using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Benchmark;
using IntegrityVolume.Tests.Cli;
using Xunit;

namespace IntegrityVolume.Tests.Benchmark;

/// <summary>The benchmark end to end on tiny sizes: every measurement is taken and is consistent. No timing decides anything.</summary>
public class BenchmarkRunTests
{
    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ivol-bench-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void TinyRunMeasuresEveryVolumeAndCleansUp()
    {
        string dir = TempDir();
        try
        {
            var options = new BenchmarkOptions
            {
                Sizes = BenchmarkOptions.ParseSizes("4M,8M"), Algorithms = BenchmarkOptions.ParseAlgorithms("crc32c,hmac-sha256"),
                SectorSizes = BenchmarkOptions.ParseSectorSizes("512,4096"), Threads = new[] { 1, 2 }, Directory = dir,
                SystemDropCaches = false, HashSeconds = 0.001, CliRepeats = 1, CliCompareSize = 4 << 20,
                CliCommand = new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "ivol.dll") },
            };
            var log = new List<string>();
            var r = new BenchmarkRunner(options, log.Add).Run();

            Assert.Empty(Directory.GetFileSystemEntries(dir)); // images, input and key removed
            Assert.Contains(log, l => l.Contains("done"));
            Assert.Equal(2, r.ZeroWrites.Count);
            Assert.Equal(8, r.Volumes.Count);
            Assert.False(r.Settings.SystemDropCaches);
            Assert.Contains(r.Notes, n => n.Contains("posix_fadvise"));
            foreach (var v in r.Volumes)
            {
                string name = $"{v.Algorithm} {v.SectorSize} {v.ImageBytes}";
                Assert.True(v.DataBytes > 0 && v.DataBytes < v.ImageBytes, name);
                Assert.Equal("tags-only", v.FormatTagInitialization);
                Assert.Equal(1.0, v.NonZeroShare); // real data, not the zeros of a fresh volume
                Assert.Equal(v.ImageBytes, v.ColdRead.Bytes);
                Assert.Equal(v.ImageBytes, v.CachedRead.Bytes);
                Assert.Equal(4, v.Verify.Count);
                foreach (var cache in new[] { "cold", "cached" })
                    foreach (int t in new[] { 1, 2 })
                    {
                        var run = v.Find(cache, t);
                        Assert.NotNull(run);
                        Assert.True(run!.Healthy, name);
                        Assert.Equal((ulong)v.DataBytes / (ulong)v.SectorSize, run.BlocksChecked);
                        Assert.Equal(run.BlocksChecked, run.ValidBlocks);
                    }
                Assert.NotNull(v.Cli);
                Assert.Equal(0, v.Cli!.ExitCode);
                Assert.True(v.Cli.PeakRssBytes > 0, "VmHWM of the ivol child was read");
                Assert.Equal(v.ImageBytes == 4 << 20 ? 1 : 0, v.Cli.Repeats);
                Assert.Equal(v.Cli.Repeats, v.Cli.CliSamples.Count);
                if (v.ImageBytes == 4 << 20)
                {
                    Assert.Equal(new[] { "cold", "cached" }, v.Profiles.Select(p => p.Cache));
                    Assert.All(v.Profiles, p => Assert.Equal(p.Blocks, p.ValidBlocks));
                    Assert.All(v.Profiles, p => Assert.Equal((ulong)v.DataBytes / (ulong)v.SectorSize, p.Blocks));
                }
                else Assert.Empty(v.Profiles);
            }
            // Stable order: algorithm as given, then sector size, then size.
            Assert.Equal(new[] { "crc32c", "crc32c", "crc32c", "crc32c", "hmac-sha256", "hmac-sha256", "hmac-sha256", "hmac-sha256" }, r.Volumes.Select(v => v.Algorithm));
            Assert.Equal(new long[] { 4 << 20, 8 << 20, 4 << 20, 8 << 20 }, r.Volumes.Take(4).Select(v => v.ImageBytes));
            Assert.Equal(4 * 3, r.Linearity.Count);
            Assert.Contains(r.HashVariants, x => x.Algorithm == "crc32c" && x.Data == "zero");
            Assert.All(r.HashVariants, x => Assert.True(x.EqualsEngine, x.Variant));
            Assert.Contains(r.Targets, t => t.Target == "peak-rss");
            Assert.Contains(r.Targets, t => t.Target == "cli-vs-core");
            Assert.Contains(r.Targets, t => t.Target == "linearity");
            Assert.Contains(r.Targets, t => t.Target == "format-crc32c-vs-wipe");
            Assert.Contains(r.Targets, t => t.Target == "format-vs-hash-limit");
            Assert.Contains("Targets", BenchmarkTable.Format(r));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void PageCacheDropEvictsTheFileAndAReadBringsItBack()
    {
        string dir = TempDir();
        try
        {
            string f = Path.Combine(dir, "f.bin");
            PseudoRandomData.WriteFile(f, 4 << 20, 5);
            PageCache.Drop(f, systemWide: false);
            double cold = PageCache.ResidentFraction(f);
            StorageProbe.SequentialRead(f);
            double warm = PageCache.ResidentFraction(f);
            Assert.InRange(cold, 0, 1);
            Assert.Equal(1.0, warm);
            Assert.True(cold < warm, $"after the drop {cold:P0} resident, after a read {warm:P0}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ZeroWriteLeavesNothingBehind()
    {
        string dir = TempDir();
        try
        {
            string f = Path.Combine(dir, "wipe.bin");
            StorageProbe.ZeroWrite(f, (2 << 20) + 512);
            Assert.False(File.Exists(f));
            var (bytes, _) = StorageProbe.SequentialRead(PseudoRandomFile(dir, 3 << 20));
            Assert.Equal(3 << 20, bytes);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string PseudoRandomFile(string dir, long length)
    {
        string f = Path.Combine(dir, "r.bin");
        PseudoRandomData.WriteFile(f, length, 1);
        return f;
    }

    [Fact]
    public void NotEnoughDiskSkipsTheSizeAndSaysSo()
    {
        string dir = TempDir();
        try
        {
            var r = new BenchmarkRunner(new BenchmarkOptions
            {
                Sizes = BenchmarkOptions.ParseSizes("4M"), Algorithms = new[] { "crc32c" }, SectorSizes = new[] { 4096 }, Threads = new[] { 1 },
                Directory = dir, SystemDropCaches = false, HashSeconds = 0.001, FreeSpaceReserveBytes = long.MaxValue / 2,
            }).Run();
            Assert.Empty(r.Volumes);
            Assert.Equal(new[] { 4L << 20 }, r.Settings.SkippedSizesBytes);
            Assert.Contains(r.Notes, n => n.StartsWith("Skipped 4M", StringComparison.Ordinal));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void IvolBenchPrintsTheTableAndWritesJson()
    {
        string dir = TempDir();
        try
        {
            string json = Path.Combine(dir, "bench.json");
            var (code, stdout, stderr) = CliTests.Ivol("bench", "--sizes", "4M", "--algorithms", "sha256", "--sector-sizes", "4096", "--threads", "1",
                "--dir", dir, "--json", json, "--no-drop-caches", "--no-cli");
            Assert.True(code == 0, stderr);
            Assert.Contains("Verify throughput", stdout);
            Assert.Contains("sha256 4096 4M", stdout);
            Assert.Contains("Targets", stdout);
            var j = JsonNode.Parse(File.ReadAllText(json))!;
            var volumes = j["volumes"]!.AsArray();
            var v = Assert.Single(volumes)!;
            Assert.Equal("sha256", (string)v["algorithm"]!);
            Assert.Equal(4096, (int)v["sectorSize"]!);
            Assert.Null(v["cli"]);
            Assert.Equal(new[] { "bench.json" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));

            // The saved results render again without measuring, also as Markdown.
            string md = Path.Combine(dir, "bench.md");
            var again = CliTests.Ivol("bench", "--from-json", json, "--markdown", md);
            Assert.True(again.Code == 0, again.Err);
            Assert.Contains("sha256 4096 4M", again.Out);
            Assert.Contains("| sha256 4096 4M", File.ReadAllText(md));
            File.WriteAllText(md, "not json");
            Assert.Equal(2, CliTests.Ivol("bench", "--from-json", md).Code);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("--sizes", "0")]
    [InlineData("--algorithms", "md5")]
    [InlineData("--sector-sizes", "100")]
    public void IvolBenchRejectsBadListsWithExitTwo(string option, string value)
    {
        var (code, _, stderr) = CliTests.Ivol("bench", option, value, "--dir", Path.GetTempPath());
        Assert.Equal(2, code);
        Assert.Contains("ivol:", stderr);
    }
}
