using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>What to activate (integritysetup open).</summary>
public sealed record IntegrityOpenRequest
{
    /// <summary>Block device or image file holding superblock, journal and tags. Image files get a loop device.</summary>
    public required string Device { get; init; }
    /// <summary>The device-mapper name: the volume appears as /dev/mapper/&lt;Name&gt;.</summary>
    public required string Name { get; init; }
    /// <summary>Separate data device (or image file).</summary>
    public string? DataDevice { get; init; }
    /// <summary>Sectors before the superblock (table offset).</summary>
    public ulong ReservedSectors { get; init; }
    public IntegrityActivationOptions Options { get; init; } = new();
    /// <summary>Read-only mapping (loop devices are attached read-only too).</summary>
    public bool ReadOnly { get; init; }
}

/// <summary>An active dm-integrity mapping, shaped after integritysetup status (JSON: camelCase of these names).</summary>
public sealed record IntegrityMappingInfo
{
    public required string Name { get; init; }
    public string? Uuid { get; init; }
    /// <summary>"INTEGRITY" for mappings made by ivol or integritysetup (uuid CRYPT-INTEGRITY-...), else "dm-integrity".</summary>
    public required string Type { get; init; }
    public required string Path { get; init; }
    public required string DeviceNumber { get; init; }
    public bool ReadOnly { get; init; }
    public bool Suspended { get; init; }
    public int OpenCount { get; init; }
    public required ulong SizeSectors { get; init; }
    public required int TagSize { get; init; }
    public string? Algorithm { get; init; }
    /// <summary>Set by an open: Given, or Detected on the volume before the table was built (see AlgorithmDetection).</summary>
    public AlgorithmSource? AlgorithmSource { get; init; }
    public bool Keyed { get; init; }
    public required IntegrityMode Mode { get; init; }
    /// <summary>Data device (/dev path) and the image file behind it when it is a loop device.</summary>
    public string? DataDevice { get; init; }
    public string? DataLoopBackingFile { get; init; }
    public string? MetadataDevice { get; init; }
    public string? MetadataLoopBackingFile { get; init; }
    public required int SectorSize { get; init; }
    public required uint InterleaveSectors { get; init; }
    public ulong Offset { get; init; }
    /// <summary>Checksum failures since activation (the kernel's mismatch counter).</summary>
    public required ulong Failures { get; init; }
    public required ulong ProvidedDataSectors { get; init; }
    /// <summary>Recalculation position while the superblock is marked recalculating, else null.</summary>
    public ulong? RecalcSector { get; init; }
    public ulong JournalSizeBytes { get; init; }
    public uint? JournalWatermark { get; init; }
    public uint? JournalCommitTimeMs { get; init; }
    public ulong? BitmapSectorsPerBit { get; init; }
    public uint? BitmapFlushIntervalMs { get; init; }
    public uint BufferSectors { get; init; }
    public bool AllowDiscards { get; init; }
    public bool FixPadding { get; init; }
    public bool FixHmac { get; init; }
    public bool Recalculating { get; init; }
    public string? JournalIntegrity { get; init; }
    public string? JournalCrypt { get; init; }
    /// <summary>
    /// The dm-crypt mapping above that provides the tags when the table has no internal_hash (LUKS2 --integrity:
    /// NAME over NAME_dif; found through /sys/dev/block/M:m/holders); null otherwise. Its cipher and integrity, never its key.
    /// </summary>
    public CryptLayerInfo? TagsProvidedBy { get; init; }
    /// <summary>The live table with keys hidden (as dmsetup table prints it).</summary>
    public required string Table { get; init; }
    /// <summary>The raw status line (as dmsetup status prints it).</summary>
    public required string Status { get; init; }
}

/// <summary>Result of closing a mapping.</summary>
public sealed record IntegrityCloseResult(string Name, bool Deferred, IReadOnlyList<string> DetachedLoopDevices);

