using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>The few libc calls .NET does not wrap: open with O_EXCL on block devices, ioctl, fallocate, fadvise, flock.</summary>
internal static partial class NativeMethods
{
    public const int O_RDONLY = 0, O_RDWR = 2, O_EXCL = 0x80, O_CLOEXEC = 0x80000, O_DIRECT = 0x4000;
    public const int EBUSY = 16, ENOENT = 2, EACCES = 13, EPERM = 1, ENOTTY = 25, EOPNOTSUPP = 95, EWOULDBLOCK = 11, EINTR = 4;
    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const int SIGKILL = 9, SIGTERM = 15, SIGHUP = 1;
    public const ulong BLKGETSIZE64 = 0x80081272;   // _IOR(0x12, 114, size_t)
    public const ulong BLKZEROOUT = 0x127F;        // _IO(0x12, 127)
    public const ulong BLKDISCARDZEROES = 0x127C;  // _IO(0x12, 124)
    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
    public const int POSIX_FADV_SEQUENTIAL = 2, POSIX_FADV_WILLNEED = 3, POSIX_FADV_DONTNEED = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlU64(int fd, ulong request, out ulong value);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlRange(int fd, ulong request, ulong[] range);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long len);

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
}
