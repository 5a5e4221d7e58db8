using System.Runtime.InteropServices;
using System.Text;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// A loop device over an image file (what losetup does), attached with LOOP_CTL_GET_FREE + LOOP_CONFIGURE
/// (kernel 5.8+; LOOP_SET_FD + LOOP_SET_STATUS64 before). Attached with autoclear, the kernel detaches it by
/// itself once its last user (e.g. a dm table) closes it; this object keeps it open until disposed.
/// </summary>
public sealed unsafe class LoopDevice : IDisposable
{
    private const nuint LOOP_SET_FD = 0x4C00, LOOP_CLR_FD = 0x4C01, LOOP_SET_STATUS64 = 0x4C04, LOOP_SET_CAPACITY = 0x4C07, LOOP_CONFIGURE = 0x4C0A;
    private const nuint LOOP_CTL_GET_FREE = 0x4C82;
    private const uint LO_FLAGS_READ_ONLY = 1, LO_FLAGS_AUTOCLEAR = 4, LO_FLAGS_DIRECT_IO = 16;
    private const int LoInfoSize = 232, LoConfigSize = 304, LoNameSize = 64;

    private int _fd;

    private LoopDevice(int fd, string path, DeviceNumber device, string backingFile, bool readOnly)
    {
        _fd = fd; Path = path; Device = device; BackingFile = backingFile; ReadOnly = readOnly;
    }

