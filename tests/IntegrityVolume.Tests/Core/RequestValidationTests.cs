using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>Core's requests validate themselves, so no front end can drop an option silently.</summary>
public class RequestValidationTests
{
    private static string Id(Action a) => Assert.Throws<IntegrityVolumeException>(a).ErrorId;
    private static readonly VolumeLocation Nowhere = new() { Path = "/nonexistent/ivol-validate.img" };

    [Fact]
    public void AJournalKeyWithoutTheJournalAlgorithmIsRefused()
    {
        using var key = new IntegrityKey(new byte[32]);
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new VerifyRequest { Volume = Nowhere, JournalIntegrityKey = key }.Validate()));
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new FormatRequest { Volume = Nowhere, JournalIntegrityKey = key }.Validate()));
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new IntegrityActivationOptions { JournalMacKey = key }.Validate()));
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new IntegrityActivationOptions { JournalCryptKey = key }.Validate()));
        // ... and the entry points check before any I/O (the device does not exist).
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => VolumeOperations.Verify(new VerifyRequest { Volume = Nowhere, JournalIntegrityKey = key })));
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => VolumeOperations.Format(new FormatRequest { Volume = Nowhere, CreateSizeBytes = 1 << 24, JournalIntegrityKey = key })));
        Assert.False(File.Exists(Nowhere.Path));
    }

    [Fact]
    public void TheJournalMacKeyRuleIsTheAlgorithms()
    {
        using var key = new IntegrityKey(new byte[32]);
        Assert.Equal(ErrorIds.KeyRequired, Id(() => new FormatRequest { Volume = Nowhere, JournalIntegrity = TagAlgorithm.Parse("hmac-sha256") }.Validate()));
        new FormatRequest { Volume = Nowhere, JournalIntegrity = TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = key }.Validate();
    }

    [Fact]
    public void ANegativeThreadCountIsRefused()
    {
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new VerifyRequest { Volume = Nowhere, Threads = -1 }.Validate()));
        new VerifyRequest { Volume = Nowhere, Threads = 0 }.Validate();
    }

    [Fact]
    public void TheWatermarkIsAPercentageBeforeTheKernelIsAsked()
    {
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => new IntegrityActivationOptions { JournalWatermark = 101 }.Validate()));
        new IntegrityActivationOptions { JournalWatermark = 100 }.Validate();
        // IntegrityMappings.Open validates before it opens device-mapper (this host has none).
        Assert.Equal(ErrorIds.InvalidParameter, Id(() => IntegrityMappings.Open(new IntegrityOpenRequest
            { Device = Nowhere.Path, Name = "ivol-validate", Options = new IntegrityActivationOptions { JournalWatermark = 101 } }, sb: null!)));
    }

    [Fact]
    public void TheKeyRuleOfTheTagsExceptWhenNoTagIsComputed()
    {
        var hmac = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256") };
        Assert.Equal(ErrorIds.KeyRequired, Id(() => new VerifyRequest { Volume = Nowhere, Integrity = hmac }.Validate()));
        Assert.Equal(ErrorIds.KeyRequired, Id(() => new WriteRequest { Volume = Nowhere, Integrity = hmac, InputPath = "/x" }.Validate()));
        Assert.Equal(ErrorIds.KeyRequired, Id(() => new FormatRequest { Volume = Nowhere, Integrity = hmac }.Validate()));
        new FormatRequest { Volume = Nowhere, Integrity = hmac, NoWipe = true }.Validate();
    }

    [Fact]
    public void DisposingARequestDisposesItsKeys()
    {
        var key = new IntegrityKey(new byte[] { 7 });
        var jkey = new IntegrityKey(new byte[] { 9 });
        new FormatRequest { Volume = Nowhere, Integrity = new() { Key = key }, JournalIntegrityKey = jkey }.Dispose();
        Assert.True(key.IsDisposed && jkey.IsDisposed);
        Assert.Equal(0, key.RawForTests[0]);
    }
}
