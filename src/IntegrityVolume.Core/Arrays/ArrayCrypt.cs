using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Arrays;

/// <summary>
/// LUKS2 on top of an array (LUKS over RAID over integrity legs, docs/stack-order.md) or on every leg (<see cref="OnLegs"/>):
/// what create and open take.
/// The key never passes through us: cryptsetup reads the key file itself.
/// </summary>
public sealed record ArrayLuksOptions
{
    /// <summary>The LUKS key file (cryptsetup --key-file; written into the crypttab line as its path).</summary>
    public required string KeyFilePath { get; init; }
    /// <summary>Device-mapper name of the crypt mapping; null = NAME-crypt.</summary>
    public string? Name { get; init; }
    /// <summary>Add (or replace) the crypt mapping's line in this crypttab (created when missing); null: none written. Create only.</summary>
    public string? CrypttabPath { get; init; }
    /// <summary>cryptsetup --pbkdf (argon2id, argon2i, pbkdf2); null = cryptsetup's default. Create only.</summary>
    public string? Pbkdf { get; init; }
    /// <summary>cryptsetup --iter-time in milliseconds (unlock time the key slot is tuned for); null = cryptsetup's default. Create only.</summary>
    public int? IterTimeMs { get; init; }
    /// <summary>
    /// RAID over per-leg LUKS: every leg's integrity mapping gets its own LUKS2 header (this key file), opened as
    /// LEGNAME-crypt, and md goes over the crypt mappings (one encryption per leg copy). Create only: open finds the order
    /// on the devices.
    /// </summary>
    public bool OnLegs { get; init; }

    /// <summary>The crypt mapping's name for array <paramref name="array"/>.</summary>
    public string MapperName(string array) => Name ?? ArrayCrypt.DefaultName(array);
}

/// <summary>
/// The crypt layer of an array through the real cryptsetup: luksFormat and open on /dev/md/NAME, close, the crypttab
/// line systemd-cryptsetup reads at boot. The key file is checked as systemd would read it (exists, not empty, mode).
/// </summary>
internal static class ArrayCrypt
{
    /// <summary>How long one cryptsetup run may take (a hang limit: luksFormat benchmarks the PBKDF for about 2 s).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>cryptsetup's default --keyfile-size limit (8 MiB): a larger file is refused by cryptsetup itself.</summary>
    public const long MaxKeyFileBytes = 8L << 20;

    /// <summary>cryptsetup's default LUKS2 header (metadata and key slots) at the start of the device: 16 MiB.</summary>
    public const long Luks2HeaderBytes = 16L << 20;

    private static readonly string[] Pbkdfs = { "argon2id", "argon2i", "pbkdf2" };

    /// <summary>NAME-crypt.</summary>
    public static string DefaultName(string array) => array + "-crypt";

    /// <summary>cryptsetup's full path; CryptsetupMissing when it is not installed.</summary>
    public static string Require(string target) =>
        ToolProcess.Find("cryptsetup") ?? throw new IntegrityVolumeException(ErrorIds.CryptsetupMissing, ErrorKind.NotSupported,
            $"{target}: cryptsetup is not installed (Debian/Ubuntu: apt-get install cryptsetup-bin).", target);

    /// <summary>Run cryptsetup (LC_ALL=C, no stdin); its stdout. CryptsetupMissing / CryptsetupFailed with its words.</summary>
    public static string Run(IEnumerable<string> args, string target, CancellationToken ct) =>
        ToolProcess.RunChecked(Require(target), args, null, target, Timeout, ct, ErrorIds.CryptsetupMissing, ErrorIds.CryptsetupFailed).Output;

