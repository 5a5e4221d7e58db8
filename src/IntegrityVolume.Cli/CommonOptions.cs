using System.CommandLine;
using System.Globalization;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli;

/// <summary>Options shared by several commands, named and meant as in integritysetup.</summary>
internal static class CommonOptions
{
    public static Argument<string> Device() => new("device") { Description = "Device or image file holding the superblock, journal and tags." };

    public static Option<string> Integrity() => new("--integrity", "-I") { Description = "Tag algorithm: crc32c (default), crc32, xxhash64, sha1, sha256, sha512, blake2b-256, blake2s-256, hmac-sha1, hmac-sha256, hmac-sha512.", DefaultValueFactory = _ => "crc32c" };
    public static Option<string?> KeyFile() => new("--integrity-key-file") { Description = "Key file for keyed algorithms (hmac-*)." };
    public static Option<int?> KeySize() => new("--integrity-key-size") { Description = "Bytes to read from the key file (default: the whole file, at most 4096)." };
    public static Option<string?> DataDevice() => new("--data-device") { Description = "Separate data device; the positional device then holds superblock, journal and tags." };
    public static Option<ulong> ReservedSectors() => new("--reserved-sectors") { Description = "Sectors reserved before the superblock (table offset; LUKS2 data offset)." };
    public static Option<bool> Json() => new("--json") { Description = "Print the result as JSON (property names as in the PowerShell objects, camelCase)." };
    public static Option<bool> ProgressJson() => new("--progress-json") { Description = "Print progress as JSON lines on stderr." };

    /// <summary>The device, --data-device and --reserved-sectors of a command, read back as a VolumeLocation.</summary>
    internal sealed class VolumeOptions
    {
        public readonly Argument<string> Device = CommonOptions.Device();
        public readonly Option<string?> DataDevice = CommonOptions.DataDevice();
        public readonly Option<ulong> Reserved = CommonOptions.ReservedSectors();
        public readonly Option<bool> Wait = new("--wait") { Description = "When another ivol process holds the device (exit 5, DeviceInUse), wait for it instead of failing." };
        public void AddTo(Command c) { c.Arguments.Add(Device); c.Options.Add(DataDevice); c.Options.Add(Reserved); c.Options.Add(Wait); }
        public VolumeLocation Read(ParseResult p) =>
            new() { Path = p.GetValue(Device)!, DataDevicePath = p.GetValue(DataDevice), ReservedSectors = p.GetValue(Reserved), WaitForLock = p.GetValue(Wait) };
    }

    /// <summary>--integrity, --integrity-key-file and --integrity-key-size, read back as an IntegrityAlgorithmSpec.</summary>
    internal sealed class AlgorithmOptions
    {
        public readonly Option<string> Integrity = CommonOptions.Integrity();
        public readonly Option<string?> KeyFile = CommonOptions.KeyFile();
        public readonly Option<int?> KeySize = CommonOptions.KeySize();
        public void AddTo(Command c) { c.Options.Add(Integrity); c.Options.Add(KeyFile); c.Options.Add(KeySize); }
        public IntegrityAlgorithmSpec Read(ParseResult p) =>
            new() { Algorithm = p.GetValue(Integrity)!, Key = ReadKey(p.GetValue(KeyFile), p.GetValue(KeySize), "--integrity-key-file") };
    }

    /// <summary>Read a key file as integritysetup does (KeyFile in Core); a size without a file is a usage error.</summary>
    public static byte[]? ReadKey(string? path, int? size, string option)
    {
        if (path is not null) return IntegrityVolume.Core.KeyFile.Read(path, option, size);
        if (size is not null)
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument, $"{option}: a key size was given without a key file.");
        return null;
    }

    /// <summary>Sizes like 64M, 1G, 4096, 512K (binary units, as integritysetup and truncate read them).</summary>
    public static long ParseSize(string text)
    {
        text = text.Trim();
        long mult = 1;
        char last = char.ToUpperInvariant(text.Length > 0 ? text[^1] : ' ');
        if (text.EndsWith("iB", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; last = char.ToUpperInvariant(text[^1]); }
        switch (last)
        {
            case 'K': mult = 1L << 10; text = text[..^1]; break;
            case 'M': mult = 1L << 20; text = text[..^1]; break;
            case 'G': mult = 1L << 30; text = text[..^1]; break;
            case 'T': mult = 1L << 40; text = text[..^1]; break;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument, $"'{text}' is not a size (e.g. 64M, 1G, 1048576).");
        return checked(n * mult);
    }
}
