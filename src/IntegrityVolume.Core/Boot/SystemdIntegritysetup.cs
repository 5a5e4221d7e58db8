using System.Globalization;
using System.Text.RegularExpressions;

namespace IntegrityVolume.Core.Boot;

/// <summary>
/// What a given systemd's systemd-integritysetup accepts (src/integritysetup/integrity-util.c by version), the
/// installed version, and its key-file rules (read_full_file with READ_FULL_FILE_WARN_WORLD_READABLE).
/// </summary>
public static partial class SystemdIntegritysetup
{
    /// <summary>
    /// integrity-algorithm= names by systemd version: v250 (the first, supported_integrity_algorithm) crc32, crc32c,
    /// sha1, sha256, hmac-sha256; v257 adds xxhash64; v259 adds hmac-sha512, phmac-sha256, phmac-sha512. Older (or
    /// unknown) versions: the v250 list; null version: every name some version accepts.
    /// </summary>
    public static IReadOnlyList<string> AlgorithmsFor(int? version)
    {
        if (version is null) return IntegrityTabEntry.SystemdAlgorithms;
        var list = new List<string> { "crc32", "crc32c", "sha1", "sha256", "hmac-sha256" };
        if (version >= 257) list.Add("xxhash64");
        if (version >= 259) list.AddRange(new[] { "hmac-sha512", "phmac-sha256", "phmac-sha512" });
        return list;
    }

    /// <summary>The first systemd version whose systemd-integritysetup accepts <paramref name="algorithm"/>; null if none.</summary>
    public static int? FirstVersionAccepting(string algorithm) =>
        AlgorithmsFor(250).Contains(algorithm) ? 250 : AlgorithmsFor(257).Contains(algorithm) ? 257 : AlgorithmsFor(259).Contains(algorithm) ? 259 : null;

    /// <summary>
    /// The installed systemd's version, from its shared library's name (libsystemd-shared-252.so, in /usr/lib/systemd
    /// or the multiarch /usr/lib/&lt;triplet&gt;/systemd); null when none is found.
    /// </summary>
    public static int? InstalledVersion(string root = "/")
    {
        var dirs = new List<string> { Path.Combine(root, "usr/lib/systemd"), Path.Combine(root, "lib/systemd") };
        try
        {
            foreach (var d in Directory.EnumerateDirectories(Path.Combine(root, "usr/lib")))
                if (Directory.Exists(Path.Combine(d, "systemd"))) dirs.Add(Path.Combine(d, "systemd"));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        int? best = null;
        foreach (var dir in dirs.Distinct())
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir, "libsystemd-shared-*.so"))
                if (SharedLibrary().Match(Path.GetFileName(f)) is { Success: true } m &&
                    int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
                    best = Math.Max(best ?? 0, v);
        }
        return best;
    }

    [GeneratedRegex(@"^libsystemd-shared-(\d+)")]
    private static partial Regex SharedLibrary();

    /// <summary>
    /// systemd-integritysetup's key-file findings: it reads the file with READ_FULL_FILE_WARN_WORLD_READABLE, so any
    /// access bit for others gets "has 0644 mode that is too permissive, please adjust the ownership and access mode";
    /// a key file not owned by root is flagged too (anyone owning it can change the key a boot reads).
    /// </summary>
    public static IEnumerable<string> KeyFileWarnings(string keyFile) => KeyFileWarnings(keyFile, "systemd-integritysetup");

    /// <summary>The same findings for <paramref name="tool"/> (systemd-cryptsetup reads crypttab key files the same way).</summary>
    public static IEnumerable<string> KeyFileWarnings(string keyFile, string tool)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(keyFile)) yield break;
        var mode = File.GetUnixFileMode(keyFile);
        var others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & others) != 0)
            yield return $"Key file {keyFile} has {Octal(mode)} mode that is too permissive ({tool} warns so at boot); chmod 0600 it and make root its owner.";
        if (Devices.NativeMethods.OwnerUid(keyFile) is uint uid && uid != 0)
            yield return $"Key file {keyFile} is owned by uid {uid}, not root: its owner can change the key the boot reads; chown root it.";
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0xFFF, 8).PadLeft(4, '0');
}
