using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

public class CommonDisplayTests
{
    [Theory]
    [InlineData(0UL, "0 B")]
    [InlineData(512UL, "512 B")]
    [InlineData(1023UL, "1023 B")]
    [InlineData(1024UL, "1 KiB")]
    [InlineData(1536UL, "1.5 KiB")]
    [InlineData(65536UL, "64 KiB")]
    [InlineData(1056968704UL, "1008 MiB")]
    [InlineData(1073741824UL, "1 GiB")]
    [InlineData(4000787030016UL, "3.64 TiB")]
    [InlineData(ulong.MaxValue, "16 EiB")]
    public void Bytes_are_binary_prefixed_with_three_significant_digits(ulong bytes, string expected) =>
        Assert.Equal(expected, Display.Bytes(bytes));

    [Fact]
    public void Signed_sizes_and_sector_counts()
    {
        Assert.Equal("2 MiB", Display.Bytes(2L << 20));
        Assert.Equal("-1 KiB", Display.Bytes(-1024L));
        Assert.StartsWith("-", Display.Bytes(long.MinValue));
        Assert.Equal("1008 MiB", Display.SectorBytes(2064384));
        Assert.Equal(Display.Bytes(ulong.MaxValue), Display.SectorBytes(ulong.MaxValue));
    }

    [Fact]
    public void Ranges_show_the_first_few_and_count_the_rest()
    {
        Assert.Equal("", Display.Ranges(null));
        Assert.Equal("", Display.Ranges(Array.Empty<SectorRange>()));
        var ranges = new[] { new SectorRange(8, 8), new SectorRange(1024, 1), new SectorRange(4096, 2), new SectorRange(9000, 1), new SectorRange(9100, 1) };
        Assert.Equal("8-15, 1024, 4096-4097 (+2 more)", Display.Ranges(ranges, 3));
        Assert.Equal("8-15, 1024, 4096-4097, 9000, 9100", Display.Ranges(ranges, 10));
    }

    [Fact]
    public void Durations_are_short()
    {
        Assert.Equal("0:02.8", Display.Duration(TimeSpan.FromMilliseconds(2812)));
        Assert.Equal("12:00.0", Display.Duration(TimeSpan.FromMinutes(12)));
        Assert.Equal("2:03:04", Display.Duration(new TimeSpan(2, 3, 4)));
    }

    [Fact]
    public void Progress_records_have_percent_eta_and_readable_status()
    {
        var v = ProgressModel.From(new OperationProgress("Verifying tags", "/dev/sdb", 512L << 20, 1L << 30, TimeSpan.FromSeconds(2)));
        Assert.Equal("Verifying tags", v.Activity);
        Assert.Equal(50, v.PercentComplete);
        Assert.Equal(2, v.SecondsRemaining);
        Assert.Equal("/dev/sdb: 512 MiB of 1 GiB, 256 MiB/s", v.Status);

        var start = ProgressModel.From(new OperationProgress("", "", 0, 0, TimeSpan.Zero));
        Assert.Equal("IntegrityVolume", start.Activity);
        Assert.False(string.IsNullOrWhiteSpace(start.Status));   // ProgressRecord rejects an empty status
        Assert.Equal(0, start.PercentComplete);
        Assert.Equal(-1, start.SecondsRemaining);

        var done = ProgressModel.From(new OperationProgress("Formatting", "x", 10, 10, TimeSpan.FromSeconds(1)));
        Assert.Equal(100, done.PercentComplete);
        Assert.Equal(0, done.SecondsRemaining);
    }

    [Fact]
    public void Algorithm_completion_offers_core_names_by_prefix()
    {
        Assert.Equal(TagAlgorithm.Names, AlgorithmNames.Complete(""));
        Assert.Equal(TagAlgorithm.Names, AlgorithmNames.Complete(null));
        Assert.Equal(new[] { "hmac-sha1", "hmac-sha256", "hmac-sha512" }, AlgorithmNames.Complete("hmac"));
        Assert.Equal(new[] { "hmac-sha256" }, AlgorithmNames.Complete("HMAC-SHA2"));
        Assert.Equal(new[] { "crc32c", "crc32" }, AlgorithmNames.Complete("'crc"));
        Assert.Empty(AlgorithmNames.Complete("md5"));
        // Every completed name is accepted by Core.
        foreach (var name in AlgorithmNames.Complete(""))
            Assert.Equal(name, TagAlgorithm.Parse(name).IntegritysetupName);
    }
}