    /// <summary>/dev/loopN.</summary>
    public string Path { get; }
    public DeviceNumber Device { get; }
    public string BackingFile { get; }
    public bool ReadOnly { get; }
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>Attach <paramref name="file"/> to a free loop device.</summary>
    public static LoopDevice Attach(string file, bool readOnly = false, bool autoClear = true, bool directIo = false)
    {
        string full = System.IO.Path.GetFullPath(file);
        if (!File.Exists(full))
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{file}: no such file.", file);
        int ctl = NativeMethods.Open("/dev/loop-control", NativeMethods.O_RDWR | NativeMethods.O_CLOEXEC, 0);
        if (ctl < 0)
        {
            int e = NativeMethods.Errno;
            if (e is NativeMethods.EACCES or NativeMethods.EPERM)
                throw new IntegrityVolumeException(ErrorIds.NotRoot, ErrorKind.PermissionDenied, "Attaching a loop device needs root.", file);
            throw new IntegrityVolumeException(ErrorIds.LoopDeviceUnavailable, ErrorKind.NotSupported,
                $"No loop devices: /dev/loop-control: {NativeMethods.ErrorText(e)} (load the loop module).", file);
        }
        int ffd = NativeMethods.Open(full, (readOnly ? NativeMethods.O_RDONLY : NativeMethods.O_RDWR) | NativeMethods.O_CLOEXEC, 0);
        if (ffd < 0)
        {
            int e = NativeMethods.Errno;
            NativeMethods.Close(ctl);
            throw new IntegrityVolumeException(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied, $"{file}: {NativeMethods.ErrorText(e)}.", file);
        }
        try
        {
            for (int attempt = 0; attempt < 16; attempt++)
            {
                int n = NativeMethods.IoctlValue(ctl, LOOP_CTL_GET_FREE, 0);
                if (n < 0)
                    throw new IntegrityVolumeException(ErrorIds.LoopDeviceUnavailable, ErrorKind.ResourceBusy,
                        $"No free loop device: {NativeMethods.ErrorText(NativeMethods.Errno)}.", file);
                string path = $"/dev/loop{n}";
                EnsureLoopNode(path, n);
                int lfd = NativeMethods.Open(path, (readOnly ? NativeMethods.O_RDONLY : NativeMethods.O_RDWR) | NativeMethods.O_CLOEXEC, 0);
                if (lfd < 0)
                {
                    int e = NativeMethods.Errno;
                    if (e == NativeMethods.ENOENT || e == NativeMethods.ENXIO) { Thread.Sleep(20); continue; }
                    throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, ErrorKind.DeviceError, $"{path}: {NativeMethods.ErrorText(e)}.", file);
                }
                uint flags = (readOnly ? LO_FLAGS_READ_ONLY : 0) | (autoClear ? LO_FLAGS_AUTOCLEAR : 0) | (directIo ? LO_FLAGS_DIRECT_IO : 0);
                int err = Configure(lfd, ffd, flags, full);
                if (err == 0)
                {
                    var dev = DeviceNumber.Of(path) ?? new DeviceNumber(7, (uint)n);
                    return new LoopDevice(lfd, path, dev, full, readOnly);
                }
                NativeMethods.Close(lfd);
                if (err == NativeMethods.EBUSY) continue;   // somebody else took it between GET_FREE and configure
                throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, ErrorKind.DeviceError,
                    $"Attaching {file} to {path} failed: {NativeMethods.ErrorText(err)} (errno {err}).", file);
            }
            throw new IntegrityVolumeException(ErrorIds.LoopDeviceUnavailable, ErrorKind.ResourceBusy, "No free loop device (all raced away).", file);
        }
        finally
        {
            NativeMethods.Close(ffd);   // the loop device holds its own reference to the file
            NativeMethods.Close(ctl);
        }
    }

    private static int Configure(int lfd, int ffd, uint flags, string file)
    {
        byte* cfg = stackalloc byte[LoConfigSize];
        new Span<byte>(cfg, LoConfigSize).Clear();
        *(uint*)cfg = (uint)ffd;
        byte* info = cfg + 8;
        *(uint*)(info + 52) = flags;                       // lo_flags
        byte[] name = Encoding.UTF8.GetBytes(file);
        int len = Math.Min(name.Length, LoNameSize - 1);
        name.AsSpan(0, len).CopyTo(new Span<byte>(info + 56, LoNameSize));   // lo_file_name
        if (NativeMethods.Ioctl(lfd, LOOP_CONFIGURE, cfg) == 0) return 0;
        int e = NativeMethods.Errno;
        if (e != NativeMethods.EINVAL && e != NativeMethods.ENOTTY) return e;
        // Kernels before 5.8: set the fd, then the status (flags; autoclear is settable here).
        if (NativeMethods.IoctlValue(lfd, LOOP_SET_FD, ffd) != 0) return NativeMethods.Errno;
        if (NativeMethods.Ioctl(lfd, LOOP_SET_STATUS64, info) != 0)
        {
            e = NativeMethods.Errno;
            NativeMethods.IoctlValue(lfd, LOOP_CLR_FD, 0);
            return e;
        }
        return 0;
    }

    private static void EnsureLoopNode(string path, int n)
    {
        if (NativeMethods.Stat(path) is not null) return;
        for (int i = 0; i < 50 && NativeMethods.Stat(path) is null; i++) Thread.Sleep(10);   // devtmpfs/udev
        if (NativeMethods.Stat(path) is null) NativeMethods.Mknod(path, NativeMethods.S_IFBLK | 0x1B0, 7, (uint)n);
    }

    /// <summary>Close our handle; with autoclear the loop device stays only while somebody else has it open.</summary>
    public void Dispose()
    {
        if (_fd >= 0) { NativeMethods.Close(_fd); _fd = -1; }
    }

    /// <summary>Detach now (LOOP_CLR_FD). If the device is still open the kernel turns this into autoclear.</summary>
    public void Detach()
    {
        if (_fd < 0) { DetachDevice(Path); return; }
        NativeMethods.IoctlValue(_fd, LOOP_CLR_FD, 0);
        Dispose();
    }

    // ------------------------------------------------------------------ existing loop devices

    /// <summary>The sysfs name ("loop3") of a block device number, or null.</summary>
    public static string? SysName(DeviceNumber dev)
    {
        try
        {
            var link = new DirectoryInfo($"/sys/dev/block/{dev}");
            if (!link.Exists) return null;
            return System.IO.Path.GetFileName(link.ResolveLinkTarget(true)?.FullName ?? link.FullName);
        }
        catch (IOException) { return null; }
    }

    /// <summary>True when the device number is a loop device.</summary>
    public static bool IsLoop(DeviceNumber dev) => Directory.Exists($"/sys/dev/block/{dev}/loop");

    /// <summary>The file behind an attached loop device ("/dev/loop0", "loop0" or "7:0"), or null.</summary>
    public static string? GetBackingFile(string loop)
    {
        string? name = SysNameOf(loop);
        if (name is null) return null;
        string f = $"/sys/block/{name}/loop/backing_file";
        try { return File.Exists(f) ? File.ReadAllText(f).TrimEnd('\n') : null; }
        catch (IOException) { return null; }
    }

    /// <summary>Whether the kernel will detach the loop device when its last user closes it.</summary>
    public static bool GetAutoClear(string loop)
    {
        string? name = SysNameOf(loop);
        string f = $"/sys/block/{name}/loop/autoclear";
        try { return name is not null && File.Exists(f) && File.ReadAllText(f).Trim() == "1"; }
        catch (IOException) { return false; }
    }

    /// <summary>Loop devices attached to <paramref name="file"/> (/dev/loopN paths).</summary>
    public static IReadOnlyList<string> FindByBackingFile(string file)
    {
        string full = System.IO.Path.GetFullPath(file);
        var found = new List<string>();
        if (!Directory.Exists("/sys/block")) return found;
        foreach (var dir in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            string f = System.IO.Path.Combine(dir, "loop", "backing_file");
            try
            {
                if (File.Exists(f) && File.ReadAllText(f).TrimEnd('\n') is var b && (b == full || b == full + " (deleted)"))
                    found.Add("/dev/" + System.IO.Path.GetFileName(dir));
            }
            catch (IOException) { }
        }
        return found;
    }

    /// <summary>
    /// LOOP_SET_CAPACITY: the loop device takes its backing file's current size (losetup -c; cryptsetup's resize does it
    /// for a loop device under the mapping). Nothing for a device that is not a loop device.
    /// </summary>
    public static void RefreshCapacity(DeviceNumber dev)
    {
        if (!IsLoop(dev) || SysName(dev) is not { } name) return;
        string path = "/dev/" + name;
        int fd = NativeMethods.Open(path, NativeMethods.O_RDONLY | NativeMethods.O_CLOEXEC, 0);
        if (fd < 0)
            throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, ErrorKind.DeviceError, $"{path}: {NativeMethods.ErrorText(NativeMethods.Errno)}.", path);
        try
        {
            if (NativeMethods.IoctlValue(fd, LOOP_SET_CAPACITY, 0) != 0)
                throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, ErrorKind.DeviceError,
                    $"{path}: cannot take its backing file's new size: {NativeMethods.ErrorText(NativeMethods.Errno)}.", path);
        }
        finally { NativeMethods.Close(fd); }
    }

    /// <summary>Detach an attached loop device by path (losetup -d). Busy devices get autoclear instead.</summary>
    public static void DetachDevice(string loopPath)
    {
        int fd = NativeMethods.Open(loopPath, NativeMethods.O_RDONLY | NativeMethods.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int e = NativeMethods.Errno;
            if (e is NativeMethods.ENOENT or NativeMethods.ENXIO) return;
            throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, ErrorKind.DeviceError, $"{loopPath}: {NativeMethods.ErrorText(e)}.", loopPath);
        }
        try
        {
            if (NativeMethods.IoctlValue(fd, LOOP_CLR_FD, 0) != 0)
            {
                int e = NativeMethods.Errno;
                if (e == NativeMethods.ENXIO) return;   // not attached
                throw new IntegrityVolumeException(ErrorIds.LoopDeviceFailed, e == NativeMethods.EBUSY ? ErrorKind.ResourceBusy : ErrorKind.DeviceError,
                    $"Detaching {loopPath} failed: {NativeMethods.ErrorText(e)}.", loopPath);
            }
        }
        finally { NativeMethods.Close(fd); }
    }

    private static string? SysNameOf(string loop)
    {
        if (DeviceNumber.TryParse(loop, out var d)) return SysName(d);
        if (loop.StartsWith("/dev/", StringComparison.Ordinal))
        {
            var st = NativeMethods.Stat(loop);
            if (st is { IsBlockDevice: true } s) return SysName(new DeviceNumber(s.RdevMajor, s.RdevMinor));
            return System.IO.Path.GetFileName(loop);
        }
        return loop;
    }
}