/// <summary>
/// Activate, inspect and deactivate dm-integrity volumes through the kernel (open / status / close), with the
/// ioctl client and loop devices; uuids follow integritysetup ("CRYPT-INTEGRITY-&lt;name&gt;") so both tools
/// recognise each other's mappings.
/// </summary>
public static class IntegrityMappings
{
    public const string UuidPrefix = "CRYPT-INTEGRITY-";

    public static string UuidFor(string name) => UuidPrefix + name;

    /// <summary>
    /// integritysetup open: build the table from the volume's superblock <paramref name="sb"/> (read by the caller,
    /// which may also have shown the plan from it), create + load + resume, make the node.
    /// </summary>
    public static IntegrityMappingInfo Open(IntegrityOpenRequest r, Superblock sb, CancellationToken ct = default)
    {
        DeviceMapperClient.ValidateName(r.Name);
        r.Options.Validate();
        using var dm = DeviceMapperClient.Open();
        if (dm.GetInfo(r.Name) is not null)
            throw new IntegrityVolumeException(ErrorIds.MapperNameTaken, ErrorKind.ResourceExists,
                $"Device {r.Name} already exists (/dev/mapper/{r.Name}).", r.Name);
        if (dm.GetTargetVersion(IntegrityTable.TargetType) is null)
            throw new IntegrityVolumeException(ErrorIds.IntegrityTargetUnavailable, ErrorKind.NotSupported,
                "The kernel has no dm-integrity target (load it with 'modprobe dm-integrity').", r.Name);

        // The superblock decides tag size, block size, size and flags; the algorithm is not stored (the user tells).
        ct.ThrowIfCancellationRequested();
        if (r.Options.JournalCryptAlgorithm is not null && r.Options.Mode == IntegrityMode.Journal)
            VolumeOperations.RefusePlainJournalForJournalCrypt(new VolumeLocation
                { Path = r.Device, DataDevicePath = r.DataDevice, ReservedSectors = r.ReservedSectors });

        var loops = new List<LoopDevice>();
        try
        {
            string meta = Attach(r.Device, r.ReadOnly, loops);
            string? data = r.DataDevice is null ? null : Attach(r.DataDevice, r.ReadOnly, loops);
            var table = IntegrityTable.ForActivation(sb, meta, r.Options, data, r.ReservedSectors);

            var created = dm.Create(r.Name, UuidFor(r.Name));
            try
            {
                dm.LoadTable(r.Name, new[] { table.ToTarget() }, r.ReadOnly, secureData: table.HasKeys);
                dm.Resume(r.Name, DeviceNodes.UdevCookie);
            }
            catch
            {
                try { dm.Remove(r.Name, retries: 2); } catch (IntegrityVolumeException) { }
                throw;
            }
            DeviceNodes.Ensure(r.Name, created.Device);
        }
        finally
        {
            // Autoclear: from here on the mapping holds the loop devices; they go away when it is removed.
            foreach (var l in loops) l.Dispose();
        }
        return Status(r.Name) ?? throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.DeviceError,
            $"{r.Name} vanished right after activation.", r.Name);
    }

    private static string Attach(string path, bool readOnly, List<LoopDevice> loops)
    {
        var st = NativeMethods.Stat(path) ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path);
        if (st.IsBlockDevice) return new DeviceNumber(st.RdevMajor, st.RdevMinor).ToString();
        var loop = LoopDevice.Attach(path, readOnly, autoClear: true);
        loops.Add(loop);
        return loop.Device.ToString();
    }

    /// <summary>integritysetup close: remove the mapping, its node, and the loop devices it ran on (autoclear ones).</summary>
    public static IntegrityCloseResult Close(string name, bool deferred = false)
    {
        DeviceMapperClient.ValidateName(name);
        using var dm = DeviceMapperClient.Open();
        var info = dm.GetInfo(name);
        if (info is null)
        {
            DeviceNodes.PruneStale(n => dm.GetInfo(n) is not null);
            throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"Device {name} is not active.", name);
        }
        var loops = new List<(DeviceNumber Dev, string Path)>();
        foreach (var t in dm.GetTable(name))
        {
            if (t.TargetType != IntegrityTable.TargetType) continue;
            var table = IntegrityTable.Parse(t.Parameters);
            foreach (var d in new[] { table.Device, table.MetaDevice })
                if (d is not null && DeviceNumber.Of(d) is { } dn && LoopDevice.IsLoop(dn) && LoopDevice.GetAutoClear(dn.ToString()))
                    loops.Add((dn, "/dev/" + LoopDevice.SysName(dn)));
        }
        dm.Remove(name, deferred, DeviceNodes.UdevCookie);
        if (deferred && dm.GetInfo(name) is not null)
            return new IntegrityCloseResult(name, true, Array.Empty<string>());   // still open: removed on last close
        DeviceNodes.Remove(name, info.Device);

        var detached = new List<string>();
        foreach (var (dev, path) in loops.Distinct())
        {
            // Autoclear detaches when the mapping releases the device; give it a moment, then make sure.
            for (int i = 0; i < 100 && LoopDevice.GetBackingFile(dev.ToString()) is not null; i++) Thread.Sleep(20);
            if (LoopDevice.GetBackingFile(dev.ToString()) is not null && DeviceNodes.Holders(dev).Count == 0)
            {
                try { LoopDevice.DetachDevice(path); } catch (IntegrityVolumeException) { }
            }
            if (LoopDevice.GetBackingFile(dev.ToString()) is null) detached.Add(path);
        }
        return new IntegrityCloseResult(name, false, detached);
    }

    /// <summary>
    /// integritysetup close --cancel-deferred: keep a mapping whose deferred removal is pending (the device-mapper
    /// message @cancel_deferred_remove). Returns whether a removal was pending.
    /// </summary>
    public static bool CancelDeferredClose(string name)
    {
        DeviceMapperClient.ValidateName(name);
        using var dm = DeviceMapperClient.Open();
        var info = dm.GetInfo(name) ?? throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"Device {name} is not active.", name);
        dm.SendMessage(name, 0, "@cancel_deferred_remove");
        return info.DeferredRemovePending;
    }

    /// <summary>integritysetup status: null when no mapping of that name exists.</summary>
    public static IntegrityMappingInfo? Status(string name)
    {
        DeviceMapperClient.ValidateName(name);
        using var dm = DeviceMapperClient.Open();
        var info = dm.GetInfo(name);
        if (info is null)
        {
            DeviceNodes.PruneStale(n => dm.GetInfo(n) is not null);
            return null;
        }
        return Describe(dm, info) ?? throw new IntegrityVolumeException(ErrorIds.NotAnIntegrityDevice, ErrorKind.InvalidArgument,
            $"{name} is not a dm-integrity mapping.", name);
    }

    /// <summary>
    /// The crypt mapping <paramref name="name"/> and the dm-integrity mapping below it whose tags it provides (LUKS2
    /// --integrity), or null when <paramref name="name"/> is not such a crypt mapping.
    /// </summary>
    public static (CryptLayerInfo Crypt, IntegrityMappingInfo Integrity)? CryptStack(string name)
    {
        DeviceMapperClient.ValidateName(name);
        using var dm = DeviceMapperClient.Open();
        if (CryptLayers.Describe(dm, name) is not { } crypt || DeviceNumber.Of(crypt.UnderlyingDevice) is not { } below) return null;
        if (DeviceNodes.MapperNameOf(below) is not { } integrityName || dm.GetInfo(integrityName) is not { } info) return null;
        return Describe(dm, info) is { } integrity ? (crypt, integrity) : null;
    }

    /// <summary>All active dm-integrity mappings.</summary>
    public static IReadOnlyList<IntegrityMappingInfo> List()
    {
        using var dm = DeviceMapperClient.Open();
        var result = new List<IntegrityMappingInfo>();
        DeviceNodes.PruneStale(n => dm.GetInfo(n) is not null);
        foreach (var d in dm.ListDevices())
        {
            var info = dm.GetInfo(d.Name);
            if (info is null) continue;
            if (Describe(dm, info) is { } m) result.Add(m);
        }
        return result;
    }

    private static IntegrityMappingInfo? Describe(DeviceMapperClient dm, DmDeviceInfo info)
    {
        if (!info.LiveTablePresent) return null;
        var tableLine = dm.GetTable(info.Name).FirstOrDefault();
        if (tableLine is null || tableLine.TargetType != IntegrityTable.TargetType) return null;
        var statusLine = dm.GetStatus(info.Name).FirstOrDefault(s => s.TargetType == IntegrityTable.TargetType);
        var t = IntegrityTable.Parse(tableLine.ToString());
        var s = statusLine is null ? new IntegrityStatus(0, t.Length, null) : IntegrityStatus.Parse(statusLine.Parameters);
        string? dataPath = DevicePath(t.Device), metaPath = t.MetaDevice is null ? null : DevicePath(t.MetaDevice);
        return new IntegrityMappingInfo
        {
            Name = info.Name,
            Uuid = info.Uuid,
            Type = info.Uuid?.StartsWith(UuidPrefix, StringComparison.Ordinal) == true ? "INTEGRITY" : "dm-integrity",
            Path = DeviceNodes.MapperPath(info.Name),
            DeviceNumber = info.Device.ToString(),
            ReadOnly = info.ReadOnly,
            Suspended = info.Suspended,
            OpenCount = info.OpenCount,
            SizeSectors = tableLine.Length,
            TagSize = t.TagSize ?? 0,
            Algorithm = t.InternalHash?.Name,
            Keyed = t.InternalHash?.Key is not null,
            Mode = t.Mode,
            DataDevice = dataPath,
            DataLoopBackingFile = LoopBacking(t.Device),
            MetadataDevice = metaPath,
            MetadataLoopBackingFile = t.MetaDevice is null ? null : LoopBacking(t.MetaDevice),
            SectorSize = t.BlockSize ?? 512,
            InterleaveSectors = t.InterleaveSectors ?? 0,
            Offset = t.Offset,
            Failures = s.Mismatches,
            ProvidedDataSectors = s.ProvidedDataSectors,
            RecalcSector = s.RecalcSector,
            JournalSizeBytes = (ulong)(t.JournalSectors ?? 0) * 512,
            JournalWatermark = t.JournalWatermark,
            JournalCommitTimeMs = t.CommitTime,
            BitmapSectorsPerBit = t.SectorsPerBit,
            BitmapFlushIntervalMs = t.BitmapFlushInterval,
            BufferSectors = t.BufferSectors ?? 0,
            AllowDiscards = t.AllowDiscards,
            FixPadding = t.FixPadding,
            FixHmac = t.FixHmac,
            Recalculating = t.Recalculate,
            JournalIntegrity = t.JournalMac?.Name,
            JournalCrypt = t.JournalCrypt?.Name,
            TagsProvidedBy = t.InternalHash is null ? CryptLayers.Above(dm, info.Device) : null,
            Table = tableLine.ToString(),
            Status = statusLine?.ToString() ?? "",
        };
    }

    private static string? DevicePath(string dev) => DeviceNumber.TryParse(dev, out var d) ? DeviceNodes.PathOf(d) ?? dev : dev;

    private static string? LoopBacking(string dev) =>
        DeviceNumber.Of(dev) is { } d && LoopDevice.IsLoop(d) ? LoopDevice.GetBackingFile(d.ToString()) : null;

    /// <summary>The table the kernel should report for this mapping, computed from the superblock (a self-check).</summary>
    public static IntegrityTable PredictKernelTable(Superblock sb, IntegrityTable loaded, ulong? metaDeviceSectors = null) =>
        loaded.ToKernelView(sb, metaDeviceSectors: metaDeviceSectors);
}
