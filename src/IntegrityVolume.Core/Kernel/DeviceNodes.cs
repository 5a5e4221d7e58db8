using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// /dev/mapper/&lt;name&gt; nodes. With udev running its rules make them (we wait); without udev (initramfs,
/// containers, test VMs) we do what libdevmapper's fallback does: mknod the block node ourselves and unlink it on remove.
/// </summary>
public static class DeviceNodes
{
    public const string MapperDirectory = "/dev/mapper";
    private const uint DiskGroup = 6;   // libdevmapper's DM_DEVICE_GID

    public static string MapperPath(string name) => $"{MapperDirectory}/{name}";

    /// <summary>udev is running when its control socket exists (what libudev checks).</summary>
    public static bool UdevRunning => File.Exists("/run/udev/control") || Directory.Exists("/run/udev/control");

    /// <summary>The udev cookie for resume/remove: flags only (no semaphore), marked as a genuine libdm-style event.</summary>
    public static uint UdevCookie => UdevRunning ? Dm.UDEV_PRIMARY_SOURCE_FLAG << (int)Dm.UDEV_FLAGS_SHIFT : 0;

    /// <summary>Make sure /dev/mapper/&lt;name&gt; is the block node of <paramref name="dev"/>; returns its path.</summary>
    public static string Ensure(string name, DeviceNumber dev, TimeSpan? udevWait = null)
    {
        string path = MapperPath(name);
        if (UdevRunning)
        {
            var deadline = DateTime.UtcNow + (udevWait ?? TimeSpan.FromSeconds(10));
            while (DateTime.UtcNow < deadline)
            {
                if (Matches(path, dev)) return path;
                Thread.Sleep(50);
            }
        }
        if (Matches(path, dev)) return path;
        try
        {
            Directory.CreateDirectory(MapperDirectory);
            if (File.Exists(path) || NativeMethods.Stat(path) is not null) NativeMethods.Unlink(path);
            if (NativeMethods.Mknod(path, NativeMethods.S_IFBLK | 0x1B0 /* 0660 */, dev.Major, dev.Minor) != 0)
            {
                int e = NativeMethods.Errno;
                if (!(e == NativeMethods.EEXIST && Matches(path, dev)))
                    throw new IntegrityVolumeException(ErrorIds.DeviceNodeFailed, ErrorKind.DeviceError,
                        $"Cannot create {path} ({dev}): {NativeMethods.ErrorText(e)}.", name);
            }
            NativeMethods.Chown(path, 0, DiskGroup);
            if (OperatingSystem.IsLinux())   // always true (the engine is Linux-only); the guard satisfies CA1416
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.DeviceNodeFailed, ErrorKind.DeviceError, $"Cannot create {path}: {ex.Message}", name, ex);
        }
        return path;
    }

    /// <summary>Remove /dev/mapper/&lt;name&gt; after DM_DEV_REMOVE if it still points at <paramref name="dev"/>.</summary>
    public static void Remove(string name, DeviceNumber dev, TimeSpan? udevWait = null)
    {
        string path = MapperPath(name);
        if (UdevRunning)
        {
            var deadline = DateTime.UtcNow + (udevWait ?? TimeSpan.FromSeconds(5));
            while (DateTime.UtcNow < deadline && NativeMethods.Stat(path) is not null) Thread.Sleep(50);
        }
        if (Matches(path, dev) || IsDanglingLink(path)) NativeMethods.Unlink(path);
    }

    /// <summary>Unlink stale /dev/mapper nodes; returns the paths removed.</summary>
    /// <remarks>
    /// Without udev nobody unlinks the node of a device the kernel removed later (deferred remove on last close):
    /// unlink /dev/mapper entries that are device-mapper block nodes (or dangling links) with no active device of
    /// that name, as libdevmapper's node fallback does. With udev its rules own the directory: nothing is touched.
    /// <paramref name="isActive"/> is asked per node at the moment of the decision: a mapping is created before its
    /// node, so a node another process has just made always belongs to an active device and stays.
    /// </remarks>
    public static IReadOnlyList<string> PruneStale(Func<string, bool> isActive)
    {
        var removed = new List<string>();
        if (UdevRunning || !Directory.Exists(MapperDirectory) || DeviceMapperMajor() is not { } major) return removed;
        foreach (var path in Directory.EnumerateFileSystemEntries(MapperDirectory))
        {
            string name = System.IO.Path.GetFileName(path);
            if (name == "control") continue;
            bool candidate = (NativeMethods.Stat(path) is { IsBlockDevice: true } st && st.RdevMajor == major) || IsDanglingLink(path);
            if (candidate && !isActive(name)) { NativeMethods.Unlink(path); removed.Add(path); }
        }
        return removed;
    }

    /// <summary>The block major of "device-mapper" in /proc/devices.</summary>
    private static uint? DeviceMapperMajor()
    {
        try
        {
            bool block = false;
            foreach (var line in File.ReadLines("/proc/devices"))
            {
                if (line.StartsWith("Block devices", StringComparison.Ordinal)) { block = true; continue; }
                var parts = line.Trim().Split(' ', 2);
                if (block && parts.Length == 2 && parts[1] == "device-mapper" && uint.TryParse(parts[0], out var m)) return m;
            }
        }
        catch (IOException) { }
        return null;
    }

    private static bool Matches(string path, DeviceNumber dev) =>
        NativeMethods.Stat(path) is { IsBlockDevice: true } s && s.RdevMajor == dev.Major && s.RdevMinor == dev.Minor;

    private static bool IsDanglingLink(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            return fi.LinkTarget is not null && NativeMethods.Stat(path) is null;
        }
        catch (IOException) { return false; }
    }

    /// <summary>/dev path of a block device number: /dev/mapper/name for dm devices, /dev/&lt;sysname&gt; otherwise.</summary>
    public static string? PathOf(DeviceNumber dev)
    {
        string? sys = LoopDevice.SysName(dev);
        if (sys is null) return null;
        return MapperNameOf(dev) is { } name ? MapperPath(name) : "/dev/" + sys;
    }

    /// <summary>The device-mapper name of a block device (/sys/dev/block/M:m/dm/name), null when it is no dm device.</summary>
    public static string? MapperNameOf(DeviceNumber dev) => ReadMapperName($"/sys/dev/block/{dev}/dm/name");

    /// <summary>The device-mapper name of a kernel block device (dm-3: /sys/block/dm-3/dm/name), null when it is no dm device.</summary>
    public static string? MapperNameOf(string kernelName) => ReadMapperName($"/sys/block/{kernelName}/dm/name");

    private static string? ReadMapperName(string file)
    {
        try { return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } name ? name : null; }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// Kernel names (dm-3, md127) of the devices stacked on a block device: its /sys/dev/block/M:m/holders entries,
    /// in name order; empty when none or the device is gone. Looked up by number, as a node's name need not be the kernel's.
    /// </summary>
    public static IReadOnlyList<string> Holders(DeviceNumber dev) => SysfsLinks($"/sys/dev/block/{dev}/holders");

    /// <summary>The same for a kernel block device name (md127, dm-3: /sys/class/block/NAME/holders).</summary>
    public static IReadOnlyList<string> Holders(string kernelName) => SysfsLinks($"/sys/class/block/{kernelName}/holders");

    /// <summary>Kernel names of the devices a stacked device sits on (/sys/class/block/NAME/slaves), in name order.</summary>
    public static IReadOnlyList<string> Slaves(string kernelName) => SysfsLinks($"/sys/class/block/{kernelName}/slaves");

    private static IReadOnlyList<string> SysfsLinks(string dir)
    {
        try
        {
            return Directory.Exists(dir)
                ? Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
                : Array.Empty<string>();
        }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }
}
