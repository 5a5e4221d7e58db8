using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Positional reads of an ACTIVE mapping's block device (/dev/mapper/&lt;name&gt;), where the kernel checks every tag.
/// Calls may come from several threads at once (positional reads, no shared file offset).
/// </summary>
/// <remarks>
/// Failures are returned, not thrown: the online verifier's whole job is to classify them, and an exception per
/// failing block would be noise. Tests substitute a reader that fails chosen blocks with EILSEQ or EIO.
/// </remarks>
public interface IMappedDeviceReader : IDisposable
{
    string Path { get; }
    /// <summary>Bytes of the device.</summary>
    long Length { get; }
    /// <summary>True when reads bypass the page cache (O_DIRECT), so every read reaches dm-integrity's tag check.</summary>
    bool DirectIo { get; }
    /// <summary>
    /// Read exactly <c>buffer.Length</c> bytes at <paramref name="offset"/>. Returns 0, or the errno of the failed read:
    /// EILSEQ (84) when a block failed its tag check (BLK_STS_PROTECTION), EIO and the other
    /// block-layer codes when the device below could not be read. A read past the end returns ENXIO.
    /// </summary>
    int Read(long offset, Span<byte> buffer);
}

/// <summary>
/// <see cref="IMappedDeviceReader"/> over a device node (or, for tests, a file): opened read-only with O_DIRECT, so
/// every read goes to dm-integrity and its errno (EILSEQ) reaches us instead of a page-cache EIO.
/// </summary>
public sealed unsafe class MappedDeviceReader : IMappedDeviceReader
{
    private readonly int _fd;
    private bool _disposed;

    private MappedDeviceReader(string path, int fd, long length, bool direct) { Path = path; _fd = fd; Length = length; DirectIo = direct; }

    public string Path { get; }
    public long Length { get; }
    public bool DirectIo { get; }

    /// <summary>
    /// Open <paramref name="path"/> read-only with O_DIRECT. A regular file on a file system without O_DIRECT (tmpfs)
    /// is opened without it (<see cref="DirectIo"/> false); a device that refuses O_DIRECT is an error.
    /// </summary>
    public static MappedDeviceReader Open(string path)
    {
        var st = NativeMethods.Stat(path) ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path);
        bool block = st.IsBlockDevice;
        int flags = NativeMethods.O_RDONLY | NativeMethods.O_CLOEXEC;
        bool direct = true;
        int fd = NativeMethods.Open(path, flags | NativeMethods.O_DIRECT, 0);
        if (fd < 0 && Marshal.GetLastPInvokeError() == NativeMethods.EINVAL && !block)
        {
            direct = false;
            fd = NativeMethods.Open(path, flags, 0);
        }
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                NativeMethods.EACCES or NativeMethods.EPERM => new IntegrityVolumeException(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied,
                    $"{path}: permission denied (reading a mapped device needs root or the disk group).", path),
                NativeMethods.ENOENT => new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path),
                _ => new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, $"{path}: open failed ({Marshal.GetPInvokeErrorMessage(errno)}).", path),
            };
        }
        long length;
        if (block)
        {
            if (NativeMethods.IoctlU64(fd, NativeMethods.BLKGETSIZE64, out ulong size) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                NativeMethods.Close(fd);
                throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, $"{path}: cannot get its size ({Marshal.GetPInvokeErrorMessage(errno)}).", path);
            }
            length = (long)size;
        }
        else length = new FileInfo(path).Length;
        return new MappedDeviceReader(path, fd, length, direct);
    }

    public int Read(long offset, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || offset + buffer.Length > Length) return NativeMethods.ENXIO;
        int done = 0;
        fixed (byte* p = buffer)
        {
            while (done < buffer.Length)
            {
                nint n = NativeMethods.PRead(_fd, p + done, (nuint)(buffer.Length - done), offset + done);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == NativeMethods.EINTR) continue;
                    return errno;
                }
                if (n == 0) return NativeMethods.ENXIO;   // shrunk under us
                done += (int)n;
            }
        }
        return 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMethods.Close(_fd);
    }
}
