using IntegrityVolume.Core.Hashing;
using System.Security.Cryptography;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Operations;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Kernel;

/// <summary>
/// Host-side checks of the kernel formatter (no device-mapper needed): the 8-sector format table equals what
/// integritysetup loads for every fixture's format options, and without device-mapper the formatter fails with a
/// clean DeviceMapperUnavailable and leaves the image untouched. The real format runs in the guest
/// (tests/kernel/scenarios/11-kernel-format-compare.sh).
/// </summary>
public class KernelFormatterTests
{
    /// <summary>
    /// The table integritysetup 2.6.1 passes to libdevmapper for `integritysetup format --batch-mode &lt;loop&gt;
    /// &lt;format_options&gt;` of each fixture, captured in the test guest (Debian 12, kernel 6.1, dm-integrity 1.10)
    /// with gdb on dm_task_add_target (the temporary device of 8 sectors; strace hides DM_SECURE_DATA_FLAG payloads).
    /// The metadata device was /dev/loop0, p10's data device /dev/loop1. The integrity key is zeroed by integritysetup.
    /// </summary>
    private static readonly Dictionary<string, string> IntegritysetupFormatTables = new()
    {
        ["p01"] = "0 8 integrity /dev/loop0 0 4 J 4 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
        ["p02"] = "0 8 integrity /dev/loop0 0 4 J 5 interleave_sectors:4096 block_size:4096 internal_hash:crc32c fix_padding fix_hmac",
        ["p03"] = "0 8 integrity /dev/loop0 0 32 J 4 block_size:4096 internal_hash:sha256 fix_padding fix_hmac",
        ["p04"] = "0 8 integrity /dev/loop0 0 32 J 4 block_size:4096 internal_hash:hmac(sha256):0000000000000000000000000000000000000000000000000000000000000000 fix_padding fix_hmac",
        ["p05b"] = "0 8 integrity /dev/loop0 0 4 J 3 block_size:512 internal_hash:crc32 fix_padding",
        ["p06"] = "0 8 integrity /dev/loop0 0 20 J 4 interleave_sectors:2048 block_size:512 internal_hash:sha1 fix_hmac",
        ["p07"] = "0 8 integrity /dev/loop0 0 8 J 4 block_size:4096 internal_hash:xxhash64 fix_padding fix_hmac",
        ["p08"] = "0 8 integrity /dev/loop0 0 4 J 5 interleave_sectors:4096 block_size:4096 internal_hash:crc32c fix_padding fix_hmac",
        ["p09"] = "0 8 integrity /dev/loop0 0 4 J 5 journal_sectors:4096 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
        ["p10"] = "0 8 integrity /dev/loop1 0 4 J 5 block_size:4096 internal_hash:crc32c fix_padding fix_hmac meta_device:/dev/loop0",
        ["p11"] = "0 8 integrity /dev/loop0 0 4 J 4 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
        ["p12"] = "0 8 integrity /dev/loop0 0 4 J 4 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
        ["p12b"] = "0 8 integrity /dev/loop0 0 4 J 4 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
        ["p13"] = "0 8 integrity /dev/loop0 0 4 J 5 block_size:512 internal_hash:crc32c journal_mac:hmac(sha256):a02d1cd176ab75640617cfd72e969c24f216db2487ba0a72ea929bd6876f382e fix_padding fix_hmac",
        ["p16"] = "0 8 integrity /dev/loop0 0 4 J 4 block_size:512 internal_hash:crc32c fix_padding fix_hmac",
    };

    public static IEnumerable<object[]> IntegritysetupFormatted() =>
        FixtureCase.AllIds().Where(IntegritysetupFormatTables.ContainsKey).Select(id => new object[] { id });

    /// <summary>integritysetup format options of a fixture → the request `ivol format --kernel` builds from the same flags.</summary>
    private static FormatRequest Translate(FixtureCase c, out bool separateData)
    {
        var o = c.FormatOptions;
        var r = new FormatRequest { Volume = new VolumeLocation { Path = "/dev/loop0" } };
        separateData = false;
        for (int i = 0; i < o.Length; i++)
        {
            string Next() => o[++i];
            switch (o[i])
            {
                case "--integrity": r = r with { Integrity = r.Integrity with { Algorithm = TagAlgorithm.Parse(Next()) } }; break;
                case "--integrity-key-file": r = r with { Integrity = r.Integrity with { Key = TestKey.Of(c.Key) } }; Next(); break;
                case "--journal-integrity": r = r with { JournalIntegrity = TagAlgorithm.Parse(Next()) }; break;
                case "--journal-integrity-key-file": r = r with { JournalIntegrityKey = TestKey.Of(c.JournalKey) }; Next(); break;
                case "--integrity-key-size" or "--journal-integrity-key-size": Next(); break;
                case "--sector-size": r = r with { SectorSize = int.Parse(Next()) }; break;
                case "--tag-size": r = r with { TagSize = int.Parse(Next()) }; break;
                case "--interleave-sectors": r = r with { InterleaveSectors = ulong.Parse(Next()) }; break;
                case "--journal-size": r = r with { JournalSizeBytes = long.Parse(Next()) }; break;
                case "--integrity-legacy-padding": r = r with { LegacyPadding = true }; break;
                case "--integrity-legacy-hmac": r = r with { LegacyHmac = true }; break;
                case "--no-wipe": r = r with { NoWipe = true }; break;
                case "--integrity-bitmap-mode": break;   // no effect on the format table (the mode is chosen at open)
                case "--data-device": r = r with { Volume = r.Volume with { DataDevicePath = "/dev/loop1" } }; separateData = true; Next(); break;
                default: throw new InvalidOperationException($"{c.Id}: format option {o[i]} not translated");
            }
        }
        return r;
    }

