using System.Globalization;
using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Every libc call of the engine, declared once: open with O_EXCL and O_DIRECT, pread, ioctl (block, loop and
/// device-mapper), fallocate, fadvise, fsync, device nodes (mknod, unlink, chown, statx). Linux only.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_EXCL = 0x80, O_NONBLOCK = 0x800, O_DIRECT = 0x4000, O_CLOEXEC = 0x80000;
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, ENXIO = 6, EBADF = 9, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17,
        ENODEV = 19, EINVAL = 22, ENOTTY = 25, ENOSPC = 28, EPIPE = 32, ENOSYS = 38, EOPNOTSUPP = 95;
    public const int EWOULDBLOCK = EAGAIN;
    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const int SIGKILL = 9, SIGTERM = 15, SIGHUP = 1;
    public const uint S_IFMT = 0xF000, S_IFBLK = 0x6000, S_IFCHR = 0x2000;
    public const ulong BLKGETSIZE64 = 0x80081272;   // _IOR(0x12, 114, size_t)
    public const ulong BLKZEROOUT = 0x127F;        // _IO(0x12, 127)
    public const ulong BLKDISCARDZEROES = 0x127C;  // _IO(0x12, 124)
    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
    public const int POSIX_FADV_SEQUENTIAL = 2, POSIX_FADV_WILLNEED = 3, POSIX_FADV_DONTNEED = 4;
    public const uint IocNone = 0, IocWrite = 1, IocRead = 2;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlU64(int fd, ulong request, out ulong value);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlRange(int fd, ulong request, ulong[] range);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long len);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    /// <summary>Returns 0 or an errno (posix_fadvise does not set errno).</summary>
    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    public static partial int PosixFadvise(int fd, long offset, long length, int advice);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    /// <summary>flock(2): advisory lock on the open file description (released when the last descriptor closes or the process dies).</summary>
    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlValue(int fd, nuint request, nint arg);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MknodNew(string path, uint mode, ulong dev);

    // glibc < 2.33 exports only __xmknod (mknod was an inline wrapper).
    [LibraryImport("libc", EntryPoint = "__xmknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int XMknod(int ver, string path, uint mode, ulong* dev);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    public static int Errno => Marshal.GetLastPInvokeError();
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>glibc's makedev encoding of dev_t.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) |
        ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>mknod(2); returns 0 or -1 with errno set.</summary>
    public static int Mknod(string path, uint mode, uint major, uint minor)
    {
        ulong dev = MakeDev(major, minor);
        try { return MknodNew(path, mode, dev); }
        catch (EntryPointNotFoundException) { return XMknod(0, path, mode, &dev); }
    }

    /// <summary>File type and mode plus, for device nodes, the device number (statx; follows symlinks).</summary>
    public readonly record struct NodeInfo(uint Mode, uint RdevMajor, uint RdevMinor, long Size)
    {
        public bool IsBlockDevice => (Mode & S_IFMT) == S_IFBLK;
        public bool IsCharDevice => (Mode & S_IFMT) == S_IFCHR;
    }

    public static NodeInfo? Stat(string path)
    {
        const int AT_FDCWD = -100;
        const uint STATX_TYPE = 1, STATX_MODE = 2, STATX_SIZE = 0x200;
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        int r;
        try { r = StatxNative(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_SIZE, buf); }
        catch (EntryPointNotFoundException) { return StatFallback(path); }
        if (r != 0) return null;
        ushort mode = *(ushort*)(buf + 28);
        long size = *(long*)(buf + 40);
        uint rmaj = *(uint*)(buf + 128), rmin = *(uint*)(buf + 132);
        return new NodeInfo(mode, rmaj, rmin, size);
    }

    /// <summary>The device (major:minor) and inode an open fd refers to (statx with AT_EMPTY_PATH), as /proc/locks names them.</summary>
    public static (uint DevMajor, uint DevMinor, ulong Inode)? FileId(int fd)
    {
        const int AT_EMPTY_PATH = 0x1000;
        const uint STATX_INO = 0x100;
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        try { if (StatxNative(fd, "", AT_EMPTY_PATH, STATX_INO, buf) != 0) return null; }
        catch (EntryPointNotFoundException) { return null; }
        return (*(uint*)(buf + 136), *(uint*)(buf + 140), *(ulong*)(buf + 32));
    }

    /// <summary>The device (major:minor) and inode a path refers to (statx, follows symlinks), without opening it.</summary>
    public static (uint DevMajor, uint DevMinor, ulong Inode)? PathId(string path)
    {
        const int AT_FDCWD = -100;
        const uint STATX_INO = 0x100;
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        try { if (StatxNative(AT_FDCWD, path, 0, STATX_INO, buf) != 0) return null; }
        catch (EntryPointNotFoundException) { return null; }
        return (*(uint*)(buf + 136), *(uint*)(buf + 140), *(ulong*)(buf + 32));
    }

    /// <summary>The owner's uid (statx stx_uid, follows symlinks); null when statx is missing or fails.</summary>
    public static uint? OwnerUid(string path)
    {
        const int AT_FDCWD = -100;
        const uint STATX_UID = 8;
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        try { return StatxNative(AT_FDCWD, path, 0, STATX_UID, buf) == 0 ? *(uint*)(buf + 20) : null; }
        catch (EntryPointNotFoundException) { return null; }
    }

    // Without statx (glibc < 2.28): block devices named in /dev map to sysfs by name.
    private static NodeInfo? StatFallback(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            string full = fi.ResolveLinkTarget(true)?.FullName ?? fi.FullName;
            string sys = $"/sys/class/block/{Path.GetFileName(full)}/dev";
            if (File.Exists(sys) && TryParseDeviceNumber(File.ReadAllText(sys).Trim(), out uint major, out uint minor))
                return new NodeInfo(S_IFBLK | 0x180, major, minor, 0);
            return fi.Exists ? new NodeInfo(0x8000 | 0x1A4, 0, 0, fi.Length) : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>asm-generic _IOC encoding (x86, arm, arm64, riscv, s390, loongarch); powerpc/mips/sparc differ.</summary>
    public static nuint IoctlNumber(uint dir, uint type, uint nr, uint size)
    {
        var arch = RuntimeInformation.ProcessArchitecture;
        bool ppc = arch == Architecture.Ppc64le;
        uint sizeBits = ppc ? 13u : 14u;
        // dir: 0 none, 1 write, 2 read, 3 read|write in asm-generic; powerpc: 1 none, 4 write, 2 read.
        uint d = dir;
        if (ppc) d = dir switch { 0 => 1u, 1 => 4u, 2 => 2u, _ => 6u };
        return (nuint)(((ulong)d << (int)(16 + sizeBits)) | ((ulong)(size & ((1u << (int)sizeBits) - 1)) << 16) | ((ulong)type << 8) | nr);
    }

    /// <summary>"major:minor" as sysfs and dm tables print a device number.</summary>
    public static bool TryParseDeviceNumber(string text, out uint major, out uint minor)
    {
        major = minor = 0;
        int i = text.IndexOf(':');
        return i > 0
            && uint.TryParse(text.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && uint.TryParse(text.AsSpan(i + 1), NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
