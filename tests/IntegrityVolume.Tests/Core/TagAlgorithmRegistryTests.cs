using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>TagAlgorithm owns the default, both spellings, keyedness and the key rule; the other layers ask it.</summary>
public class TagAlgorithmRegistryTests
{
    [Theory]
    [InlineData("hmac-sha256", "hmac(sha256)")]
    [InlineData("HMAC-sha512", "hmac(sha512)")]
    [InlineData("phmac-sha256", "phmac(sha256)")]
    [InlineData("hmac(sha256)", "hmac(sha256)")]
    [InlineData("crc32c", "crc32c")]
    [InlineData("blake2b-256", "blake2b-256")]
    // integritysetup's rule (crypt_parse_hash_integrity_mode): a-b is a(b) unless b starts with a digit.
    [InlineData("cbc-aes", "cbc(aes)")]
    [InlineData("ctr-aes", "ctr(aes)")]
    [InlineData("xts-aes", "xts(aes)")]
    [InlineData("sha3-256", "sha3-256")]
    [InlineData("xxhash64", "xxhash64")]
    [InlineData("cbc(aes)", "cbc(aes)")]
    public void KernelSpelling(string given, string kernel)
    {
        Assert.Equal(kernel, TagAlgorithm.ToKernelName(given));
        Assert.Equal(kernel, TableAlgorithm.KernelName(given));
    }

    [Theory]
    [InlineData("hmac(sha256)", "hmac-sha256")]
    [InlineData("phmac(sha512)", "phmac-sha512")]
    [InlineData("sha256", "sha256")]
    public void IntegritysetupSpelling(string kernel, string integritysetup)
    {
        Assert.Equal(integritysetup, TagAlgorithm.IntegritysetupSpelling(kernel));
        Assert.Equal(integritysetup, IntegrityTabEntry.NormalizeAlgorithm(kernel.ToUpperInvariant()));
    }

    [Theory]
    [InlineData("hmac-sha256", true)]
    [InlineData("hmac(sha1)", true)]
    [InlineData("phmac-sha256", true)]
    [InlineData("phmac(sha512)", true)]
    [InlineData("sha256", false)]
    [InlineData("crc32c", false)]
    public void Keyedness(string name, bool keyed) => Assert.Equal(keyed, TagAlgorithm.IsKeyedName(name));

    [Fact]
    public void TheDefaultIsCrc32cEverywhere()
    {
        Assert.Equal("crc32c", TagAlgorithm.DefaultName);
        Assert.Same(TagAlgorithm.Parse("crc32c"), TagAlgorithm.Default);
        Assert.Same(TagAlgorithm.Default, new IntegrityAlgorithmSpec().Algorithm);
        Assert.Same(TagAlgorithm.Default, TagAlgorithm.ParseOrDefault("  "));
        Assert.Equal(TagAlgorithm.DefaultName, new IntegrityActivationOptions().Algorithm);
        Assert.Equal(TagAlgorithm.DefaultName, IntegrityTabEntry.Parse("a /dev/sda").Algorithm);
        Assert.Equal("crc32c (default)", TagAlgorithm.NameList.Split(", ")[0]);
    }

    [Fact]
    public void EveryAlgorithmParsesFromBothSpellings()
    {
        foreach (var a in TagAlgorithm.All)
        {
            Assert.Same(a, TagAlgorithm.Parse(a.KernelName));
            Assert.Same(a, TagAlgorithm.Parse(a.IntegritysetupName.ToUpperInvariant()));
            Assert.Equal(a.IsKeyed, a.KernelName.StartsWith("hmac(", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheKeyRule()
    {
        using var key = new IntegrityKey(new byte[] { 1 });
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("hmac-sha1").ValidateKey(null)).ErrorId);
        Assert.Equal(ErrorIds.KeyNotAllowed, Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.Parse("sha1").ValidateKey(key)).ErrorId);
        TagAlgorithm.Parse("hmac-sha1").ValidateKey(key);
        TagAlgorithm.Parse("xxhash64").ValidateKey(null);
    }

    /// <summary>Regression: the activation's keyed check knew hmac( only; phmac without a key went to the kernel.</summary>
    [Fact]
    public void AProtectedKeyHmacWithoutAKeyIsKeyRequiredBeforeTheKernel()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => new IntegrityActivationOptions { Algorithm = "phmac-sha256" }.Validate());
        Assert.Equal(ErrorIds.KeyRequired, ex.ErrorId);
        new IntegrityActivationOptions { Algorithm = "phmac-sha256", Key = new IntegrityKey(new byte[32]) }.Validate();
    }
}
