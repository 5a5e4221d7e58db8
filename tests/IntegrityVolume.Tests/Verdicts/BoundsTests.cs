using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Verdicts;

/// <summary>
/// Superblock fields that wrap the layout arithmetic (issue 12, defect 2): refused before any shift or multiply, as
/// the kernel's calculate_device_limits / "Not enough provided sectors" refuse them, with the wrong field named.
/// </summary>
public class BoundsTests
{
    private static TempFile Patched(int offset, byte[] value)
    {
        var img = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var f = new FileStream(img.Path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(value);
        return img;
    }

    [Theory]
    [InlineData(0xfe03f80fe03ff479UL)]   // the value from the issue: DataSector(provided - 1) wrapped below the device end
    [InlineData(0xfffffffffffffff8UL)]
    [InlineData(0x8000000000000000UL)]
    [InlineData(1UL << 40)]
    public void ProvidedDataSectorsBeyondTheDeviceIsRefusedByDumpAndVerify(ulong provided)
    {
        using var img = Patched(16, BitConverter.GetBytes(provided));
        var loc = new VolumeLocation { Path = img.Path };
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(loc));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge, ex.ErrorId);
        Assert.Contains("provided_data_sectors", ex.Message);
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = loc }));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge, ex.ErrorId);
    }

    [Theory]
    [InlineData(0xffffffffu)]
    [InlineData(0x00100000u)]
    public void JournalSectionsLargerThanTheDeviceNamesJournalSections(uint sections)
    {
        using var img = Patched(12, BitConverter.GetBytes(sections));
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = img.Path }));
        Assert.Equal(ErrorIds.SuperblockBadJournalSections, ex.ErrorId);
        Assert.Contains("journal_sections", ex.Message);
        Assert.DoesNotContain("provided_data_sectors", ex.Message);
    }

    [Fact]
    public void LayoutFieldsThatLeaveNoRoomAreNamed()
    {
        // log2_interleave_sectors 31: one metadata run of tag_size << 31 bytes is larger than the 16 MiB device.
        using var img = Patched(9, new byte[] { 31 });
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = img.Path }));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge, ex.ErrorId);
        Assert.Contains("log2_interleave_sectors", ex.Message);
    }

    [Fact]
    public void TheKernelsLimitIsTheGreedyMaximumForTheDevice()
    {
        // p14: the kernel accepts any value up to what it computes for the device and refuses one more block.
        var c = new FixtureCase("p01");
        ulong kernel = (ulong)c.Json["provided_data_sectors"]!;
        using (var ok = Patched(16, BitConverter.GetBytes(kernel - 8)))
            Assert.Equal(kernel - 8, VolumeOperations.Inspect(new VolumeLocation { Path = ok.Path }).ProvidedDataSectors);
        using var bad = Patched(16, BitConverter.GetBytes(kernel + 8));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge,
            Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = bad.Path })).ErrorId);
    }

    [Fact]
    public void GeometryRefusesAHugeProvidedValueBeforeComputingTheLayout()
    {
        var sb = new Superblock
        {
            Version = 5, Log2InterleaveSectors = 15, IntegrityTagSize = 4, JournalSections = 1,
            ProvidedDataSectors = ulong.MaxValue & ~7UL, Flags = SuperblockFlags.FixedPadding, Log2SectorsPerBlock = 0,
        };
        var ex = Assert.Throws<IntegrityVolumeException>(() => Geometry.FromSuperblock(sb, 32768));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge, ex.ErrorId);
    }
}

public class ReservedSectorBoundsTests
{
    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(0x0080000000000000UL)]   // * 512 wraps to 0: the old code read the superblock at byte 0
    public void ReservedSectorsBeyondTheDeviceAreRefused(ulong reserved)
    {
        var loc = new VolumeLocation { Path = new FixtureCase("p01").Image("clean.img.gz"), ReservedSectors = reserved };
        Assert.Equal(ErrorIds.DeviceTruncated, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(loc)).ErrorId);
        Assert.Equal(ErrorIds.DeviceTruncated, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = loc })).ErrorId);
    }
}
