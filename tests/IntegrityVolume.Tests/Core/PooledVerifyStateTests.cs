using System.Buffers.Binary;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Verification workers rent their buffers from one pool across volumes, and kernel crc32 tags come from the
/// library's IEEE CRC-32: both must leave every verdict equal to the kernel's.
/// </summary>
public class PooledVerifyStateTests
{
    /// <summary>
    /// Kernel-corrupted fixtures of different block and tag sizes, one after another in one process: buffers left by a
    /// volume with small tag arrays serve the next with larger ones (crc32/512 -> sha1/512 -> sha256/4096 -> xxhash64),
    /// and every result still equals the kernel's failed sectors.
    /// </summary>
    [Fact]
    public void VolumesOfDifferentGeometryVerifiedInTurnEachEqualTheKernel()
    {
        foreach (var id in new[] { "p05", "p06", "p03", "p07", "p05", "p06" })
        {
            var c = new FixtureCase(id);
            Assert.NotEmpty(c.KernelFailedSectors);
            var r = VolumeOperations.Verify(new VerifyRequest { Volume = FixtureTests.Location(c, corrupt: true), Integrity = FixtureTests.Integrity(c) });
            int spb = r.SectorSize / 512;
            var ours = r.MismatchedSectors.SelectMany(x => Enumerable.Range(0, (int)(x.Sectors / (ulong)spb)).Select(b => x.Start + (ulong)(b * spb))).ToArray();
            Assert.Equal(c.KernelFailedSectors, ours);
        }
    }

    /// <summary>
    /// The crc32 tag through System.IO.Hashing's IEEE CRC-32 equals crc32_le(0, prefix ‖ block) computed bit by bit
    /// from the polynomial (the kernel's crypto/crc32 "crc32", seed 0, no final XOR), for every prefix and block length
    /// dm-integrity uses, and again after the length changes (the zero-run correction is per length).
    /// </summary>
    [Theory]
    [InlineData(8, 512)]
    [InlineData(8, 4096)]
    [InlineData(8 + 16, 1024)]
    public void KernelCrc32TagEqualsTheBitwiseDefinition(int prefixBytes, int blockBytes)
    {
        var rng = new Random(prefixBytes * 31 + blockBytes);
        var prefix = new byte[prefixBytes];
        var block = new byte[blockBytes];
        using var hasher = TagAlgorithm.Parse("crc32").CreateHasher(null);
        var digest = new byte[4];
        foreach (int other in new[] { 512, blockBytes })   // another length first: the correction must follow the length
        {
            rng.NextBytes(prefix);
            rng.NextBytes(block);
            hasher.Hash(prefix, new byte[other], digest);
            hasher.Hash(prefix, block, digest);
            uint expected = BitwiseCrc32Le(BitwiseCrc32Le(0, prefix), block);
            Assert.Equal(expected, BinaryPrimitives.ReadUInt32LittleEndian(digest));
        }
    }

    private static uint BitwiseCrc32Le(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return crc;
    }
}
