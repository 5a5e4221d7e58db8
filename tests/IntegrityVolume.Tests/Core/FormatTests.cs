using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>The userspace formatter against images the kernel formatted (integritysetup format with its wipe).</summary>
public class FormatTests
{
    public static TheoryData<string> FormattedCases()
    {
        var data = new TheoryData<string>();
        foreach (var id in FixtureCase.AllIds())
            if (new FixtureCase(id).Has("formatted.img.gz")) data.Add(id);
        return data;
    }

    [Theory]
    [MemberData(nameof(FormattedCases))]
    public void FormatIsByteIdenticalToKernelFormat(string id)
    {
        var c = new FixtureCase(id);
        string kernelImage = c.Image("formatted.img.gz");
        var salt = new byte[16];
        using (var f = File.OpenRead(kernelImage)) { f.Position = 48; f.ReadExactly(salt); }
        using var ours = new TempFile(".img");
        var request = FixtureFormat.Request(c, ours.Path, salt: salt) with { CreateSizeBytes = new FileInfo(kernelImage).Length, Force = false };
        var result = VolumeOperations.Format(request);
        Assert.Equal("tags-only", result.TagInitialization);
        AssertSameBytes(kernelImage, ours.Path);
        // And it verifies healthy with the fixture's algorithm and key.
        Assert.True(VolumeOperations.Verify(FixtureTests.Verify(c, new VolumeLocation { Path = ours.Path })).Healthy);
    }

    internal static void AssertSameBytes(string expectedPath, string actualPath)
    {
        using var a = File.OpenRead(expectedPath);
        using var b = File.OpenRead(actualPath);
        Assert.Equal(a.Length, b.Length);
        var x = new byte[1 << 20];
        var y = new byte[1 << 20];
        for (long pos = 0; pos < a.Length; pos += x.Length)
        {
            int n = (int)Math.Min(x.Length, a.Length - pos);
            a.ReadExactly(x, 0, n);
            b.ReadExactly(y, 0, n);
            int diff = x.AsSpan(0, n).CommonPrefixLength(y.AsSpan(0, n));
            Assert.True(diff == n, $"first difference at byte {pos + diff}: kernel {x[Math.Min(diff, n - 1)]:x2}, ours {y[Math.Min(diff, n - 1)]:x2}");
        }
    }

