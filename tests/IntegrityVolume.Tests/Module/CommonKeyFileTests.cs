using IntegrityVolume.Core;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

public sealed class CommonKeyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-key-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void The_whole_file_is_the_key_byte_for_byte()
    {
        var bytes = new byte[] { 0x00, 0x0A, 0xFF, 0x20, 0x0D, 0x0A };   // NULs and newlines are key material, not trimmed
        Assert.Equal(bytes, KeyFile.Read(Write("k", bytes), "-KeyFile").Span.ToArray());
    }

    [Fact]
    public void A_key_of_exactly_the_limit_is_accepted()
    {
        var bytes = Enumerable.Range(0, KeyFile.MaxBytes).Select(i => (byte)i).ToArray();
        Assert.Equal(4096, KeyFile.MaxBytes);
        Assert.Equal(bytes, KeyFile.Read(Write("k", bytes), "-KeyFile").Span.ToArray());
    }

    [Fact]
    public void A_larger_file_is_KeyFileInvalid()
    {
        string path = Write("big", new byte[KeyFile.MaxBytes + 1]);
        var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read(path, "-KeyFile"));
        Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, ex.Kind);
        Assert.Equal(path, ex.Target);
        Assert.Contains("-KeyFile", ex.Message);
        Assert.Contains("4096", ex.Message);
    }

    [Fact]
    public void An_empty_file_is_KeyFileInvalid()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read(Write("empty", Array.Empty<byte>()), "-JournalIntegrityKeyFile"));
        Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, ex.Kind);
        Assert.Contains("-JournalIntegrityKeyFile", ex.Message);
    }

    [Fact]
    public void A_missing_file_is_KeyFileInvalid_NotFound()
    {
        string path = Path.Combine(_dir, "nope", "key.bin");
        var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read(path, "-KeyFile"));
        Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Equal(ErrorKind.NotFound, ex.Kind);
        Assert.Equal(path, ex.Target);
    }

    [Fact]
    public void A_directory_is_KeyFileInvalid()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read(_dir, "-KeyFile"));
        Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void Character_devices_with_unknown_length_are_read_up_to_the_limit()
    {
        // /dev/zero reports length 0 and never ends: the reader must stop after MaxBytes + 1 and refuse it.
        if (!File.Exists("/dev/zero")) return;
        var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read("/dev/zero", "-KeyFile"));
        Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public void An_unreadable_file_is_KeyFileInvalid_PermissionDenied()
    {
        string path = Write("secret", new byte[] { 1, 2, 3 });
        File.SetUnixFileMode(path, UnixFileMode.None);
        try
        {
            // root reads anything: nothing to check then.
            if (TryRead(path)) return;
            var ex = Assert.Throws<IntegrityVolumeException>(() => KeyFile.Read(path, "-KeyFile"));
            Assert.Equal(ErrorIds.KeyFileInvalid, ex.ErrorId);
            Assert.Equal(ErrorKind.PermissionDenied, ex.Kind);
        }
        finally
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static bool TryRead(string path)
    {
        try { File.ReadAllBytes(path); return true; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
