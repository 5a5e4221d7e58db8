using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Operations;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Algorithm detection (issue 15) against every kernel-made fixture: the algorithm named in case.json is found, keyed
/// volumes say a key is needed, damaged tags are reported as such, and a 1 TiB volume costs a bounded number of reads.
/// </summary>
public class AlgorithmDetectionTests
{
    /// <summary>Every image of every fixture whose superblock the kernel accepts: (case, image or meta image).</summary>
    public static TheoryData<string, string> AllImages()
    {
        var data = new TheoryData<string, string>();
        foreach (var id in FixtureCase.AllIds())
        {
            var c = new FixtureCase(id);
            foreach (var gz in Directory.EnumerateFiles(Path.Combine(FixtureCase.Root, id), "*.img.gz").Select(Path.GetFileName).OrderBy(n => n))
            {
                if (gz!.Contains("data.img")) continue;                       // p10: the data image goes with its meta image
                // p14: only the superblock variants the kernel opens (the others fail as the kernel does, FixtureTests).
                if (id == "p14" && gz != "clean.img.gz" && (int?)c.Json["variants"]?[gz[..^3]]?["open"]?["rc"] != 0) continue;
                data.Add(id, gz);
            }
        }
        return data;
    }

    private static VolumeLocation Location(FixtureCase c, string gz) => c.Id switch
    {
        "p10" => new VolumeLocation { Path = c.Image(gz), DataDevicePath = c.Image(gz.Replace("meta", "data")) },
        "p15" => new VolumeLocation { Path = c.Image(gz), ReservedSectors = (ulong)c.Json["luks2_data_offset_bytes"]! / 512 },
        _ => new VolumeLocation { Path = c.Image(gz) },
    };

