using System.Buffers.Binary;
using System.Security.Cryptography;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Issue 15: offline resize against the kernel. p16 is p01's volume (16 MiB, crc32c) grown by the kernel to a 24 MiB
/// file (integritysetup resize) with writes at [32335, 9] and [48453, 3] afterwards: its provided_data_sectors and
/// logical content are the ground truth for growing p01 here.
/// </summary>
public class ResizeTests
{
    private static VolumeLocation At(string path, string? data = null) => new() { Path = path, DataDevicePath = data };

    /// <summary>The fixtures' write pattern: byte j of logical sector s = (s*131 + j*7 + 1) &amp; 0xff.</summary>
    private static byte[] Pattern(ulong first, int sectors)
    {
        var b = new byte[sectors * 512];
        for (int i = 0; i < sectors; i++)
            for (int j = 0; j < 512; j++) b[i * 512 + j] = (byte)(((first + (ulong)i) * 131 + (ulong)j * 7 + 1) & 0xff);
        return b;
    }

    private static byte[] Logical(string path, string? data = null)
    {
        using var r = new LogicalReader(At(path, data));
        using var ms = new MemoryStream();
        r.CopyTo(ms);
        return ms.ToArray();
    }

    private static void WritePattern(string path, ulong first, int sectors)
    {
        var input = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(input, Pattern(first, sectors));
            VolumeOperations.Write(new WriteRequest { Volume = At(path), InputPath = input, OffsetSectors = first });
        }
        finally { File.Delete(input); }
    }

    [Fact]
    public void GrowingP01ToTheSizeOfP16GivesTheKernelsProvidedDataSectorsAndKeepsTheData()
    {
        var p01 = new FixtureCase("p01");
        var p16 = new FixtureCase("p16");
        using var copy = p01.CopyOf("clean.img.gz");
        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = (long)p16.Json["raw_image_bytes"]! });
        Assert.Equal("grow", r.Action);
        Assert.Equal(32328UL, r.OldProvidedDataSectors);
        Assert.Equal((ulong)p16.Json["provided_data_sectors"]!, r.NewProvidedDataSectors);   // the kernel's 48456
        Assert.Equal((long)p16.Json["raw_image_bytes"]!, new FileInfo(copy.Path).Length);

        var v = VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) });
        Assert.True(v.Healthy);
        Assert.Equal(48456UL, v.VerifiedBlocks);
        var logical = Logical(copy.Path);
        // Old data intact (the kernel's own reading of p01), the new tail zeros.
        Assert.Equal((string)p01.Json["logical_sha256"]!, Convert.ToHexString(SHA256.HashData(logical.AsSpan(0, 32328 * 512))).ToLowerInvariant());
        Assert.True(logical.AsSpan(32328 * 512).IndexOfAnyExcept((byte)0) < 0);

        // The kernel's later writes of p16 on top: the whole logical device then equals the kernel's p16.
        WritePattern(copy.Path, 32335, 9);
        WritePattern(copy.Path, 48453, 3);
        Assert.Equal((string)p16.Json["logical_sha256"]!, Convert.ToHexString(SHA256.HashData(Logical(copy.Path))).ToLowerInvariant());
    }

    [Fact]
    public void GrownTailHasZeroBlockTagsExactly()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20 });
        using var dev = BlockDevice.Open(copy.Path, write: false);
        var area = new byte[Superblock.AreaSize];
        dev.Read(0, area);
        var sb = Superblock.Parse(area);
        var g = Geometry.FromSuperblock(sb, (ulong)dev.Sectors);
        // The tags of the kernel's own format of p01 (formatted.img: every tag is the zero block's, made by the kernel's wipe)
        // continue into the tail: recompute tag k the kernel way and compare with the bytes on disk.
        using var tags = TagComputer.ForVolume(sb, TagAlgorithm.Default, null);
        var stored = new byte[4];
        var expect = new byte[4];
        foreach (ulong s in new ulong[] { 32328, 32767, 32768, 40000, 48455 })
        {
            dev.Read((long)g.TagOffset(s), stored);
            tags.Compute(s, new byte[512], expect);
            Assert.Equal(expect, stored);
            var block = new byte[512];
            dev.Read((long)g.DataSector(s) * 512, block);
            Assert.True(block.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void ShrinkIsRefusedWhileTheTailHoldsDataAndTheCutListIsTheKernelsWrites()
    {
        var p16 = new FixtureCase("p16");
        using var copy = p16.CopyOf("clean.img.gz");
        var before = File.ReadAllBytes(copy.Path);
        // Back to p01's 16 MiB: the kernel wrote [32335, 9] and [48453, 3] beyond sector 32328 (p16 write_pattern).
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 16 << 20 }));
        Assert.Equal(ErrorIds.ResizeWouldCutData, ex.ErrorId);
        Assert.Contains("32335-32343", ex.Message);
        Assert.Contains("48453-48455", ex.Message);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)), "a refused shrink changed the image");

        var plan = VolumeOperations.PlanResize(new ResizeRequest { Volume = At(copy.Path), SizeSectors = 32328 });
        Assert.True(plan.WhatIf);
        var expected = p16.Json["write_pattern"]!["written_sector_ranges"]!.AsArray()
            .Select(n => (First: (ulong)n![0]!, Count: (ulong)n[1]!))
            .Where(x => x.First + x.Count > 32328)
            .Select(x => new SectorRange(Math.Max(x.First, 32328), x.First + x.Count - Math.Max(x.First, 32328))).ToArray();
        Assert.Equal(expected, plan.CutRanges);
        Assert.Equal(12UL, plan.CutBlocks);
        Assert.Equal(16L << 20, plan.NewDeviceBytes);

        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), SizeSectors = 32328, Force = true });
        Assert.Equal(expected, r.CutRanges);
        Assert.Equal(32328UL, r.NewProvidedDataSectors);
        Assert.Equal(16L << 20, new FileInfo(copy.Path).Length);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
        // What is left is p16's first 32328 sectors: the pattern where the kernel wrote it, zeros elsewhere.
        var logical = Logical(copy.Path);
        foreach (var (first, count) in new (ulong, int)[] { (0, 40), (16181, 23), (32323, 5) })
            Assert.True(Pattern(first, count).AsSpan().SequenceEqual(logical.AsSpan((int)first * 512, count * 512)));
    }

    [Fact]
    public void ShrinkOfAnUnwrittenTailNeedsNoForce()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");   // written up to sector 32327
        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20 });
        Assert.Equal("grow", r.Action);
        r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 16 << 20 });
        Assert.Equal("shrink", r.Action);
        Assert.Equal(0UL, r.CutBlocks);
        Assert.Equal(32328UL, r.NewProvidedDataSectors);
        Assert.Equal((string)new FixtureCase("p01").Json["logical_sha256"]!, Convert.ToHexString(SHA256.HashData(Logical(copy.Path))).ToLowerInvariant());
    }

    [Fact]
    public void FourKiBlocksWithSmallInterleaveAreasGrowAcrossNewAreas()
    {
        var p02 = new FixtureCase("p02");   // 4096-byte blocks, interleave 4096, 40 MiB
        using var copy = p02.CopyOf("clean.img.gz");
        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 48 << 20 });
        Assert.True(r.NewProvidedDataSectors > r.OldProvidedDataSectors + 8192);
        Assert.Equal(0UL, r.NewProvidedDataSectors % 8);
        var v = VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) });
        Assert.True(v.Healthy);
        var logical = Logical(copy.Path);
        Assert.Equal((string)p02.Json["logical_sha256"]!, Convert.ToHexString(SHA256.HashData(logical.AsSpan(0, 81360 * 512))).ToLowerInvariant());
        Assert.True(logical.AsSpan(81360 * 512).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void SeparateDataDeviceGrowsWhenTheMetadataDeviceHoldsTheTagsAndIsRefusedOtherwise()
    {
        var p10 = new FixtureCase("p10");   // data 16 MiB, metadata 2 MiB, 4096-byte blocks
        using var meta = p10.CopyOf("meta.img.gz");
        using var data = p10.CopyOf("data.img.gz");
        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(meta.Path, data.Path), DeviceSizeBytes = 20 << 20 });
        Assert.Equal(40960UL, r.NewProvidedDataSectors);   // get_provided_data_sectors with a metadata device: the data device, block aligned
        Assert.Equal(20L << 20, new FileInfo(data.Path).Length);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(meta.Path, data.Path) }).Healthy);

        // 4 GiB of 4 KiB blocks need 4 MiB of tags: more than the 2 MiB metadata device.
        var metaBefore = File.ReadAllBytes(meta.Path);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Resize(new ResizeRequest { Volume = At(meta.Path, data.Path), DeviceSizeBytes = 4L << 30 }));
        Assert.Equal(ErrorIds.DeviceTooSmall, ex.ErrorId);
        Assert.Contains("metadata device", ex.Message);
        Assert.Equal(20L << 20, new FileInfo(data.Path).Length);
        Assert.True(metaBefore.AsSpan().SequenceEqual(File.ReadAllBytes(meta.Path)));
    }

    [Fact]
    public void SuperblockMacIsSignedAgainWithTheJournalKeyAndRefusedWithoutIt()
    {
        var p13 = new FixtureCase("p13");   // journal_mac hmac-sha256 with fix_hmac: the superblock carries a MAC
        using var copy = p13.CopyOf("clean.img.gz");
        var mac = TagAlgorithm.Parse("hmac-sha256");
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20 }));
        Assert.Equal(ErrorIds.KeyRequired, ex.ErrorId);
        Assert.Equal(16L << 20, new FileInfo(copy.Path).Length);
        using (var key = TestKey.Of(p13.JournalKey))
            VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20, JournalIntegrity = mac, JournalIntegrityKey = key });
        using var verifyKey = TestKey.Of(p13.JournalKey);
        var v = VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path), JournalIntegrity = mac, JournalIntegrityKey = verifyKey });
        Assert.True(v.Healthy);   // includes the superblock MAC check (sb_mac)
        Assert.True(v.ProvidedDataSectors > 32336);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]   // Force allows cutting data, never a grown tail tagged with the wrong algorithm
    public void WrongAlgorithmIsRefusedBeforeAnythingIsWritten(bool force)
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        var before = File.ReadAllBytes(copy.Path);
        var request = new ResizeRequest
            { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20, Force = force, Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("crc32") } };
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Resize(request));
        Assert.Equal(ErrorIds.AlgorithmMismatch, ex.ErrorId);
        // The dry run (-WhatIf, --dry-run) gives the same answer as the real run.
        Assert.Equal(ErrorIds.AlgorithmMismatch, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.PlanResize(request)).ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)));
    }

    [Theory]
    [InlineData(ulong.MaxValue, null, "InvalidSize")]
    [InlineData(18014398509481984UL, null, "InvalidSize")]          // 2^54 sectors = 2^63 bytes
    [InlineData(18014398509481983UL, null, "InvalidSize")]          // fits in 63 bits, but its layout does not
    [InlineData(0UL, null, "InvalidSize")]
    [InlineData(null, 4096L, "DeviceTooSmall")]                      // smaller than the superblock and journal
    [InlineData(null, 102400L, "DeviceTooSmall")]                    // journal fits, no data after the first metadata run
    [InlineData(null, 1000L, "InvalidSize")]                         // not whole sectors
    [InlineData(null, -512L, "InvalidSize")]
    [InlineData(null, long.MaxValue - 511, "InvalidSize")]            // 2^63 - 512 bytes: larger than any layout allows
    public void SizesOutOfRangeGetStableIdsAndChangeNothing(ulong? sectors, long? bytes, string id)
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        var before = File.ReadAllBytes(copy.Path);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), SizeSectors = sectors, DeviceSizeBytes = bytes }));
        Assert.Equal(id, ex.ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)));
    }

    [Fact]
    public void BothSizesAtOnceIsAnInvalidParameter()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => new ResizeRequest { Volume = At("/nonexistent"), SizeSectors = 8, DeviceSizeBytes = 4096 }.Validate());
        Assert.Equal(ErrorIds.InvalidParameter, ex.ErrorId);
    }

    /// <summary>
    /// Killed between the new tail's tags and the superblock: every write of the grow is replayed up to (not including)
    /// the final superblock write. The old geometry must still verify with its data, the superblock carries the grow
    /// marker (RECALCULATING at the old end: a kernel sizing the volume from the grown file recalculates the tail instead
    /// of failing its reads); running the resize again completes it.
    /// </summary>
    [Fact]
    public void KilledBeforeTheSuperblockWriteLeavesTheOldGeometryValidAndARerunCompletesIt()
    {
        var p01 = new FixtureCase("p01");
        using var copy = p01.CopyOf("clean.img.gz");
        string full = Path.GetFullPath(copy.Path);
        var before = File.ReadAllBytes(copy.Path).AsSpan(0, 512).ToArray();
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(before.AsSpan(24)) & 2);   // p01 is not RECALCULATING
        int superblockWrites = 0;
        BlockDevice.TestWriteObserver.Value = (path, offset, buffer) =>
        {
            if (Path.GetFullPath(path) == full && offset == 0 && buffer.Length == 512 && ++superblockWrites == 2) throw new SimulatedKill();
        };
        try
        {
            Assert.Throws<SimulatedKill>(() => VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20 }));
        }
        finally { BlockDevice.TestWriteObserver.Value = null; }
        var area = File.ReadAllBytes(copy.Path).AsSpan(0, 64).ToArray();
        Assert.Equal(32328UL, BinaryPrimitives.ReadUInt64LittleEndian(area.AsSpan(16)));   // old provided_data_sectors
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(area.AsSpan(24)) & 2);     // RECALCULATING ...
        Assert.Equal(32328UL, BinaryPrimitives.ReadUInt64LittleEndian(area.AsSpan(32)));   // ... at the old end
        Assert.Equal(24L << 20, new FileInfo(copy.Path).Length);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
        Assert.Equal((string)p01.Json["logical_sha256"]!, Convert.ToHexString(SHA256.HashData(Logical(copy.Path))).ToLowerInvariant());

        // Again, with no size: the image's current size. The result is the complete grow.
        var r = VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path) });
        Assert.Equal(48456UL, r.NewProvidedDataSectors);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
    }

    /// <summary>An uninterrupted grow leaves the superblock as it was but for provided_data_sectors (the marker is undone).</summary>
    [Fact]
    public void AGrowChangesOnlyProvidedDataSectorsInTheSuperblock()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        var before = File.ReadAllBytes(copy.Path).AsSpan(0, 512).ToArray();
        VolumeOperations.Resize(new ResizeRequest { Volume = At(copy.Path), DeviceSizeBytes = 24 << 20 });
        var after = File.ReadAllBytes(copy.Path).AsSpan(0, 512).ToArray();
        Assert.Equal(48456UL, BinaryPrimitives.ReadUInt64LittleEndian(after.AsSpan(16)));
        after.AsSpan(16, 8).CopyTo(before.AsSpan(16));
        Assert.Equal(Convert.ToHexString(before), Convert.ToHexString(after));
    }

    private sealed class SimulatedKill : Exception;

    [Fact]
    public void CliResizeGrowsAndRefusesACutWithItsId()
    {
        using var copy = new FixtureCase("p16").CopyOf("clean.img.gz");
        var (code, _, err) = Cli.CliTests.Ivol("resize", copy.Path, "--size", "32328");
        Assert.Equal(2, code);
        Assert.Contains("[ResizeWouldCutData]", err);
        (code, var output, err) = Cli.CliTests.Ivol("resize", copy.Path, "--device-size", "32M", "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"action\": \"grow\"", output);
        // p16 is RECALCULATING with recalc_sector at its end (the kernel's grow): it stays at the end.
        var info = VolumeOperations.Inspect(At(copy.Path));
        Assert.Equal(info.ProvidedDataSectors, info.RecalcSector);
        Assert.True(info.ProvidedDataSectors > 48456);
        (code, _, err) = Cli.CliTests.Ivol("resize", copy.Path, "--size", "18446744073709551615");
        Assert.Equal(2, code);
        Assert.Contains("[InvalidSize]", err);
    }
}
