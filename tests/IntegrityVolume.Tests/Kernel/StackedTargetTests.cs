using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Kernel;

/// <summary>
/// Table lines of the layers stacked over a dm-integrity leg or array, as the kernel returns them (the parameter
/// layouts of Documentation/admin-guide/device-mapper/dm-crypt.rst and linear.rst; the crypt line with integrity is
/// the one cryptsetup 2.6 loads for luksFormat --integrity hmac-sha256).
/// </summary>
public class StackedTargetTests
{
    private const string AeadCrypt = "capi:authenc(hmac(sha256),xts(aes))-random :64:logon:cryptsetup:6a1c-d0 0 253:0 0 1 integrity:32:aead";

    [Theory]
    [InlineData("crypt", "aes-xts-plain64 0000000000000000000000000000000000000000000000000000000000000000 0 9:127 32768", "9:127", 32768UL)]
    [InlineData("crypt", AeadCrypt, "253:0", 0UL)]
    [InlineData("linear", "253:4 2048", "253:4", 2048UL)]
    [InlineData("linear", "/dev/md127 18446744073709551615", "/dev/md127", ulong.MaxValue)]
    public void UnderlyingIsTheDeviceAndOffsetField(string type, string parameters, string device, ulong offset)
    {
        var u = new DmTarget(0, 1024, type, parameters).Underlying();
        Assert.NotNull(u);
        Assert.Equal(device, u.Value.Device);
        Assert.Equal(offset, u.Value.Offset);
    }

    [Theory]
    [InlineData("integrity", "253:0 0 4 J 0")]   // not a layer that maps sectors one to one
    [InlineData("crypt", "aes-xts-plain64 00 0 9:127")]   // no offset
    [InlineData("linear", "253:4")]
    [InlineData("linear", "253:4 -1")]
    [InlineData("linear", "253:4 18446744073709551616")]   // 2^64
    public void UnderlyingIsNullForOtherTargetsAndShortOrBadLines(string type, string parameters) =>
        Assert.Null(new DmTarget(0, 8, type, parameters).Underlying());

    [Fact]
    public void CryptLayerWithIntegrityNamesItsTagsAndNeverItsKey()
    {
        var c = CryptLayers.Parse("secure", DeviceNumber.Of("253:1")!.Value, new DmTarget(0, 30000, "crypt", AeadCrypt));
        Assert.NotNull(c);
        Assert.Equal("aead", c.Integrity);
        Assert.Equal(32, c.IntegrityTagBytes);
        Assert.Equal("keyring", c.KeyLocation);
        Assert.Equal(64, c.KeyBytes);
        Assert.Equal("253:0", c.UnderlyingDevice);
        Assert.DoesNotContain(c.GetType().GetProperties(), p => p.GetValue(c) is string s && s.Contains("cryptsetup:6a1c", StringComparison.Ordinal));
    }

    [Fact]
    public void PlainCryptLayerIsNoIntegrityLayer() =>
        Assert.Null(CryptLayers.Parse("plain", DeviceNumber.Of("253:1")!.Value,
            new DmTarget(0, 30000, "crypt", "aes-xts-plain64 0000000000000000000000000000000000000000000000000000000000000000 0 9:127 32768")));
}
