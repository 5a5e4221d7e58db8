using IntegrityVolume.Core.Format;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>The worked examples and upstream test anchors of the format document (section B.6), from the kernel's rules.</summary>
public class GeometryTests
{
    private static Geometry Format(ulong sectors, int tag, int log2Spb, bool fixedPadding, ulong metaSectors = 0) =>
        Geometry.ForFormat(new Geometry.FormatInput
        {
            TagSize = tag, Log2SectorsPerBlock = log2Spb, FixedPadding = fixedPadding && metaSectors == 0,
            MetadataDeviceSectors = metaSectors == 0 ? sectors : metaSectors, DataDeviceSectors = metaSectors == 0 ? 0 : sectors,
            SeparateMetadata = metaSectors != 0,
        });

    [Theory]
    [InlineData(131072UL, 4, 0, true, 129160UL, 5U, 256UL)]       // 64 MiB crc32c 512, fix_padding
    [InlineData(131072UL, 4, 3, true, 130152UL, 2U, 32UL)]        // 64 MiB crc32c 4096, fix_padding
    [InlineData(131072UL, 4, 3, false, 129256UL, 2U, 256UL)]      // 64 MiB crc32c 4096, legacy padding
    [InlineData(2097152UL, 32, 0, true, 1957896UL, 186U, 2048UL)] // 1 GiB sha256 512
    [InlineData(2097152UL, 32, 3, true, 2064392UL, 62U, 256UL)]   // 1 GiB sha256 4096
    [InlineData(2147483648UL, 4, 3, true, 2145257704UL, 334U, 32UL)] // 1 TiB crc32c 4096
    public void WorkedExamples(ulong sectors, int tag, int log2Spb, bool fix, ulong provided, uint sections, ulong run)
    {
        var g = Format(sectors, tag, log2Spb, fix);
        Assert.Equal(provided, g.ProvidedDataSectors);
        Assert.Equal(sections, g.JournalSections);
        Assert.Equal(run, g.MetadataRunSectors);
    }

    [Theory]
    [InlineData(4, 0, 64664UL)]
    [InlineData(8, 0, 64152UL)]
    [InlineData(20, 0, 62552UL)]
    [InlineData(16, 3, 64688UL)]
    [InlineData(32, 0, 60992UL)]
    [InlineData(32, 3, 64752UL)]
    public void UpstreamCompatTestAnchorsLegacyPadding(int tag, int log2Spb, ulong provided) =>
        Assert.Equal(provided, Format(65536, tag, log2Spb, fixedPadding: false).ProvidedDataSectors);

    [Fact]
    public void UpstreamCompatTestAnchorFixPadding() => Assert.Equal(65072UL, Format(65536, 4, 3, fixedPadding: true).ProvidedDataSectors);

    [Fact]
    public void TagAndDataPositions512()
    {
        var g = Format(131072, 4, 0, true);
        Assert.Equal(888UL, g.InitialSectors);
        Assert.Equal(454656UL, g.TagOffset(0));
        Assert.Equal(1144UL, g.DataSector(0));
        Assert.Equal(454660UL, g.TagOffset(1));
        Assert.Equal(585724UL, g.TagOffset(32767));
        Assert.Equal(33911UL, g.DataSector(32767));
        Assert.Equal(17362944UL, g.TagOffset(32768));
        Assert.Equal(34168UL, g.DataSector(32768));
        Assert.Equal(51302940UL, g.TagOffset(129159));
        Assert.Equal(131071UL, g.DataSector(129159));
    }

    [Fact]
    public void TagAndDataPositions4096()
    {
        var g = Format(131072, 4, 3, true);
        Assert.Equal(405504UL, g.TagOffset(0));
        Assert.Equal(824UL, g.DataSector(0));
        Assert.Equal(405508UL, g.TagOffset(8));
        Assert.Equal(832UL, g.DataSector(8));
        Assert.Equal(17199104UL, g.TagOffset(32768));
        Assert.Equal(33624UL, g.DataSector(32768));
    }

    [Fact]
    public void SeparateMetadataDevice()
    {
        // 1 GiB data + 64 MiB meta, crc32c 512: 93 sections (16368 sectors), the whole data device provided.
        var g = Format(2097152, 4, 0, true, metaSectors: 131072);
        Assert.Equal(93U, g.JournalSections);
        Assert.Equal(16368UL, g.JournalSectors);
        Assert.Equal(16376UL, g.InitialSectors);
        Assert.Equal(2097152UL, g.ProvidedDataSectors);
        Assert.Equal(8388512UL, g.TagOffset(1000));
        Assert.Equal(1000UL, g.DataSector(1000));
    }

    [Fact]
    public void JournalShapeTable()
    {
        Assert.Equal(new Geometry.JournalShape(24, 21, 168, 176), Geometry.ComputeJournalShape(4, 0, false));
        Assert.Equal(new Geometry.JournalShape(80, 6, 48, 392), Geometry.ComputeJournalShape(4, 3, false));
        Assert.Equal(new Geometry.JournalShape(48, 10, 80, 88), Geometry.ComputeJournalShape(32, 0, false));
        Assert.Equal(new Geometry.JournalShape(104, 4, 32, 264), Geometry.ComputeJournalShape(32, 3, false));
        Assert.Equal(new Geometry.JournalShape(24, 20, 160, 168), Geometry.ComputeJournalShape(4, 0, true)); // p13, journal MAC
    }

    [Fact]
    public void VersionIsChosenFromFlagsAsTheKernelDoes()
    {
        Assert.Equal(5, Superblock.VersionFor(SuperblockFlags.FixedHmac | SuperblockFlags.FixedPadding, false, false));
        Assert.Equal(4, Superblock.VersionFor(SuperblockFlags.FixedPadding, true, true));
        Assert.Equal(3, Superblock.VersionFor(SuperblockFlags.None, true, false));
        Assert.Equal(3, Superblock.VersionFor(SuperblockFlags.DirtyBitmap, false, true));
        Assert.Equal(2, Superblock.VersionFor(SuperblockFlags.None, false, true));
        Assert.Equal(2, Superblock.VersionFor(SuperblockFlags.Recalculating, false, false));
        Assert.Equal(1, Superblock.VersionFor(SuperblockFlags.None, false, false));
        Assert.Equal(6, Superblock.VersionFor(SuperblockFlags.Inline | SuperblockFlags.FixedHmac, false, false));
    }
}
