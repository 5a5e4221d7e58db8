using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Keys have one owner (IntegrityKey): disposing it zeroes the key bytes, and disposing a hasher zeroes what it derived
/// from the key (HMAC's precomputed inner/outer SHA256 states); tables borrow the key's own bytes, no copy.
/// </summary>
public class KeyOwnershipTests
{
    private static readonly byte[] Bytes = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void DisposeZeroesTheKeyAndRefusesFurtherUse()
    {
        var key = new IntegrityKey(Bytes);
        Assert.Equal(Bytes, key.Span.ToArray());
        Assert.DoesNotContain("01", key.ToString());
        key.Dispose();
        Assert.True(key.IsDisposed);
        Assert.All(key.RawForTests.ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(32, key.Length);
        Assert.Throws<ObjectDisposedException>(() => key.Span.Length);
        key.Dispose();   // twice is harmless
    }

    [Fact]
    public void AnEmptyKeyIsKeyFileInvalid() =>
        Assert.Equal(ErrorIds.KeyFileInvalid, Assert.Throws<IntegrityVolumeException>(() => new IntegrityKey(ReadOnlySpan<byte>.Empty)).ErrorId);

    [Theory]
    [InlineData(32)]
    [InlineData(100)]   // longer than SHA-256's block: the key's digest is the HMAC key
    public void TheHmacSha256HasherZeroesItsPrecomputedStatesOnDispose(int keyLength)
    {
        Assert.True(OpenSslSha256Hasher.Available, "libcrypto's SHA256_* is expected on the test machine");
        using var key = new IntegrityKey(Enumerable.Range(0, keyLength).Select(i => (byte)(i * 7 + 1)).ToArray());
        var tc = new TagComputer(TagAlgorithm.Parse("hmac-sha256"), key, 32, new byte[16]);
        var hasher = Assert.IsType<OpenSslSha256Hasher>(tc.HasherForTests);
        var tag = new byte[32];
        tc.Compute(8, new byte[512], tag);
        Assert.Contains(hasher.ContextsForTests.ToArray(), b => b != 0);
        tc.Dispose();
        Assert.All(hasher.ContextsForTests.ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void TheHasherKeepsWorkingAfterTheKeyIsDisposedAndGivesTheSameTags()
    {
        // The hasher derives its state at creation: the key can be wiped as soon as the workers exist.
        var block = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        var key = new IntegrityKey(Bytes);
        using var before = new TagComputer(TagAlgorithm.Parse("hmac-sha256"), key, 32, new byte[16]);
        using var other = new TagComputer(TagAlgorithm.Parse("hmac-sha512"), key, 64, new byte[16]);
        var a = new byte[32];
        before.Compute(16, block, a);
        key.Dispose();
        var b = new byte[32];
        before.Compute(16, block, b);
        Assert.Equal(a, b);
        var expected = System.Security.Cryptography.HMACSHA256.HashData(Bytes, new byte[16].Concat(BitConverter.GetBytes(16UL)).Concat(block).ToArray());
        Assert.Equal(expected, a);
    }

    [Fact]
    public void ATableBorrowsTheKeyAndShowsZerosOnceTheOptionsAreDisposed()
    {
        var c = new FixtureCase("p04");
        var sb = VolumeOperations.ReadSuperblock(new VolumeLocation { Path = c.Image("clean.img.gz") });
        var options = new IntegrityActivationOptions { Algorithm = "hmac-sha256", Key = new IntegrityKey(Bytes) };
        var table = IntegrityTable.ForActivation(sb, "7:0", options);
        Assert.Contains("internal_hash:hmac(sha256):0102", table.ToParameters(KeyRendering.Clear));
        options.Dispose();
        Assert.Contains("internal_hash:hmac(sha256):" + new string('0', 64), table.ToParameters(KeyRendering.Clear));
    }

    [Theory]
    [InlineData("p04", "key.bin", false)]
    [InlineData("p13", "journal-key.bin", true)]
    public void KeyedVerifyWithAKeyFileEqualsTheFixtureAndLeavesZeros(string id, string keyFile, bool journal)
    {
        var c = new FixtureCase(id);
        var key = KeyFile.Read(c.KeyFile(keyFile), "--integrity-key-file");
        var request = new VerifyRequest
        {
            Volume = new VolumeLocation { Path = c.Image("corrupt.img.gz") },
            Integrity = journal ? new() { Algorithm = TagAlgorithm.Parse(c.Algorithm!) } : new() { Algorithm = TagAlgorithm.Parse(c.Algorithm!), Key = key },
            JournalIntegrity = journal ? TagAlgorithm.Parse("hmac-sha256") : null,
            JournalIntegrityKey = journal ? key : null,
        };
        var r = VolumeOperations.Verify(request);
        request.Dispose();
        // The kernel reports the first sector of each failing block.
        int spb = r.SectorSize / 512;
        var sectors = r.MismatchedSectors.SelectMany(x => Enumerable.Range(0, (int)(x.Sectors / (ulong)spb)).Select(k => x.Start + (ulong)(k * spb))).ToArray();
        Assert.NotEmpty(sectors);
        Assert.Equal(c.KernelFailedSectors, sectors);
        Assert.All(key.RawForTests.ToArray(), b => Assert.Equal(0, b));
    }
}