    [Theory]
    [MemberData(nameof(AllImages))]
    public void DetectionNamesTheFixturesAlgorithm(string id, string gz)
    {
        var c = new FixtureCase(id);
        if (id == "p15")
        {
            // p15's tags are dm-crypt's (AEAD with the volume key, LUKS2 --integrity): nothing to detect, refused.
            var refused = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.DetectAlgorithm(Location(c, gz)));
            Assert.Equal(ErrorIds.TagsFromCryptLayer, refused.ErrorId);
            return;
        }
        // p14's variants are copies of p01 (crc32c).
        string? expected = id == "p14" ? "crc32c" : c.Algorithm;
        var d = VolumeOperations.DetectAlgorithm(Location(c, gz));
        Assert.InRange(d.BlocksRead, 1, AlgorithmDetection.MaxSampleBlocks);
        Assert.InRange(d.TagsRead, d.BlocksRead, AlgorithmDetection.MaxSampleBlocks);
        if (expected is null || TagAlgorithm.IsKeyedName(expected))
        {
            Assert.Equal(AlgorithmDetectionOutcome.KeyNeeded, d.Outcome);
            Assert.Null(d.Algorithm);
            Assert.All(d.Candidates, k => Assert.Equal(0, k.Matched));
            Assert.Contains("keyed: a key is needed", d.Summary);
            var ex = Assert.Throws<IntegrityVolumeException>(() => d.Require(c.Id));
            Assert.Equal(ErrorIds.KeyRequired, ex.ErrorId);
            return;
        }
        Assert.Equal(AlgorithmDetectionOutcome.Detected, d.Outcome);
        Assert.Equal(TagAlgorithm.Parse(expected).IntegritysetupName, d.Algorithm);
        Assert.Equal(TagAlgorithm.Parse(expected), d.Require(c.Id));
        var hit = Assert.Single(d.Candidates, k => k.Matched > 0);
        Assert.Equal(d.Algorithm, hit.Algorithm);
        // The kernel's corrupt images damage a handful of blocks; clean ones match on every sampled block.
        if (!gz.StartsWith("corrupt", StringComparison.Ordinal)) Assert.Equal(d.SampledBlocks, hit.Matched);
        Assert.All(d.Candidates, k => Assert.Equal(d.SampledBlocks, k.Checked));
    }

    [Fact]
    public void KeyedFixtureIsDetectedWithItsKey()
    {
        var c = new FixtureCase("p04");
        foreach (var gz in new[] { "clean.img.gz", "formatted.img.gz", "corrupt.img.gz" })
        {
            using var key = new IntegrityKey(c.Key!);
            var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = c.Image(gz) }, key);
            Assert.Equal(AlgorithmDetectionOutcome.Detected, d.Outcome);
            Assert.Equal("hmac-sha256", d.Algorithm);
            Assert.True(d.WithKey);
        }
        // A wrong key: every keyed candidate mismatches, and that is what is said.
        using var wrong = new IntegrityKey(new byte[32]);
        var bad = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = c.Image("clean.img.gz") }, wrong);
        Assert.Equal(AlgorithmDetectionOutcome.NoMatch, bad.Outcome);
        Assert.Contains("every candidate mismatched", bad.Summary);
        Assert.Equal(ErrorIds.AlgorithmNotDetected, Assert.Throws<IntegrityVolumeException>(() => bad.Require("p04")).ErrorId);
    }

    [Fact]
    public void AKeyForAnUnkeyedVolumeIsRefusedNotIgnored()
    {
        using var key = new IntegrityKey(new byte[32]);
        var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = new FixtureCase("p03").Image("clean.img.gz") }, key);
        Assert.Equal(AlgorithmDetectionOutcome.Unkeyed, d.Outcome);
        Assert.Null(d.Algorithm);
        Assert.Equal("sha256", d.UnkeyedMatch);
        Assert.Equal(ErrorIds.KeyNotAllowed, Assert.Throws<IntegrityVolumeException>(() => d.Require("p03")).ErrorId);
    }

    /// <summary>
    /// A 4-byte key with crc32c is its seed (the kernel's setkey): p01, made by the kernel with crc32c's default seed ~0,
    /// is detected as crc32c with the key ff ff ff ff, and refused as not matching with another seed.
    /// </summary>
    [Fact]
    public void ASeededCrc32CIsDetectedWithItsKey()
    {
        var image = new FixtureCase("p01").Image("clean.img.gz");
        using var seed = new IntegrityKey(new byte[] { 0xff, 0xff, 0xff, 0xff });
        var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = image }, seed);
        Assert.Equal(AlgorithmDetectionOutcome.Detected, d.Outcome);
        Assert.Equal("crc32c", d.Algorithm);
        using var other = new IntegrityKey(new byte[] { 1, 2, 3, 4 });
        var bad = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = image }, other);
        Assert.NotEqual(AlgorithmDetectionOutcome.Detected, bad.Outcome);
    }

    /// <summary>Overwrite the tag of every block for which <paramref name="damage"/> says so with 0x5A bytes.</summary>
    private static void DamageTags(string path, Func<ulong, bool> damage)
    {
        using var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = path }, write: true);
        var g = v.Geometry;
        var bad = Enumerable.Repeat((byte)0x5A, g.TagSize).ToArray();
        for (ulong b = 0; b < g.Blocks; b++)
            if (damage(b)) v.Meta.Write(checked((long)g.TagOffset(b << g.Log2SectorsPerBlock)), bad);
    }

    [Theory]
    [InlineData("p01", AlgorithmDetectionOutcome.NoMatch, "every candidate mismatched (damaged tags?)")]   // 4-byte tags: no keyed algorithm fits
    [InlineData("p07", AlgorithmDetectionOutcome.NoMatch, "every candidate mismatched (damaged tags?)")]
    [InlineData("p03", AlgorithmDetectionOutcome.KeyNeeded, "keyed: a key is needed")]                    // 32 bytes: hmac-sha256 would fit
    public void EveryTagDamagedIsReportedNotGuessed(string id, AlgorithmDetectionOutcome outcome, string says)
    {
        using var copy = new FixtureCase(id).CopyOf("clean.img.gz");
        DamageTags(copy.Path, _ => true);
        var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = copy.Path });
        Assert.Equal(outcome, d.Outcome);
        Assert.Null(d.Algorithm);
        Assert.Contains(says, d.Summary);
        Assert.All(d.Candidates, k => Assert.Equal(0, k.Matched));
        Assert.NotEmpty(d.Candidates);
        Assert.Contains($"0/{d.SampledBlocks}", d.Summary);
        var ex = Assert.Throws<IntegrityVolumeException>(() => d.Require(copy.Path));
        Assert.Equal(outcome == AlgorithmDetectionOutcome.KeyNeeded ? ErrorIds.KeyRequired : ErrorIds.AlgorithmNotDetected, ex.ErrorId);
    }

    [Fact]
    public void HalfTheTagsDamagedStillNamesTheAlgorithmWithTheCounts()
    {
        using var copy = new FixtureCase("p03").CopyOf("clean.img.gz");
        DamageTags(copy.Path, b => b % 2 == 1);
        var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = copy.Path });
        Assert.Equal(AlgorithmDetectionOutcome.Detected, d.Outcome);
        Assert.Equal("sha256", d.Algorithm);
        var hit = Assert.Single(d.Candidates, k => k.Matched > 0);
        Assert.InRange(hit.Matched, 1, d.SampledBlocks - 1);
        Assert.Contains($"{hit.Matched} of {d.SampledBlocks}", d.Summary);
    }

    [Fact]
    public void OnlyDiscardedBlocksAreNoEvidence()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = copy.Path }, write: true))
        {
            var g = v.Geometry;
            var filler = Enumerable.Repeat((byte)0xF6, g.TagSize).ToArray();   // DISCARD_FILLER
            for (ulong b = 0; b < g.Blocks; b++) v.Meta.Write(checked((long)g.TagOffset(b << g.Log2SectorsPerBlock)), filler);
        }
        var d = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = copy.Path });
        Assert.Equal(AlgorithmDetectionOutcome.NoEvidence, d.Outcome);
        Assert.Equal(0, d.SampledBlocks);
        Assert.Equal(AlgorithmDetection.MaxSampleBlocks, d.DiscardedBlocks);
        Assert.Equal(ErrorIds.AlgorithmNotDetected, Assert.Throws<IntegrityVolumeException>(() => d.Require(copy.Path)).ErrorId);
    }

    /// <summary>Counts every read of the wrapped device.</summary>
    private sealed class CountingReader(IBlockReader inner) : IBlockReader
    {
        public int Reads;
        public long Bytes;
        public string Path => inner.Path;
        public long Length => inner.Length;
        public void Read(long offset, Span<byte> buffer) { Reads++; Bytes += buffer.Length; inner.Read(offset, buffer); }
    }

    /// <summary>
    /// 1 TiB (sparse) formatted without tag initialisation, RECALCULATING cleared so every block counts as protected, and
    /// the zero-block tags written only in the first and last interleave area: detection names the algorithm from the
    /// blocks at both ends and reads at most MaxSampleBlocks data blocks and as many tags, counted at the device.
    /// </summary>
    [Fact]
    public void OneTebibyteVolumeCostsABoundedNumberOfReads()
    {
        using var img = new TempFile(".img");
        using (var r = new FormatRequest
        {
            Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 1L << 40, SectorSize = 4096, NoWipe = true,
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("xxhash64") },
        })
            VolumeOperations.Format(r);
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = img.Path }, write: true))
        {
            var area = new byte[512];
            v.Meta.Read(0, area);
            area[24] &= unchecked((byte)~(uint)SuperblockFlags.Recalculating);   // flags (le32 at 24)
            v.Meta.Write(0, area);
        }
        ulong blocks;
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = img.Path }, write: true))
        {
            var g = v.Geometry;
            blocks = g.Blocks;
            Assert.False(v.Superblock.HasFlag(SuperblockFlags.Recalculating));
            Assert.True(g.ProvidedDataSectors * 512 > 1000UL << 30);
            using var tags = TagComputer.ForVolume(v.Superblock, TagAlgorithm.Parse("xxhash64"), null);
            var tag = new byte[g.TagSize];
            ulong perArea = g.InterleaveSectors >> g.Log2SectorsPerBlock;
            foreach (ulong b in Enumerable.Range(0, (int)perArea).Select(i => (ulong)i).Concat(Enumerable.Range(1, (int)perArea).Select(i => blocks - (ulong)i)))
            {
                ulong sector = b << g.Log2SectorsPerBlock;
                tags.ComputeZero(sector, g.BlockSize, tag);
                v.Meta.Write(checked((long)g.TagOffset(sector)), tag);
            }
        }
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = img.Path }, write: false))
        {
            var meta = new CountingReader(v.Meta);
            var data = new CountingReader(v.Data);
            var d = AlgorithmDetector.Detect(meta, data, v.Superblock, v.Geometry, interrupted: null, key: null);
            Assert.Equal(AlgorithmDetectionOutcome.Detected, d.Outcome);
            Assert.Equal("xxhash64", d.Algorithm);
            Assert.Equal(AlgorithmDetection.MaxSampleBlocks, d.SampledBlocks);
            var hit = Assert.Single(d.Candidates, k => k.Matched > 0);
            Assert.InRange(hit.Matched, 2, 4);   // the blocks at both ends; every other sample holds a zero tag
            // The bound, at the device: one tag read and one data block read per sample, whatever the volume's size.
            Assert.Equal(AlgorithmDetection.MaxSampleBlocks, meta.Reads);
            Assert.Equal(AlgorithmDetection.MaxSampleBlocks * 8L, meta.Bytes);
            Assert.Equal(AlgorithmDetection.MaxSampleBlocks, data.Reads);
            Assert.Equal(AlgorithmDetection.MaxSampleBlocks * 4096L, data.Bytes);
            Assert.True(blocks > 200_000_000UL);
        }
        // Without any initialised tag: every candidate mismatches, said as such, after the same bounded reads.
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = img.Path }, write: true))
        {
            var zero = new byte[8];
            v.Meta.Write(checked((long)v.Geometry.TagOffset(0)), zero);
            v.Meta.Write(checked((long)v.Geometry.TagOffset((blocks - 1) << v.Geometry.Log2SectorsPerBlock)), zero);
        }
        var none = VolumeOperations.DetectAlgorithm(new VolumeLocation { Path = img.Path });
        Assert.Equal(AlgorithmDetectionOutcome.NoMatch, none.Outcome);
        Assert.Equal(AlgorithmDetection.MaxSampleBlocks, none.BlocksRead);
    }

    [Fact]
    public void WriteProofStillNamesTheVolumesAlgorithm()
    {
        // AlgorithmProof shares the sampling: a write with the wrong algorithm names the one the tags match.
        using var copy = new FixtureCase("p07").CopyOf("clean.img.gz");
        using var input = new TempFile(".bin");
        File.WriteAllBytes(input.Path, new byte[4096]);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
        {
            Volume = new VolumeLocation { Path = copy.Path }, InputPath = input.Path,
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("crc32c") },
        }));
        Assert.Equal(ErrorIds.AlgorithmMismatch, ex.ErrorId);
        Assert.Contains("xxhash64", ex.Message);
    }
}