    [Theory]
    [MemberData(nameof(IntegritysetupFormatted))]
    public void FormatTableEqualsWhatIntegritysetupLoads(string id)
    {
        var c = new FixtureCase(id);
        var request = Translate(c, out bool separate);
        string ours = KernelFormatter.FormatTable(request, "/dev/loop0", separate ? "/dev/loop1" : null, KeyRendering.Clear);
        string theirs = IntegritysetupFormatTables[id];
        if (request.LegacyPadding && request.LegacyHmac)
        {
            // integritysetup 2.6 sets compatibility flags by assignment, so only --integrity-legacy-hmac takes effect
            // (fixture README: p05b got FIXED_PADDING). We honour both flags: the same table without fix_padding.
            Assert.Equal(theirs.Replace(" J 3 ", " J 2 ").Replace(" fix_padding", ""), ours);
            return;
        }
        Assert.Equal(theirs, ours);
        // ... and it is a well-formed dm-integrity table of 8 sectors in journal mode.
        var t = IntegrityTable.Parse(ours);
        Assert.Equal(8UL, t.Length);
        Assert.Equal(IntegrityMode.Journal, t.Mode);
    }

    [Fact]
    public void FormatTableZeroesTheIntegrityKeyAndCarriesBitmapGranularityAsSectorsPerBit()
    {
        var request = new FormatRequest
        {
            Volume = new VolumeLocation { Path = "/dev/sdx", ReservedSectors = 4096 },
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = new IntegrityKey(Enumerable.Repeat((byte)0xAB, 32).ToArray()) },
            BitmapSectorsPerBit = 1024, InterleaveSectors = 8192, JournalSizeBytes = 1 << 20,
        };
        string table = KernelFormatter.FormatTable(request, "8:16", keys: KeyRendering.Clear);
        Assert.Equal("0 8 integrity 8:16 4096 32 J 7 journal_sectors:2048 sectors_per_bit:1024 interleave_sectors:8192 block_size:512 " +
                     "internal_hash:hmac(sha256):" + new string('0', 64) + " fix_padding fix_hmac", table);
        Assert.DoesNotContain("ab", table, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("journal_watermark", table);
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void WithoutDeviceMapperTheFormatFailsCleanlyAndWritesNothing()
    {
        using var img = new TempFile(".img");
        var bytes = new byte[4 << 20];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(img.Path, bytes);
        string before = Sha256(img.Path);
        var mtime = File.GetLastWriteTimeUtc(img.Path);
        var request = new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 4 << 20, Force = true };

        var ex = Assert.Throws<IntegrityVolumeException>(() =>
            KernelFormatter.Format(request, null, default, "/nonexistent-ivol-test/mapper/control"));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        Assert.Equal(ErrorKind.NotSupported, ex.Kind);
        Assert.Equal(before, Sha256(img.Path));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(img.Path));

        // A new image is not even created.
        string fresh = img.Path + ".new";
        var ex2 = Assert.Throws<IntegrityVolumeException>(() => KernelFormatter.Format(
            new FormatRequest { Volume = new VolumeLocation { Path = fresh }, CreateSizeBytes = 4 << 20 }, null, default, "/nonexistent-ivol-test/mapper/control"));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex2.ErrorId);
        Assert.False(File.Exists(fresh));
    }

    [Fact]
    public void OnAHostWithoutDeviceMapperThePublicEntryPointSaysSo()
    {
        if (File.Exists(DeviceMapperClient.DefaultControlPath) || Directory.Exists("/sys/class/misc/device-mapper"))
            return;   // this machine has device-mapper: the guest scenario covers the real thing
        using var img = new TempFile(".img");
        File.WriteAllBytes(img.Path, new byte[4 << 20]);
        string before = Sha256(img.Path);
        var ex = Assert.Throws<IntegrityVolumeException>(() => KernelFormatter.Format(
            new FormatRequest { Volume = new VolumeLocation { Path = img.Path } }));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        Assert.Equal(before, Sha256(img.Path));
    }

    [Fact]
    public void RefusesLikeTheUserspaceFormatterBeforeTouchingTheKernel()
    {
        const string noDm = "/nonexistent-ivol-test/mapper/control";
        // An integrity superblock is a signature: refused without --force (checked before device-mapper).
        using var img = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 4 << 20, Force = true });
        string before = Sha256(img.Path);
        var sig = Assert.Throws<IntegrityVolumeException>(() =>
            KernelFormatter.Format(new FormatRequest { Volume = new VolumeLocation { Path = img.Path } }, null, default, noDm));
        Assert.Equal(ErrorIds.ExistingSignature, sig.ErrorId);
        // A size asks for a new file: an existing one needs --force.
        var exists = Assert.Throws<IntegrityVolumeException>(() => KernelFormatter.Format(
            new FormatRequest { Volume = new VolumeLocation { Path = img.Path }, CreateSizeBytes = 4 << 20 }, null, default, noDm));
        Assert.Equal(ErrorIds.FileExists, exists.ErrorId);
        // Keyed algorithm without a key, and a salt (the kernel chooses it).
        var key = Assert.Throws<IntegrityVolumeException>(() => KernelFormatter.Format(new FormatRequest
        {
            Volume = new VolumeLocation { Path = img.Path }, Force = true, Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256") },
        }, null, default, noDm));
        Assert.Equal(ErrorIds.KeyRequired, key.ErrorId);
        var salt = Assert.Throws<IntegrityVolumeException>(() => KernelFormatter.Format(new FormatRequest
        {
            Volume = new VolumeLocation { Path = img.Path }, Force = true, Salt = new byte[16],
        }, null, default, noDm));
        Assert.Equal(ErrorIds.InvalidParameter, salt.ErrorId);
        Assert.Equal(before, Sha256(img.Path));
    }
}
