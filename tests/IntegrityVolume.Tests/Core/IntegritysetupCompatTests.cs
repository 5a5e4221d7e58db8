using System.Buffers.Binary;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Operations;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>integritysetup's spellings and options that a migrating user types (issue 15); kernel behaviour in scenario 16.</summary>
public class IntegritysetupCompatTests
{
    /// <summary>Bitwise CRC-32C (reflected 0x82F63B78) from a given register, final XOR ~0: the test's own reference.</summary>
    private static uint ReferenceCrc32C(uint register, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            register ^= b;
            for (int i = 0; i < 8; i++) register = (register & 1) != 0 ? (register >> 1) ^ 0x82F63B78u : register >> 1;
        }
        return ~register;
    }

    [Fact]
    public void ASeededCrc32CStartsFromTheKeyAsTheKernelsSetkeyDoes()
    {
        byte[] key = { 0x5a, 0xa5, 0x0f, 0xf0 };
        var block = new byte[512];
        new Random(7).NextBytes(block);
        var prefix = new byte[24];   // salt + LE64 sector
        new Random(8).NextBytes(prefix);
        using var h = TagAlgorithm.Parse("crc32c").CreateHasher(new IntegrityKey(key));
        var d = new byte[4];
        h.Hash(prefix, block, d);
        uint expected = ReferenceCrc32C(BinaryPrimitives.ReadUInt32LittleEndian(key), prefix.Concat(block).ToArray());
        Assert.Equal(expected, BinaryPrimitives.ReadUInt32LittleEndian(d));
    }

    /// <summary>The kernel's default crc32c key is ~0: a kernel-made crc32c image verifies with the key ff ff ff ff.</summary>
    [Fact]
    public void TheDefaultSeedAsAKeyVerifiesAKernelImage()
    {
        var c = new FixtureCase("p01");
        using var ones = new IntegrityKey(new byte[] { 0xff, 0xff, 0xff, 0xff });
        var ok = VolumeOperations.Verify(new VerifyRequest { Volume = FixtureTests.Location(c), Integrity = new() { Algorithm = TagAlgorithm.Parse("crc32c"), Key = ones } });
        Assert.True(ok.Healthy);
        using var other = new IntegrityKey(new byte[] { 1, 2, 3, 4 });
        var bad = VolumeOperations.Verify(new VerifyRequest { Volume = FixtureTests.Location(c), Integrity = new() { Algorithm = TagAlgorithm.Parse("crc32c"), Key = other } });
        Assert.Equal(0UL, bad.ValidBlocks);
    }

    [Theory]
    [InlineData("crc32c", 4, null)]
    [InlineData("crc32c", 16, ErrorIds.KeyNotAllowed)]
    [InlineData("crc32", 4, null)]
    [InlineData("xxhash64", 8, null)]
    [InlineData("xxhash64", 4, ErrorIds.KeyNotAllowed)]
    [InlineData("sha256", 32, ErrorIds.KeyNotAllowed)]
    public void TheKernelsOptionalKeyRule(string alg, int keyLength, string? error)
    {
        if (error is null) TagAlgorithm.ValidateKey(alg, keyLength, "--integrity-key-file");
        else Assert.Equal(error, Assert.Throws<IntegrityVolumeException>(() => TagAlgorithm.ValidateKey(alg, keyLength, "--integrity-key-file")).ErrorId);
    }

    [Fact]
    public void TagSizeZeroIsTheDigestSize()
    {
        using var tmp = new TempFile(".img");
        File.Delete(tmp.Path);
        var plan = VolumeOperations.PlanFormat(new FormatRequest
        {
            Volume = new VolumeLocation { Path = tmp.Path }, CreateSizeBytes = 16 << 20, TagSize = 0,
            Integrity = new() { Algorithm = TagAlgorithm.Parse("sha256") },
        });
        Assert.Equal(32, plan.Volume.IntegrityTagSize);
    }

    [Fact]
    public void AnEncryptedJournalIsFormattedByTheKernelWithIntegritysetupsTable()
    {
        using var key = new IntegrityKey(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        using var tmp = new TempFile(".img");
        var r = new FormatRequest
        {
            Volume = new VolumeLocation { Path = tmp.Path }, JournalCrypt = "cbc-aes", JournalCryptKey = key,
            JournalWatermark = 60, CommitTimeMs = 5000, CreateSizeBytes = 16 << 20, Force = true,
        };
        // Only the kernel writes an encrypted journal: the plan is the kernel's (its wipe computes the tags).
        Assert.True(r.FormatsThroughKernel);
        Assert.Equal(KernelFormatter.KernelWipe, VolumeOperations.PlanFormat(r).TagInitialization);
        string table = KernelFormatter.FormatTable(r, "7:0");
        Assert.Contains(" journal_crypt:cbc(aes):" + new string('0', 64), table);
        Assert.Contains(" journal_watermark:60 ", table);
        Assert.Contains(" commit_time:5000 ", table);
        var noKey = new FormatRequest { Volume = new VolumeLocation { Path = tmp.Path }, JournalCrypt = "cbc-aes" };
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<IntegrityVolumeException>(noKey.Validate).ErrorId);
    }

    [Fact]
    public void AnActivationSpellsTheJournalCipherAsTheKernel()
    {
        var c = new FixtureCase("p01");
        var sb = VolumeOperations.ReadSuperblock(FixtureTests.Location(c));
        using var key = new IntegrityKey(new byte[32]);
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { JournalCryptAlgorithm = "ctr-aes", JournalCryptKey = key });
        Assert.Equal("ctr(aes)", t.JournalCrypt!.Name);
        var noKey = new IntegrityActivationOptions { JournalCryptAlgorithm = "ctr-aes" };
        Assert.Equal(ErrorIds.KeyRequired, Assert.Throws<IntegrityVolumeException>(noKey.Validate).ErrorId);
    }

    /// <summary>A kernel-formatted journal (integritysetup format, no journal_crypt) has plain commit ids: --journal-crypt is refused.</summary>
    [Fact]
    public void APlainKernelJournalIsRefusedForJournalCrypt()
    {
        var c = new FixtureCase("p01");
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.RefusePlainJournalForJournalCrypt(FixtureTests.Location(c)));
        Assert.Equal(ErrorIds.JournalNotEncrypted, ex.ErrorId);
    }

    [Fact]
    public void RandomBytesInTheJournalAreNotAPlainJournal()
    {
        var c = new FixtureCase("p01");
        using var copy = c.CopyOf("clean.img.gz");
        var sb = VolumeOperations.ReadSuperblock(new VolumeLocation { Path = copy.Path });
        var g = Geometry.FromSuperblock(sb, (ulong)new FileInfo(copy.Path).Length / 512);
        var noise = new byte[g.JournalSectionSectors * 512];
        new Random(3).NextBytes(noise);
        using (var fs = new FileStream(copy.Path, FileMode.Open, FileAccess.Write))
        {
            fs.Position = (long)g.JournalStartSector * 512;
            fs.Write(noise);
        }
        VolumeOperations.RefusePlainJournalForJournalCrypt(new VolumeLocation { Path = copy.Path });
    }

    [Theory]
    [InlineData(252, "xxhash64", false)]
    [InlineData(256, "xxhash64", false)]
    [InlineData(257, "xxhash64", true)]
    [InlineData(252, "hmac-sha256", true)]
    [InlineData(252, "hmac-sha512", false)]
    [InlineData(259, "hmac-sha512", true)]
    [InlineData(259, "phmac-sha256", true)]
    public void SystemdsAlgorithmListByVersion(int version, string alg, bool accepted)
    {
        Assert.Equal(accepted, SystemdIntegritysetup.AlgorithmsFor(version).Contains(alg));
        var e = IntegrityTabEntry.Parse($"v /dev/sda {(alg.Contains("hmac") ? "/etc/k" : "-")} integrity-algorithm={alg}");
        bool error = e.Check(version).Any(p => p.ErrorId == ErrorIds.IntegrityTabUnknownAlgorithm);
        Assert.Equal(!accepted, error);
    }

    [Fact]
    public void AWorldReadableKeyFileDrawsSystemdsWarning()
    {
        if (OperatingSystem.IsWindows()) return;
        using var tmp = new TempFile(".key");
        File.WriteAllBytes(tmp.Path, new byte[32]);
        File.SetUnixFileMode(tmp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.Contains(SystemdIntegritysetup.KeyFileWarnings(tmp.Path), w => w.Contains("0644 mode that is too permissive"));
        File.SetUnixFileMode(tmp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.DoesNotContain(SystemdIntegritysetup.KeyFileWarnings(tmp.Path), w => w.Contains("too permissive"));
    }
}
