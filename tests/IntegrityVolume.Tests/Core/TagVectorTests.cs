using System.Security.Cryptography;
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
        using var k = TestKey.Of(key);
        using var tc = new TagComputer(alg, k, tagSize, salt);
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
        // crc32c takes a 4-byte seed (CRYPTO_ALG_OPTIONAL_KEY); any other length is refused as the kernel's setkey does.
        ex = Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("crc32c").CreateHasher(new IntegrityKey(new byte[16])));
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

public class ConsecutiveTagTests
{
    /// <summary>
    /// Zero-block tags of a run of blocks (salt hashed once; for CRCs a table of the sector's linear share, looked up
    /// across a 4096-block boundary and from unaligned starts) equal hashing each block's zeros.
    /// </summary>
    [Theory]
    [InlineData("crc32c", 512, 4, (1UL << 33), 37)]
    [InlineData("crc32c", 512, 4, (1UL << 33) - 5, 9000)]
    [InlineData("crc32c", 4096, 4, 8UL * 4093, 4100)]
    [InlineData("crc32", 1024, 4, (1UL << 40) - 2 * 3, 5000)]
    [InlineData("crc32", 512, 4, 0UL, 4097)]
    [InlineData("crc32c", 512, 8, (1UL << 33), 37)]
    [InlineData("sha256", 4096, 32, (1UL << 33), 37)]
    public void ConsecutiveZeroTagsEqualHashedZeros(string algorithm, int blockSize, int tagSize, ulong first, int count)
    {
        var salt = Enumerable.Range(0, 16).Select(i => (byte)(i * 3 + 11)).ToArray();
        using var tc = new TagComputer(TagAlgorithm.Parse(algorithm), null, tagSize, salt);
        // A first run at another block size must not leave its tables behind for this one.
        int other = blockSize == 4096 ? 512 : 4096;
        tc.ComputeZeroConsecutive(0, other / 512, other, 3, new byte[3 * tagSize]);
        var batched = new byte[count * tagSize];
        tc.ComputeZeroConsecutive(first, blockSize / 512, blockSize, count, batched);
        var one = new byte[tagSize];
        var zeros = new byte[blockSize];
        for (int k = 0; k < count; k++)
        {
            tc.Compute(first + (ulong)k * (ulong)(blockSize / 512), zeros, one);
            Assert.True(one.AsSpan().SequenceEqual(batched.AsSpan(k * tagSize, tagSize)),
                $"block {k}: {Convert.ToHexString(one)} != {Convert.ToHexString(batched, k * tagSize, tagSize)}");
        }
    }

    /// <summary>
    /// The batched path (four crc32c chains in lock step, salt hashed once) gives each block the tag of the one-block
    /// path, whose formula the vectors above pin to the kernel; counts that leave a tail of 1–3 blocks included.
    /// </summary>
    [Theory]
    [InlineData("crc32c", 512, 4, true)]
    [InlineData("crc32c", 4096, 4, false)]
    [InlineData("crc32c", 1024, 8, true)]   // tag wider than the digest: zero padded, per-block path
    [InlineData("crc32c", 2048, 2, true)]   // tag narrower than the digest: truncated
    [InlineData("crc32", 512, 4, true)]
    [InlineData("sha256", 4096, 32, true)]
    [InlineData("xxhash64", 512, 8, false)]
    public void ConsecutiveTagsEqualOneBlockTags(string algorithm, int blockSize, int tagSize, bool salted)
    {
        var salt = salted ? Enumerable.Range(0, 16).Select(i => (byte)(i * 13 + 5)).ToArray() : Array.Empty<byte>();
        var rng = new Random(blockSize + tagSize);
        using var tc = new TagComputer(TagAlgorithm.Parse(algorithm), null, tagSize, salt);
        foreach (int count in new[] { 1, 3, 4, 7, 9, 256 })
        {
            var blocks = new byte[count * blockSize];
            rng.NextBytes(blocks);
            ulong first = (ulong)rng.Next(0, 1 << 30) * (ulong)(blockSize / 512);
            var batched = new byte[count * tagSize];
            tc.ComputeConsecutive(first, blockSize / 512, blocks, blockSize, batched);
            var one = new byte[tagSize];
            for (int k = 0; k < count; k++)
            {
                tc.Compute(first + (ulong)(k * blockSize / 512), blocks.AsSpan(k * blockSize, blockSize), one);
                Assert.Equal(Convert.ToHexString(one), Convert.ToHexString(batched, k * tagSize, tagSize));
            }
        }
    }
}

public class OpenSslSha256Tests
{
    /// <summary>.NET's crypto on Linux needs libcrypto 1.1 or 3, both of which export SHA256_*: the fast path is there.</summary>
    [Fact]
    public void LibcryptoSha256IsUsedForSha256Tags()
    {
        Assert.True(OpenSslSha256Hasher.Available);
        using var hasher = TagAlgorithm.Parse("sha256").CreateHasher(null);
        Assert.IsType<OpenSslSha256Hasher>(hasher);
    }

    /// <summary>
    /// libcrypto's SHA256_* with precomputed HMAC pads gives the platform's SHA-256 / HMAC-SHA256 for every prefix length
    /// the kernel uses (none, sector only, salt and sector), both block sizes, and keys shorter than, equal to and longer
    /// than the 64-byte block (longer keys are hashed first). The kernel fixtures p03/p04/p13/p15 check it against the kernel.
    /// </summary>
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 24)]
    [InlineData(32, 8)]
    [InlineData(64, 24)]
    [InlineData(65, 24)]
    [InlineData(200, 0)]
    public void EqualsThePlatformImplementation(int keyLength, int prefixLength)
    {
        var rng = new Random(keyLength * 31 + prefixLength);
        byte[]? key = keyLength == 0 ? null : new byte[keyLength];
        if (key is not null) rng.NextBytes(key);
        using var fast = OpenSslSha256Hasher.TryCreate(key is not null, key)!;
        using var platform = key is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        var prefix = new byte[prefixLength];
        var a = new byte[32];
        var b = new byte[32];
        foreach (int blockSize in new[] { 512, 4096 })
            for (int n = 0; n < 20; n++)
            {
                var block = new byte[blockSize];
                rng.NextBytes(block);
                rng.NextBytes(prefix);
                fast.Hash(prefix, block, a);
                platform.AppendData(prefix);
                platform.AppendData(block);
                platform.GetHashAndReset(b);
                Assert.Equal(Convert.ToHexString(b), Convert.ToHexString(a));
            }
    }
}
