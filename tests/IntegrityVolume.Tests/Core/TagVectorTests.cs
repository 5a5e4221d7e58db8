using System.Text.RegularExpressions;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>The formula vectors of the format document (appendix V) for every algorithm, block size and salt.</summary>
public class TagVectorTests
{
    public static IEnumerable<object[]> Vectors()
    {
        var doc = File.ReadAllText(Path.Combine(FixtureCase.Root, "..", "docs", "dm-integrity-format.md"));
        foreach (Match m in Regex.Matches(doc, @"^(512|4096) (\S+) (\d+) sector=(\d+) (salt|nosalt) ([0-9a-f]+)$", RegexOptions.Multiline))
            yield return new object[] { int.Parse(m.Groups[1].Value), m.Groups[2].Value, int.Parse(m.Groups[3].Value),
                ulong.Parse(m.Groups[4].Value), m.Groups[5].Value == "salt", m.Groups[6].Value };
    }

    [Fact]
    public void DocumentHasAllVectors() => Assert.Equal(48, Vectors().Count());

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TagOfZeroBlockMatchesVector(int blockSize, string algorithm, int tagSize, ulong sector, bool salted, string expectedHex)
    {
        var alg = TagAlgorithm.Parse(algorithm);
        byte[]? key = alg.IsKeyed ? Enumerable.Range(0, 32).Select(i => (byte)i).ToArray() : null;
        var salt = salted ? Enumerable.Range(0, 16).Select(i => (byte)i).ToArray() : Array.Empty<byte>();
        using var tc = new TagComputer(alg, key, tagSize, salt);
        var tag = new byte[tagSize];
        tc.Compute(sector, new byte[blockSize], tag);
        Assert.Equal(expectedHex, Convert.ToHexString(tag).ToLowerInvariant());
    }

    [Fact]
    public void Crc32cCheckValue()
    {
        // Kernel-style crc32c("123456789") is stored as 83 92 06 E3.
        using var h = TagAlgorithm.Parse("crc32c").CreateHasher(null);
        var d = new byte[4];
        h.Hash(ReadOnlySpan<byte>.Empty, "123456789"u8, d);
        Assert.Equal("839206E3", Convert.ToHexString(d));
    }

    [Fact]
    public void TagLongerThanDigestIsZeroPadded()
    {
        using var tc = new TagComputer(TagAlgorithm.Parse("crc32c"), null, 8, ReadOnlySpan<byte>.Empty);
        var tag = new byte[8];
        tc.Compute(0, new byte[512], tag);
        Assert.Equal("c740e88200000000", Convert.ToHexString(tag).ToLowerInvariant());
    }

    [Theory]
    [InlineData("hmac-sha256", "hmac(sha256)")]
    [InlineData("HMAC(SHA512)", "hmac(sha512)")]
    [InlineData("blake2b-256", "blake2b-256")]
    public void AlgorithmNamesNormalise(string input, string kernel) => Assert.Equal(kernel, TagAlgorithm.Parse(input).KernelName);

    [Fact]
    public void UnknownAlgorithmHasStableId()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("md5"));
        Assert.Equal(ErrorIds.UnknownAlgorithm, ex.ErrorId);
    }

    [Fact]
    public void KeyedAlgorithmWithoutKeyIsRefused()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("hmac-sha256").CreateHasher(null));
        Assert.Equal(ErrorIds.KeyRequired, ex.ErrorId);
        ex = Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("crc32c").CreateHasher(new byte[4]));
        Assert.Equal(ErrorIds.KeyNotAllowed, ex.ErrorId);
    }
}

public class ZeroBlockTagTests
{
    /// <summary>The O(1) zero-block path (CRC shift) gives the same tag as hashing the zeros, for every algorithm.</summary>
    [Theory]
    [InlineData("crc32c", 512)]
    [InlineData("crc32c", 4096)]
    [InlineData("crc32", 512)]
    [InlineData("crc32", 2048)]
    [InlineData("xxhash64", 4096)]
    [InlineData("sha256", 1024)]
    public void ZeroBlockTagEqualsHashedZeros(string algorithm, int blockSize)
    {
        var salt = Enumerable.Range(0, 16).Select(i => (byte)(i * 7 + 1)).ToArray();
        using var tc = new TagComputer(TagAlgorithm.Parse(algorithm), null, 8, salt);
        var a = new byte[8];
        var b = new byte[8];
        foreach (ulong sector in new ulong[] { 0, 1, 8, 32768, 123456789, ulong.MaxValue - 7 })
        {
            tc.Compute(sector, new byte[blockSize], a);
            tc.ComputeZero(sector, blockSize, b);
            Assert.Equal(Convert.ToHexString(a), Convert.ToHexString(b));
        }
    }
}
