using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// LUKS2 on top of an array (issue 16): the crypttab line (crypttab(5): name, UUID= of the LUKS header, key file, luks)
/// and its replacement in an existing file, the LUKS key file checks (as cryptsetup and systemd-cryptsetup read it) and
/// the option checks, all before a device is touched. cryptsetup itself runs in tests/kernel/scenarios/23-array-luks.sh.
/// </summary>
public sealed class ArrayCryptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-crypt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string KeyFile(string name, byte[] content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Crypttab_line_names_the_luks_uuid_and_the_key_file()
    {
        Assert.Equal("data-crypt UUID=0b3c6b5e-1f0a-4a8e-9d3e-2f6a1c7b8d90 /etc/keys/data.key luks",
            ArrayCrypt.CrypttabLine("data-crypt", "0b3c6b5e-1f0a-4a8e-9d3e-2f6a1c7b8d90", "/etc/keys/data.key"));
        var e = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CrypttabLine("d", "u", "/etc/my keys/k"));
        Assert.Equal(ErrorIds.InvalidParameter, e.ErrorId);
    }

    [Fact]
    public void Crypttab_line_is_appended_to_a_new_or_other_file()
    {
        Assert.Equal("a UUID=1 /k luks\n", ArrayCrypt.CrypttabWithLine(null, "a", "a UUID=1 /k luks"));
        Assert.Equal("# comment\nother UUID=9 none luks\na UUID=1 /k luks\n",
            ArrayCrypt.CrypttabWithLine("# comment\nother UUID=9 none luks\n", "a", "a UUID=1 /k luks"));
        // No final newline in the old file: the line still starts on its own line.
        Assert.Equal("other UUID=9 none luks\na UUID=1 /k luks\n", ArrayCrypt.CrypttabWithLine("other UUID=9 none luks", "a", "a UUID=1 /k luks"));
    }

    [Fact]
    public void Crypttab_line_of_the_same_name_is_replaced_in_place_comments_kept()
    {
        string old = "# a UUID=old\nfirst UUID=5 none\n\ta   UUID=old /old luks,discard\nlast UUID=6 none\na UUID=older /k luks\n";
        Assert.Equal("# a UUID=old\nfirst UUID=5 none\na UUID=1 /k luks\nlast UUID=6 none\n",
            ArrayCrypt.CrypttabWithLine(old, "a", "a UUID=1 /k luks"));
        // A name that only starts like ours is another volume.
        Assert.Equal("ab UUID=5 none\na UUID=1 /k luks\n", ArrayCrypt.CrypttabWithLine("ab UUID=5 none\n", "a", "a UUID=1 /k luks"));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Crypttab_is_written_atomically_with_the_old_mode()
    {
        string tab = Path.Combine(_dir, "crypttab");
        File.WriteAllText(tab, "x UUID=2 none luks\na UUID=0 /old luks\n");
        File.SetUnixFileMode(tab, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        ArrayCrypt.WriteCrypttab(tab, "a", "a UUID=1 /k luks");
        Assert.Equal("x UUID=2 none luks\na UUID=1 /k luks\n", File.ReadAllText(tab));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tab));
        Assert.Single(Directory.GetFiles(_dir));   // no temporary file left
        var e = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.WriteCrypttab(Path.Combine(_dir, "no", "crypttab"), "a", "a UUID=1 /k luks"));
        Assert.Equal(ErrorIds.CrypttabWriteFailed, e.ErrorId);
    }

    [Fact]
    public void Key_file_missing_empty_or_a_directory_is_refused()
    {
        var missing = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CheckKeyFile(Path.Combine(_dir, "none"), "LUKS key file"));
        Assert.Equal((ErrorIds.KeyFileInvalid, ErrorKind.NotFound), (missing.ErrorId, missing.Kind));
        var empty = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CheckKeyFile(KeyFile("empty", []), "LUKS key file"));
        Assert.Equal((ErrorIds.KeyFileInvalid, ErrorKind.InvalidData), (empty.ErrorId, empty.Kind));
        var dir = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CheckKeyFile(_dir, "LUKS key file"));
        Assert.Equal((ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument), (dir.ErrorId, dir.Kind));
        // Larger than a dm-integrity key (4096 bytes) is fine for LUKS: cryptsetup reads up to 8 MiB.
        string big = KeyFile("big", new byte[5000]);
        Assert.DoesNotContain(ArrayCrypt.CheckKeyFile(big, "LUKS key file"), w => w.Contains("mode", StringComparison.Ordinal));
        var tooBig = Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CheckKeyFile(KeyFile("huge", new byte[ArrayCrypt.MaxKeyFileBytes + 1]), "LUKS key file"));
        Assert.Equal(ErrorIds.KeyFileInvalid, tooBig.ErrorId);
    }

    [Fact]
    public void Key_file_readable_by_others_draws_systemd_cryptsetups_warning()
    {
        string open = KeyFile("open.key", [1, 2, 3], UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.Contains(ArrayCrypt.CheckKeyFile(open, "LUKS key file"), w => w.Contains("0644", StringComparison.Ordinal) && w.Contains("systemd-cryptsetup", StringComparison.Ordinal));
        string closed = KeyFile("closed.key", [1, 2, 3]);
        Assert.DoesNotContain(ArrayCrypt.CheckKeyFile(closed, "LUKS key file"), w => w.Contains("too permissive", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_are_checked_before_any_device()
    {
        string key = KeyFile("k", [1, 2, 3]);
        string[] legs = ["d-leg0", "d-leg1"];
        Assert.Equal("d-crypt", new ArrayLuksOptions { KeyFilePath = key }.MapperName("d"));
        Assert.Equal("c", new ArrayLuksOptions { KeyFilePath = key, Name = "c" }.MapperName("d"));
        ArrayCrypt.CheckOptions(new ArrayLuksOptions { KeyFilePath = key, Pbkdf = "pbkdf2", IterTimeMs = 1 }, "d", legs);
        foreach (var (o, id) in new (ArrayLuksOptions, string)[]
        {
            (new ArrayLuksOptions { KeyFilePath = key, Pbkdf = "scrypt" }, ErrorIds.InvalidParameter),
            (new ArrayLuksOptions { KeyFilePath = key, IterTimeMs = 0 }, ErrorIds.InvalidParameter),
            (new ArrayLuksOptions { KeyFilePath = key, Name = "d-leg1" }, ErrorIds.ArrayCreateRefused),
            (new ArrayLuksOptions { KeyFilePath = Path.Combine(_dir, "none") }, ErrorIds.KeyFileInvalid),
        })
            Assert.Equal(id, Assert.Throws<IntegrityVolumeException>(() => ArrayCrypt.CheckOptions(o, "d", legs)).ErrorId);
    }

    [Fact]
    public void Create_refuses_a_missing_luks_key_file_before_touching_any_device()
    {
        string a = Path.Combine(_dir, "a.img"), b = Path.Combine(_dir, "b.img");
        using var r = new ArrayCreateRequest
        {
            Name = "lk", Devices = [a, b], Level = 1, CreateSizeBytes = 16 << 20,
            Luks = new ArrayLuksOptions { KeyFilePath = Path.Combine(_dir, "missing.key") },
        };
        var e = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.CreateArray(r));
        Assert.Equal(ErrorIds.KeyFileInvalid, e.ErrorId);
        Assert.False(File.Exists(a) || File.Exists(b));
    }
    [Fact]
    public void Per_leg_options_name_each_legs_crypt_mapping_and_refuse_a_top_name()
    {
        string key = KeyFile("k", [1, 2, 3]);
        Assert.Equal("d-leg0-crypt", ArrayLegCrypt.MapperName("d-leg0"));
        ArrayLegCrypt.CheckOptions(new ArrayLuksOptions { KeyFilePath = key, OnLegs = true }, "d", ["d-leg0", "d-leg1"]);
        var named = Assert.Throws<IntegrityVolumeException>(() =>
            ArrayLegCrypt.CheckOptions(new ArrayLuksOptions { KeyFilePath = key, OnLegs = true, Name = "top" }, "d", ["d-leg0", "d-leg1"]));
        Assert.Equal(ErrorIds.InvalidParameter, named.ErrorId);
        // Leg x's crypt mapping would be leg x-crypt itself.
        var clash = Assert.Throws<IntegrityVolumeException>(() =>
            ArrayLegCrypt.CheckOptions(new ArrayLuksOptions { KeyFilePath = key, OnLegs = true }, "d", ["x", "x-crypt"]));
        Assert.Equal(ErrorIds.ArrayCreateRefused, clash.ErrorId);
        var noKey = Assert.Throws<IntegrityVolumeException>(() =>
            ArrayLegCrypt.CheckOptions(new ArrayLuksOptions { KeyFilePath = Path.Combine(_dir, "none"), OnLegs = true }, "d", ["d-leg0", "d-leg1"]));
        Assert.Equal(ErrorIds.KeyFileInvalid, noKey.ErrorId);
    }

    [Fact]
    public void Legs_too_small_for_a_luks2_header_are_refused_before_any_write()
    {
        // A 16 MiB leg provides less than 16 MiB: cryptsetup's LUKS2 header alone takes 16 MiB.
        string a = Path.Combine(_dir, "a.img"), b = Path.Combine(_dir, "b.img");
        foreach (bool onLegs in new[] { true, false })
        {
            using var r = new ArrayCreateRequest
            {
                Name = "lk", Devices = [a, b], Level = 1, CreateSizeBytes = 16 << 20,
                Luks = new ArrayLuksOptions { KeyFilePath = KeyFile("k", [1, 2, 3]), OnLegs = onLegs },
            };
            var e = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.CreateArray(r));
            Assert.Equal(ErrorIds.ArrayCreateRefused, e.ErrorId);
            Assert.Contains("LUKS2", e.Message);
            Assert.False(File.Exists(a) || File.Exists(b));
        }
    }

    [Fact]
    public void A_leg_holds_luks_when_it_starts_with_the_luks_magic()
    {
        string luks = KeyFile("luks", [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE, 0, 2]);
        string zeros = KeyFile("zeros", new byte[4096]);
        string shortFile = KeyFile("short", [(byte)'L', (byte)'U', (byte)'K']);
        Assert.True(ArrayLegCrypt.HoldsLuks(luks));
        Assert.False(ArrayLegCrypt.HoldsLuks(zeros));
        Assert.False(ArrayLegCrypt.HoldsLuks(shortFile));
        Assert.Equal(ErrorIds.DeviceReadFailed, Assert.Throws<IntegrityVolumeException>(() => ArrayLegCrypt.HoldsLuks(Path.Combine(_dir, "gone"))).ErrorId);
    }
}
