using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Kernel;

public class IntegrityTableTests
{
    private static Superblock Sb(uint sections = 1, int tag = 4, byte log2Spb = 0, SuperblockFlags flags = SuperblockFlags.FixedPadding | SuperblockFlags.FixedHmac,
        byte log2Interleave = 15, ulong provided = 32328) => new()
    {
        Version = 5, Log2InterleaveSectors = log2Interleave, IntegrityTagSize = (ushort)tag, JournalSections = sections,
        ProvidedDataSectors = provided, Flags = flags, Log2SectorsPerBlock = log2Spb, Log2BlocksPerBitmapBit = 15,
    };

    [Fact]
    public void ArgumentCountMustMatch()
    {
        Assert.Throws<FormatException>(() => IntegrityTable.Parse("7:0 0 4 J 2 fix_padding"));
        Assert.Throws<FormatException>(() => IntegrityTable.Parse("7:0 0 4 X 0"));
        Assert.Throws<FormatException>(() => IntegrityTable.Parse("7:0 0 0 J 0"));
        Assert.Throws<FormatException>(() => IntegrityTable.Parse("0 8 integrity 7:0"));
        Assert.Throws<FormatException>(() => IntegrityTable.Parse("7:0 0 4 J 1 internal_hash:hmac(sha256):abc"));
    }

    [Fact]
    public void UnknownArgumentsSurviveARoundTrip()
    {
        const string line = "0 64 integrity 7:0 0 - D 3 buffer_sectors:8 internal_hash:sha256 some_future_flag";
        var t = IntegrityTable.Parse(line);
        Assert.Null(t.TagSize);
        Assert.Equal(IntegrityMode.Direct, t.Mode);
        Assert.Equal(new[] { "some_future_flag" }, t.ExtraArguments);
        Assert.Equal(line, t.ToLine());
    }

    [Fact]
    public void DevicePathsWithSpacesAreEscaped()
    {
        var t = new IntegrityTable { Length = 8, Device = "/tmp/my disk", TagSize = 4 };
        Assert.Equal(@"/tmp/my\ disk 0 4 J 0", t.ToParameters());
        Assert.Equal("/tmp/my disk", IntegrityTable.Parse(t.ToParameters()).Device);
    }

    [Fact]
    public void KeysAreHiddenUnlessAskedFor()
    {
        var t = new IntegrityTable { Length = 8, Device = "7:0", TagSize = 32, InternalHash = new TableAlgorithm("hmac(sha256)", new byte[] { 0xAB, 0xCD }) };
        Assert.EndsWith("internal_hash:hmac(sha256):abcd", t.ToLine());
        Assert.EndsWith("internal_hash:hmac(sha256):0000", t.ToString());
        Assert.EndsWith("internal_hash:hmac(sha256):<key>", t.ToLine(KeyRendering.Placeholder));
        Assert.Equal("7:0 0 32 J 1 journal_mac:hmac(sha256):0000 internal_hash:crc32c",
            TableKeys.Mask("integrity", "7:0 0 32 J 1 journal_mac:hmac(sha256):12ef internal_hash:crc32c"));
        Assert.Equal("aes-xts-plain64 0000 0 7:0 0", TableKeys.Mask("crypt", "aes-xts-plain64 12ab 0 7:0 0"));
    }

    [Theory]
    [InlineData("crc32c", "crc32c")]
    [InlineData("hmac-sha256", "hmac(sha256)")]
    [InlineData("HMAC-sha1", "hmac(sha1)")]
    [InlineData("hmac(sha512)", "hmac(sha512)")]
    [InlineData("blake2b-256", "blake2b-256")]
    public void AlgorithmNamesBecomeKernelNames(string given, string kernel) => Assert.Equal(kernel, TableAlgorithm.KernelName(given));

    [Fact]
    public void KernelViewFillsDefaultsAndCapsTheBuffer()
    {
        // 4 KiB blocks, interleave 4096, tag 4: a metadata run of 8 sectors caps buffer_sectors at 8 (fixture p02).
        var sb = Sb(sections: 1, log2Spb: 3, log2Interleave: 12, provided: 81360);
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions()).ToKernelView(sb);
        Assert.Equal("0 81360 integrity 7:0 0 4 J 9 block_size:4096 journal_sectors:392 interleave_sectors:4096 buffer_sectors:8 " +
                     "journal_watermark:50 commit_time:10000 fix_padding fix_hmac internal_hash:crc32c", t.ToLine());
    }

    [Fact]
    public void WatermarkIsRoundedThroughTheJournalEntryCount()
    {
        // 1 section of 168 entries: threshold = (168*(100-33)+50)/100 = 113; reported = ((168-113)*100+84)/168 = 33.
        var sb = Sb();
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { JournalWatermark = 33 }).ToKernelView(sb);
        Assert.Equal(33u, t.JournalWatermark);
        // 7%: threshold = (168*93+50)/100 = 156; reported = (12*100+84)/168 = 7.
        t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { JournalWatermark = 7 }).ToKernelView(sb);
        Assert.Equal(7u, t.JournalWatermark);
    }

    [Fact]
    public void BitmapModeReportsBitmapArgumentsOnly()
    {
        var sb = Sb();
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { Mode = IntegrityMode.Bitmap, BitmapFlushIntervalMs = 1001 })
            .ToKernelView(sb, hz: 250);
        Assert.Null(t.JournalWatermark);
        Assert.Null(t.CommitTime);
        Assert.Equal(32768UL, t.SectorsPerBit);
        Assert.Equal(1004u, t.BitmapFlushInterval);   // 1001 ms -> 251 jiffies at HZ=250 -> 1004 ms
        Assert.Contains(" B 8 ", t.ToLine());
    }

    [Fact]
    public void DirectModeHasNoJournalKnobs()
    {
        var sb = Sb();
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { Mode = IntegrityMode.Direct }).ToKernelView(sb);
        Assert.Equal("0 32328 integrity 7:0 0 4 D 6 journal_sectors:176 interleave_sectors:32768 buffer_sectors:128 fix_padding fix_hmac internal_hash:crc32c", t.ToLine());
    }

    [Fact]
    public void StatusParsing()
    {
        Assert.Equal(new IntegrityStatus(10, 32328, null), IntegrityStatus.Parse("10 32328 -"));
        Assert.Equal(new IntegrityStatus(0, 2064392, 229376), IntegrityStatus.Parse("0 2064392 integrity 0 2064392 229376"));
        Assert.Throws<FormatException>(() => IntegrityStatus.Parse("0 32328"));
        Assert.Throws<FormatException>(() => IntegrityStatus.Parse("x 32328 -"));
        Assert.Throws<FormatException>(() => IntegrityStatus.Parse("0 32328 x"));
    }
}
