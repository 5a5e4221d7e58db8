using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Arrays;

/// <summary>One leg's crypt layer (RAID over per-leg LUKS): its mapping over the leg's integrity mapping, the LUKS UUID, the crypttab line.</summary>
public sealed record ArrayLegCryptInfo
{
    /// <summary>LEGNAME-crypt: the md member.</summary>
    public required string Name { get; init; }
    public required string Path { get; init; }
    /// <summary>cryptsetup luksUUID of the leg's integrity mapping (what the crypttab line's UUID= names).</summary>
    public required string LuksUuid { get; init; }
}

/// <summary>
/// RAID over per-leg LUKS over integrity (docs/stack-order.md): every leg's integrity mapping carries its own LUKS2
/// header (one key file for all), opened as LEGNAME-crypt, and md goes over the crypt mappings. A bad block is still an
/// integrity read error below dm-crypt, which passes it up to md; md rewrites it through the leg's crypt mapping. The
/// real cryptsetup does the LUKS work; the key never passes through us.
/// </summary>
internal static class ArrayLegCrypt
{
    /// <summary>The crypt mapping's name of leg <paramref name="legName"/>: LEGNAME-crypt.</summary>
    public static string MapperName(string legName) => legName + "-crypt";

    /// <summary>
    /// The options for crypt mappings on the legs: no --luks-name (each leg's is LEGNAME-crypt), valid names that are
    /// no leg's; the key file as ArrayCrypt checks it (its warnings returned).
    /// </summary>
    public static List<string> CheckOptions(ArrayLuksOptions o, string array, IReadOnlyList<string> legNames)
    {
        if (o.Name is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"--luks-name names the crypt mapping on top of the array; with LUKS on every leg each leg's crypt mapping is LEGNAME-crypt (name the legs instead).", array);
        foreach (var name in legNames.Select(MapperName))
        {
            DeviceMapperClient.ValidateName(name);
            if (legNames.Contains(name, StringComparer.Ordinal))
                throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                    $"The crypt mapping's name {name} is also a leg's name.", name);
        }
        return ArrayCrypt.CheckOptions(o with { Name = MapperName(legNames[0]) }, array, legNames);
    }

    /// <summary>Every leg's crypt mapping name free, cryptsetup installed.</summary>
    public static void CheckSystem(string array, IEnumerable<string> legNames)
    {
        foreach (var name in legNames.Select(MapperName)) ArrayCreate.RequireFreeMapperName(name);
        ArrayCrypt.Require(array);
    }

    /// <summary>
    /// luksFormat every open leg mapping and open it as LEGNAME-crypt, adding each opened crypt name to
    /// <paramref name="opened"/> (for the caller's undo).
    /// </summary>
    public static List<ArrayLegCryptInfo> FormatAndOpen(IReadOnlyList<string> legNames, ArrayLuksOptions luks, List<string> opened,
        Action<string, int> report, CancellationToken ct)
    {
        var result = new List<ArrayLegCryptInfo>();
        for (int k = 0; k < legNames.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            string leg = DeviceNodes.MapperPath(legNames[k]);
            report($"Formatting LUKS2 on leg {k + 1} of {legNames.Count} ({leg})", k);
            ArrayCrypt.Format(leg, luks, ct);
            result.Add(Open(legNames[k], luks.KeyFilePath, opened, ct));
        }
        return result;
    }

    /// <summary>Open leg <paramref name="legName"/>'s LUKS header as LEGNAME-crypt (added to <paramref name="opened"/>).</summary>
    public static ArrayLegCryptInfo Open(string legName, string keyFile, List<string> opened, CancellationToken ct)
    {
        string leg = DeviceNodes.MapperPath(legName), name = MapperName(legName);
        string uuid = ArrayCrypt.Uuid(leg, ct);
        ArrayCrypt.Open(leg, name, keyFile, ct);
        opened.Add(name);
        return new ArrayLegCryptInfo { Name = name, Path = DeviceNodes.MapperPath(name), LuksUuid = uuid };
    }

    /// <summary>
    /// Whether the leg's opened integrity mapping starts with a LUKS header (the magic cryptsetup isLuks checks; read
    /// here so that an array of encrypted legs is recognised without cryptsetup and without a key).
    /// </summary>
    public static bool HoldsLuks(string mapperPath)
    {
        try
        {
            using var fs = new FileStream(mapperPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            Span<byte> head = stackalloc byte[6];
            return fs.ReadAtLeast(head, 6, throwOnEndOfStream: false) == 6 && head.SequenceEqual(Devices.SignatureProbe.LuksMagic);
        }
        catch (IOException ex)
        {
            // A failing first block (its tag) or a vanished node: the leg cannot be assembled either; said as such.
            throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, $"{mapperPath}: its first block cannot be read ({ex.Message}).", mapperPath, ex);
        }
    }

    /// <summary>
    /// The leg's crypt mapping when the md member is a dm-crypt mapping (made by cryptsetup) directly over the leg's
    /// integrity mapping: what close takes down before the integrity mapping. Null for any other layering.
    /// </summary>
    public static string? CryptOverIntegrity(MdLegInfo leg) =>
        leg is { IntegrityUnderLayer: true, MapperName: { } crypt, Integrity: { } integrity }
        && ArrayCrypt.IsCryptMapping(leg.Device)
        && DeviceNodes.Slaves(leg.Device) is [var below] && DeviceNodes.MapperNameOf(below) == integrity.Name
            ? crypt : null;

    /// <summary>The crypttab line of every leg's crypt layer (LEGNAME-crypt UUID=... KEYFILE luks), written into <paramref name="path"/>.</summary>
    public static List<string> WriteCrypttab(string path, IEnumerable<ArrayLegCryptInfo> legs, string keyFile)
    {
        var lines = new List<string>();
        foreach (var c in legs)
        {
            string line = ArrayCrypt.CrypttabLine(c.Name, c.LuksUuid, keyFile);
            ArrayCrypt.WriteCrypttab(path, c.Name, line);
            lines.Add(line);
        }
        return lines;
    }
}
