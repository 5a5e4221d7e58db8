using IntegrityVolume.Core;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Offline verify with --journal-crypt: what is refused before any journal is read. (That the decryption equals the
/// kernel's is proven in the guest, kernel scenario 26: integritysetup's encrypted journals with pending entries.)
/// </summary>
public class JournalCipherTests
{
    private static string Id(Action a) => Assert.Throws<IntegrityVolumeException>(a).ErrorId;

    [Fact]
    public void OnlyAesInCbcOrCtrIsReadAndTheKeyIsAnAesKey()
    {
        var c = new FixtureCase("p01");
        string image = c.Image("clean.img.gz");
        var location = new VolumeLocation { Path = image };
        VerifyResult Verify(string cipher, int keyBytes) => VolumeOperations.Verify(new VerifyRequest
        {
            Volume = location, JournalCrypt = cipher, JournalCryptKey = new IntegrityKey(new byte[keyBytes]),
        });
        Assert.Equal(ErrorIds.UnknownAlgorithm, Id(() => Verify("xts-aes", 32)));
        Assert.Equal(ErrorIds.UnknownAlgorithm, Id(() => Verify("ecb(aes)", 32)));
        Assert.Equal(ErrorIds.KeyFileInvalid, Id(() => Verify("cbc-aes", 20)));
        // p01's journal is plain (the kernel formatted it without journal_crypt): a cipher for it is refused, as open refuses it.
        Assert.Equal(ErrorIds.JournalNotEncrypted, Id(() => Verify("cbc-aes", 32)));
        Assert.Equal(ErrorIds.JournalNotEncrypted, Id(() => Verify("ctr(aes)", 16)));
    }

    [Fact]
    public void ACipherNeedsItsKeyAndAKeyItsCipher()
    {
        var location = new VolumeLocation { Path = "/nonexistent" };
        Assert.Equal(ErrorIds.KeyRequired, Id(() => new VerifyRequest { Volume = location, JournalCrypt = "cbc-aes" }.Validate()));
        Assert.Equal(ErrorIds.KeyNotAllowed, Id(() => new VerifyRequest { Volume = location, JournalCryptKey = new IntegrityKey(new byte[32]) }.Validate()));
    }
}
