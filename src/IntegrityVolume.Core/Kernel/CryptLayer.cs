using System.Globalization;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// A dm-crypt mapping that provides the tags of the dm-integrity mapping below it (LUKS2 luksFormat --integrity:
/// NAME over NAME_dif; the crypt table's "integrity:&lt;bytes&gt;:&lt;type&gt;" option). Never holds key material:
/// only where the key lives and its size.
/// </summary>
public sealed record CryptLayerInfo
{
    public required string Name { get; init; }
    public required string DeviceNumber { get; init; }
    public required string Path { get; init; }
    /// <summary>The table's cipher spec (kernel spelling, e.g. capi:authenc(hmac(sha256),xts(aes))-plain64).</summary>
    public required string Cipher { get; init; }
    /// <summary>The integrity type of the crypt table: aead (the cipher authenticates) or none.</summary>
    public required string Integrity { get; init; }
    /// <summary>Bytes of metadata per sector dm-crypt keeps in the integrity tags (auth tag + stored IV).</summary>
    public required int IntegrityTagBytes { get; init; }
    /// <summary>dm-crypt's sector size (sector_size option; 512 by default).</summary>
    public required int SectorSize { get; init; }
    /// <summary>"keyring" (the table names a kernel keyring entry) or "table" (the key is in the table).</summary>
    public required string KeyLocation { get; init; }
    public int KeyBytes { get; init; }
    public required ulong SizeSectors { get; init; }
    /// <summary>The device below the crypt mapping (major:minor): the dm-integrity mapping.</summary>
    public required string UnderlyingDevice { get; init; }
}

/// <summary>The crypt target's table line and the sysfs holder links that find the crypt mapping above a device.</summary>
public static class CryptLayers
{
    public const string TargetType = "crypt";

    /// <summary>
    /// Parse a crypt table (&lt;cipher&gt; &lt;key&gt; &lt;iv_offset&gt; &lt;device&gt; &lt;offset&gt; [&lt;#opt&gt; &lt;opt&gt;...],
    /// dm-crypt's crypt_ctr); null when it is not one with integrity (no "integrity:" option).
    /// </summary>
    public static CryptLayerInfo? Parse(string name, DeviceNumber dev, DmTarget t)
    {
        if (t.TargetType != TargetType) return null;
        var p = t.Parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (p.Length < 5) return null;
        string? integrity = null;
        int tagBytes = 0, sectorSize = 512;
        if (p.Length > 5 && int.TryParse(p[5], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            foreach (string opt in p.Skip(6).Take(n))
            {
                if (opt.StartsWith("integrity:", StringComparison.Ordinal))
                {
                    var f = opt.Split(':');
                    if (f.Length == 3 && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out tagBytes)) integrity = f[2];
                }
                else if (opt.StartsWith("sector_size:", StringComparison.Ordinal))
                    int.TryParse(opt["sector_size:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out sectorSize);
            }
        if (integrity is null) return null;
        // A key ":<size>:<type>:<description>" is a keyring reference; otherwise hex (masked by GetTable).
        string key = p[1];
        int keyBytes = key.StartsWith(':') && key.Split(':') is { Length: >= 3 } k && int.TryParse(k[1], NumberStyles.None, CultureInfo.InvariantCulture, out int kb)
            ? kb : key == "-" ? 0 : key.Length / 2;
        return new CryptLayerInfo
        {
            Name = name, DeviceNumber = dev.ToString(), Path = DeviceNodes.MapperPath(name), Cipher = p[0], Integrity = integrity,
            IntegrityTagBytes = tagBytes, SectorSize = sectorSize, KeyLocation = key.StartsWith(':') ? "keyring" : "table",
            KeyBytes = keyBytes, SizeSectors = t.Length, UnderlyingDevice = p[3],
        };
    }

    /// <summary>The crypt mapping <paramref name="name"/> when it has integrity, else null.</summary>
    public static CryptLayerInfo? Describe(DeviceMapperClient dm, string name)
    {
        var info = dm.GetInfo(name);
        if (info is null || !info.LiveTablePresent) return null;
        var table = dm.GetTable(name);
        return table.Count == 1 ? Parse(name, info.Device, table[0]) : null;
    }

    /// <summary>The payload offset (sectors of the device below) of crypt mapping <paramref name="name"/>'s one-target table; null otherwise.</summary>
    public static ulong? PayloadOffset(string name)
    {
        try
        {
            using var dm = DeviceMapperClient.Open();
            return dm.GetTable(name) is [{ TargetType: TargetType } t] && t.Underlying() is { } u ? u.Offset : null;
        }
        catch (IntegrityVolumeException) { return null; }   // removed meanwhile, or no device-mapper
    }

    /// <summary>The crypt mapping that holds <paramref name="dev"/> (/sys/dev/block/M:m/holders) and maps it, or null.</summary>
    public static CryptLayerInfo? Above(DeviceMapperClient dm, DeviceNumber dev)
    {
        foreach (string h in DeviceNodes.Holders(dev))
        {
            if (DeviceNodes.MapperNameOf(h) is not { } name) continue;
            try
            {
                if (Describe(dm, name) is { } c && DeviceNumber.Of(c.UnderlyingDevice) == dev) return c;
            }
            catch (IntegrityVolumeException) { }   // removed meanwhile
        }
        return null;
    }
}