    [Fact]
    public void SeparateMetadataFormatMatchesKernelLayout()
    {
        // p10 ships no formatted image: compare our superblock and journal with the kernel's written volume.
        var c = new FixtureCase("p10");
        using var meta = new TempFile(".meta");
        using var data = new TempFile(".data");
        using (var f = new FileStream(data.Path, FileMode.CreateNew)) f.SetLength((long)c.Json["raw_data_image_bytes"]!);
        var salt = Convert.FromHexString((string)c.Json["superblock"]!["salt_hex"]!);
        var request = FixtureFormat.Request(c, meta.Path, data.Path, salt) with { CreateSizeBytes = (long)c.Json["raw_meta_image_bytes"]!, Force = false };
        VolumeOperations.Format(request);
        var kernel = File.ReadAllBytes(c.Image("meta.img.gz"));
        var ourBytes = File.ReadAllBytes(meta.Path);
        var v = VolumeOperations.Inspect(new VolumeLocation { Path = meta.Path, DataDevicePath = data.Path });
        int headerBytes = (int)v.InitialSectors * 512;
        Assert.True(kernel.AsSpan(0, headerBytes).SequenceEqual(ourBytes.AsSpan(0, headerBytes)), "superblock + journal differ");
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = meta.Path, DataDevicePath = data.Path } }).Healthy);
    }

    [Fact]
    public void LegacyVersion1FormatMatchesKernel()
    {
        // p05 was formatted by the kernel without fix_padding/fix_hmac: superblock V1, no salt, 128 KiB padding.
        var c = new FixtureCase("p05");
        using var ours = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest
        {
            Volume = new VolumeLocation { Path = ours.Path }, CreateSizeBytes = (long)c.Json["raw_image_bytes"]!,
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("crc32") }, LegacyPadding = true, LegacyHmac = true,
        });
        var v = VolumeOperations.Inspect(new VolumeLocation { Path = ours.Path });
        var f = c.Json["dump"]!["fields"]!;
        Assert.Equal((int)f["superblock_version"]!, v.SuperblockVersion);
        Assert.Equal((ulong)f["provided_data_sectors"]!, v.ProvidedDataSectors);
        Assert.Equal((ulong)c.Json["geometry"]!["metadata_run_sectors"]!, v.MetadataRunSectors);
        // The superblock area is identical (the journal is not: the kernel re-stamped it with another commit sequence when it closed the used volume).
        var kernelSb = File.ReadAllBytes(c.Image("clean.img.gz")).AsSpan(0, 4096).ToArray();
        Assert.True(kernelSb.AsSpan().SequenceEqual(File.ReadAllBytes(ours.Path).AsSpan(0, 4096)));
    }

    [Theory]
    [InlineData(512, "crc32c", 64)]
    [InlineData(4096, "sha256", 24)]
    [InlineData(4096, "xxhash64", 40)]
    [InlineData(1024, "blake2s-256", 24)]
    public void FormatWriteVerifyRoundTrip(int sectorSize, string algorithm, int mib)
    {
        using var img = new TempFile(".img");
        using var input = new TempFile(".bin");
        var content = new byte[3 * 1024 * 1024 + 1000];
        new Random(sectorSize + mib).NextBytes(content);
        File.WriteAllBytes(input.Path, content);
        VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = mib << 20,
            SectorSize = sectorSize, Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm) } });
        var spec = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm) };
        ulong offset = 32768 - 2048;  // the 3 MiB input crosses the boundary between interleave areas 0 and 1
        var w = VolumeOperations.Write(new WriteRequest { Volume = new VolumeLocation { Path = img.Path }, Integrity = spec, InputPath = input.Path, OffsetSectors = offset });
        Assert.Equal(offset, w.StartSector);
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img.Path }, Integrity = spec });
        Assert.True(r.Healthy);
        // The logical content holds the input at the offset.
        using var reader = new LogicalReader(new VolumeLocation { Path = img.Path });
        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        Assert.True(ms.GetBuffer().AsSpan((int)offset * 512, content.Length).SequenceEqual(content));
    }

    [Fact]
    public void ExistingSignatureIsNotOverwrittenWithoutForce()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        var before = File.ReadAllBytes(copy.Path);
        var request = new FormatRequest { Volume = new VolumeLocation { Path = copy.Path } };
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(request));
        Assert.Equal(ErrorIds.ExistingSignature, ex.ErrorId);
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.PlanFormat(request));
        Assert.Equal(ErrorIds.ExistingSignature, ex.ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)));
        VolumeOperations.Format(request with { Force = true });
        Assert.NotEqual((string)new FixtureCase("p01").Json["superblock"]!["salt_hex"]!, VolumeOperations.Inspect(request.Volume).Salt);
    }

    [Theory]
    [InlineData(1080, new byte[] { 0x53, 0xEF }, "ext")]
    [InlineData(0, new byte[] { (byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE }, "LUKS")]
    [InlineData(0, new byte[] { (byte)'X', (byte)'F', (byte)'S', (byte)'B' }, "xfs")]
    [InlineData(4096, new byte[] { 0xFC, 0x4E, 0x2B, 0xA9 }, "md")]
    [InlineData(4086, new byte[] { (byte)'S', (byte)'W', (byte)'A', (byte)'P', (byte)'S', (byte)'P', (byte)'A', (byte)'C', (byte)'E', (byte)'2' }, "swap")]
    public void KnownSignaturesAreRefused(int offset, byte[] magic, string expect)
    {
        using var img = new TempFile(".img");
        using (var f = new FileStream(img.Path, FileMode.CreateNew)) { f.SetLength(8 << 20); f.Position = offset; f.Write(magic); }
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = img.Path } }));
        Assert.Equal(ErrorIds.ExistingSignature, ex.ErrorId);
        Assert.Contains(expect, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void PlanWritesNothingAndPredictsTheVolume()
    {
        using var img = new TempFile(".img");
        var request = new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 64 << 20 };
        var plan = VolumeOperations.PlanFormat(request);
        Assert.True(plan.WhatIf);
        Assert.False(File.Exists(img.Path));
        var real = VolumeOperations.Format(request);
        Assert.Equal(plan.Volume.ProvidedDataSectors, real.Volume.ProvidedDataSectors);
        Assert.Equal(plan.Volume.InitialSectors, real.Volume.InitialSectors);
    }

    [Fact]
    public void BadFormatRequestsHaveStableIds()
    {
        using var img = new TempFile(".img");
        var loc = new VolumeLocation { Path = img.Path };
        Assert.Equal(ErrorIds.DeviceNotFound, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = 1 << 24, SectorSize = 3000 })).ErrorId);
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = 1 << 24, Integrity = new() { Algorithm = TagAlgorithm.Parse("hmac-sha256") } })).ErrorId);
        Assert.Equal(ErrorIds.InvalidSize, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = 1000 })).ErrorId);
        Assert.Equal(ErrorIds.DeviceTooSmall, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = 128 * 1024, JournalSizeBytes = 1 << 20 })).ErrorId);
        Assert.False(File.Exists(img.Path)); // a failed format removes the file it created
        File.WriteAllBytes(img.Path, new byte[1 << 20]);
        Assert.Equal(ErrorIds.FileExists, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = loc, CreateSizeBytes = 1 << 24 })).ErrorId);
    }

    [Fact]
    public void WriteAppliesTheKernelsPendingJournalAsItsReplayDoesOrRefusesWithTheWrongAlgorithm()
    {
        // p09: the kernel crashed with committed journal entries (kernel-made fixture; replayed.img = after its replay).
        var c = new FixtureCase("p09");
        using var copy = c.CopyOf("clean.img.gz");
        using var input = new TempFile(".bin");
        var content = new byte[8192];
        new Random(9).NextBytes(content);
        File.WriteAllBytes(input.Path, content);
        var loc = new VolumeLocation { Path = copy.Path };
        var before = File.ReadAllBytes(copy.Path);
        // With an algorithm the entries' tags do not match, the kernel's replay would fail: refused, nothing written.
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = loc, InputPath = input.Path, Integrity = new() { Algorithm = TagAlgorithm.Parse("xxhash64") } }));
        Assert.Equal(ErrorIds.JournalPending, ex.ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)));
        // With the right one the entries are applied first: the logical content is the kernel's replay plus the write.
        var w = VolumeOperations.Write(new WriteRequest { Volume = loc, InputPath = input.Path, OffsetSectors = 20000 });
        Assert.Contains(w.Warnings, x => x.Contains("Applied") && x.Contains("journal entries"));
        Assert.Equal(JournalState.Clean, VolumeOperations.Inspect(loc).JournalState);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = loc }).Healthy);
        byte[] Logical(string path)
        {
            using var r = new LogicalReader(new VolumeLocation { Path = path });
            using var ms = new MemoryStream();
            r.CopyTo(ms);
            return ms.ToArray();
        }
        var expected = Logical(c.Image("replayed.img.gz"));
        content.CopyTo(expected, 20000 * 512);
        Assert.True(expected.AsSpan().SequenceEqual(Logical(copy.Path)));
        // And the data area itself, read without any journal: the replay really went in place.
        var kernel = File.ReadAllBytes(c.Image("replayed.img.gz"));
        var g = VolumeOperations.Inspect(loc);
        int tagStart = (int)g.InitialSectors * 512, dataStart = (int)(g.InitialSectors + g.MetadataRunSectors) * 512;
        var ours = File.ReadAllBytes(copy.Path);
        Assert.True(kernel.AsSpan(dataStart, 20000 * 512).SequenceEqual(ours.AsSpan(dataStart, 20000 * 512)), "data differs from the kernel's replay");
        Assert.True(kernel.AsSpan(tagStart, 20000 * 4).SequenceEqual(ours.AsSpan(tagStart, 20000 * 4)), "tags differ from the kernel's replay");
    }

    [Fact]
    public void NoWipeMarksTheVolumeForRecalculation()
    {
        using var img = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 16 << 20, NoWipe = true });
        var v = VolumeOperations.Inspect(new VolumeLocation { Path = img.Path });
        Assert.Contains("recalculating", v.Flags);
        Assert.Equal(0UL, v.RecalcSector);
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img.Path } });
        // Nothing has a tag yet: nothing verified is not a clean pass.
        Assert.Equal(VerifyVerdict.Incomplete, r.Verdict);
        Assert.Equal(0UL, r.VerifiedBlocks);
        Assert.Equal(r.BlocksChecked, r.UninitializedBlocks);
    }
}