    /// <summary>
    /// The options alone, before any device is looked at: the mapping name (valid, not one of the legs'), PBKDF,
    /// iteration time, a crypttab key path without whitespace, the key file (as systemd-cryptsetup reads it; its warnings returned).
    /// </summary>
    public static List<string> CheckOptions(ArrayLuksOptions o, string array, IReadOnlyCollection<string> legNames)
    {
        string name = o.MapperName(array);
        DeviceMapperClient.ValidateName(name);
        if (legNames.Contains(name, StringComparer.Ordinal))
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                $"The crypt mapping's name {name} is also a leg's name.", name);
        if (o.Pbkdf is { } p && !Pbkdfs.Contains(p, StringComparer.Ordinal))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"PBKDF '{p}': cryptsetup takes {string.Join(", ", Pbkdfs)}.", array);
        if (o.IterTimeMs is < 1)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Iteration time {o.IterTimeMs} ms: give at least 1 ms.", array);
        if (o.CrypttabPath is not null && o.KeyFilePath.Any(char.IsWhiteSpace))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"LUKS key file '{o.KeyFilePath}': crypttab fields are separated by whitespace, so its path cannot hold any.", array);
        return CheckKeyFile(o.KeyFilePath, "LUKS key file");
    }

    /// <summary>What the system must offer: the mapping name free, cryptsetup installed.</summary>
    public static void CheckSystem(ArrayLuksOptions o, string array)
    {
        ArrayCreate.RequireFreeMapperName(o.MapperName(array));
        Require(array);
    }

    /// <summary>
    /// The LUKS key file as cryptsetup and systemd-cryptsetup read it: a readable regular file (or device), not empty,
    /// at most 8 MiB (cryptsetup's default limit); KeyFileInvalid otherwise. Warnings: mode open to others, not owned by root.
    /// </summary>
    public static List<string> CheckKeyFile(string path, string what)
    {
        if (string.IsNullOrEmpty(path))
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument, $"{what}: the path is empty.", path);
        if (Directory.Exists(path))
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument, $"{what}: '{path}' is a directory, not a key file.", path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            if (fs.ReadByte() < 0)
                throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidData, $"{what}: '{path}' is empty.", path);
            if (fs.CanSeek && fs.Length > MaxKeyFileBytes)
                throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidData,
                    $"{what}: '{path}' is larger than {MaxKeyFileBytes >> 20} MiB, cryptsetup's key file limit.", path);
        }
        catch (FileNotFoundException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.NotFound, $"{what}: key file '{path}' not found.", path, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.NotFound, $"{what}: key file '{path}' not found.", path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.PermissionDenied, $"{what}: key file '{path}' cannot be read ({ex.Message}).", path, ex);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidData, $"{what}: key file '{path}' cannot be read ({ex.Message}).", path, ex);
        }
        return SystemdIntegritysetup.KeyFileWarnings(path, "systemd-cryptsetup").ToList();
    }

    /// <summary>cryptsetup luksFormat --type luks2 on <paramref name="device"/> (batch mode: the array was just created by us).</summary>
    public static void Format(string device, ArrayLuksOptions o, CancellationToken ct)
    {
        var args = new List<string> { "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", o.KeyFilePath };
        if (o.Pbkdf is { } p) { args.Add("--pbkdf"); args.Add(p); }
        if (o.IterTimeMs is int ms) { args.Add("--iter-time"); args.Add(ms.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
        args.Add(device);
        Run(args, device, ct);
    }

    /// <summary>cryptsetup open --type luks: /dev/mapper/NAME (cryptsetup makes the node itself when udev does not run).</summary>
    public static void Open(string device, string name, string keyFile, CancellationToken ct) =>
        Run(new[] { "open", "--type", "luks", "--key-file", keyFile, device, name }, device, ct);

    /// <summary>
    /// Whether <paramref name="keyFile"/> opens a key slot of <paramref name="device"/>'s LUKS header (cryptsetup open
    /// --test-passphrase: exit 0 yes, 2 no key slot opens; no mapping is made). Other failures are CryptsetupFailed.
    /// </summary>
    public static bool KeyOpens(string device, string keyFile, CancellationToken ct)
    {
        var r = RunForExitCode(new[] { "open", "--test-passphrase", "--key-file", keyFile, device }, device, ct);
        return r.ExitCode switch
        {
            0 => true,
            2 => false,
            _ => throw new IntegrityVolumeException(ErrorIds.CryptsetupFailed, ErrorKind.DeviceError,
                $"{device}: cryptsetup open --test-passphrase exited {r.ExitCode}: {r.Errors.Trim()}", device),
        };
    }

    /// <summary>Whether <paramref name="device"/> holds a LUKS header (cryptsetup isLuks: exit 0 yes, 1 no).</summary>
    public static bool IsLuks(string device, CancellationToken ct) => RunForExitCode(new[] { "isLuks", device }, device, ct).ExitCode == 0;

    /// <summary>Run cryptsetup where its exit code is the answer (isLuks, --test-passphrase): CryptsetupMissing / CryptsetupFailed only when it cannot run.</summary>
    private static ToolRun RunForExitCode(IEnumerable<string> args, string device, CancellationToken ct)
    {
        string exe = Require(device);
        try { return ToolProcess.Run(exe, args, null, Timeout, ct); }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new IntegrityVolumeException(ErrorIds.CryptsetupMissing, ErrorKind.NotSupported, $"{device}: cryptsetup could not be started ({ex.Message}).", device, ex);
        }
        catch (TimeoutException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.CryptsetupFailed, ErrorKind.DeviceError, $"{device}: {ex.Message}", device);
        }
    }

    /// <summary>The LUKS header's UUID (cryptsetup luksUUID): what crypttab's UUID= names.</summary>
    public static string Uuid(string device, CancellationToken ct) =>
        Run(new[] { "luksUUID", device }, device, ct).Trim() is { Length: > 0 } u ? u
            : throw new IntegrityVolumeException(ErrorIds.CryptsetupFailed, ErrorKind.DeviceError, $"{device}: cryptsetup luksUUID printed nothing.", device);

    /// <summary>cryptsetup close NAME.</summary>
    public static void Close(string name, CancellationToken ct) => Run(new[] { "close", name }, name, ct);

    /// <summary>Whether the dm device of kernel name <paramref name="kernelName"/> (dm-N) is a dm-crypt mapping made by cryptsetup (dm uuid CRYPT-...).</summary>
    public static bool IsCryptMapping(string kernelName) =>
        MdSysfs.Read(System.IO.Path.Combine("/sys/class/block", kernelName, "dm"), "uuid") is { } uuid && uuid.StartsWith("CRYPT-", StringComparison.Ordinal);

    /// <summary>The crypttab line of the crypt layer: NAME UUID=... KEYFILE luks (crypttab(5); the UUID is the LUKS header's).</summary>
    public static string CrypttabLine(string name, string luksUuid, string keyFile)
    {
        if (keyFile.Any(char.IsWhiteSpace))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Key file '{keyFile}': crypttab fields are separated by whitespace, so its path cannot hold any.", keyFile);
        return $"{name} UUID={luksUuid} {keyFile} luks";
    }

    /// <summary>
    /// <paramref name="text"/> (a crypttab, or null for a new one) with <paramref name="line"/> replacing every line of the
    /// same volume name (the first field; comments and other lines kept as they are) or appended.
    /// </summary>
    public static string CrypttabWithLine(string? text, string name, string line)
    {
        var lines = (text ?? "").Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);   // the final newline
        int at = -1;
        for (int i = lines.Count - 1; i >= 0; i--)
        {
            var t = lines[i].TrimStart();
            if (t.StartsWith('#')) continue;
            if (t.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries) is [var first, ..] && first == name)
            {
                lines.RemoveAt(i);
                at = i;
            }
        }
        if (at < 0) lines.Add(line);
        else lines.Insert(at, line);
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>Write the crypt layer's line into <paramref name="path"/> atomically (BootFile); CrypttabWriteFailed.</summary>
    public static void WriteCrypttab(string path, string name, string line)
    {
        string? text;
        try { text = File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IntegrityVolumeException(ErrorIds.CrypttabWriteFailed, ErrorKind.DeviceError, $"{path}: {ex.Message}", path, ex);
        }
        BootFile.WriteAtomically(path, CrypttabWithLine(text, name, line), ErrorIds.CrypttabWriteFailed);
    }

    /// <summary>Where a device of this number is mounted (/proc/self/mountinfo's major:minor), or null.</summary>
    public static string? MountPointOf(string? deviceNumber)
    {
        if (deviceNumber is null || !File.Exists("/proc/self/mountinfo")) return null;
        foreach (var l in File.ReadLines("/proc/self/mountinfo"))
            if (l.Split(' ') is { Length: > 4 } f && f[2] == deviceNumber) return f[4];
        return null;
    }
}
