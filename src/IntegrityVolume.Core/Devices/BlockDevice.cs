using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// A block device or an image file, opened for positional I/O. Block devices opened for writing are opened with
/// O_EXCL, so the kernel refuses (EBUSY) when the device is mounted or held by device-mapper or md. Every open also
/// takes ivol's own lock (<see cref="FileLock"/>): exclusive for writers, shared for readers.
/// </summary>
public sealed class BlockDevice : IBlockReader, IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly int _fd;
    private readonly (uint, uint, ulong)? _lock;

    private BlockDevice(string path, SafeFileHandle handle, int fd, (uint, uint, ulong)? fileLock, long length, bool isBlockDevice, bool writable)
    {
        Path = path; _handle = handle; _fd = fd; _lock = fileLock; Length = length; IsBlockDevice = isBlockDevice; Writable = writable;
    }

    /// <summary>The operation's cancellation, as given to Open (FaultInjection's signal kill points wait on it).</summary>
    private CancellationToken _openedFor;

    public string Path { get; }
    public long Length { get; private set; }
    public long Sectors => Length / 512;
    public bool IsBlockDevice { get; }
    public bool Writable { get; }

    public static BlockDevice Open(string path, bool write, bool waitForLock = false, CancellationToken ct = default)
    {
        RefuseDirectory(path);
        if (!File.Exists(path))
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path);
        bool isBlock = new FileInfo(path).Attributes.HasFlag(FileAttributes.Device) || path.StartsWith("/dev/", StringComparison.Ordinal);
        int flags = (write ? NativeMethods.O_RDWR : NativeMethods.O_RDONLY) | NativeMethods.O_CLOEXEC;
        if (isBlock && write) flags |= NativeMethods.O_EXCL;
        int fd = NativeMethods.Open(path, flags, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                NativeMethods.EBUSY => new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                    $"{path} is in use (mounted, or held by device-mapper, md or another program).", path),
                NativeMethods.EACCES or NativeMethods.EPERM => new IntegrityVolumeException(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied,
                    $"{path}: permission denied{(!write ? "" : isBlock ? " (writing a block device needs root)" : " (the image file is read-only, or not writable by this user)")}.", path),
                NativeMethods.ENOENT => new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path),
                _ => new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, $"{path}: open failed ({Marshal.GetPInvokeErrorMessage(errno)}).", path),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        (uint, uint, ulong)? fileLock;
        try { fileLock = FileLock.Acquire(fd, path, exclusive: write, waitForLock, ct); }
        catch { handle.Dispose(); throw; }
        long length;
        if (isBlock && NativeMethods.IoctlU64(fd, NativeMethods.BLKGETSIZE64, out ulong size) == 0) length = (long)size;
        else length = RandomAccess.GetLength(handle);
        return new BlockDevice(path, handle, fd, fileLock, length, isBlock, write) { _openedFor = ct };
    }

    /// <summary>A directory is neither a device nor an image file: say so (not "no such device or file").</summary>
    public static void RefuseDirectory(string path)
    {
        if (Directory.Exists(path))
            throw new IntegrityVolumeException(ErrorIds.PathIsDirectory, ErrorKind.InvalidArgument,
                $"{path} is a directory; give a block device or an image file.", path);
    }

    public void AdviseSequential() => NativeMethods.PosixFadvise(_fd, 0, 0, NativeMethods.POSIX_FADV_SEQUENTIAL);

    public void WillNeed(long offset, long length) => NativeMethods.PosixFadvise(_fd, offset, length, NativeMethods.POSIX_FADV_WILLNEED);

    /// <summary>Read exactly buffer.Length bytes; anything short is a truncated device.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset + buffer.Length > Length)
            throw new IntegrityVolumeException(ErrorIds.DeviceTruncated, ErrorKind.InvalidData,
                $"{Path}: read of {buffer.Length} bytes at offset {offset} is past the end ({Length} bytes); the device is truncated.", Path);
        int done = 0;
        while (done < buffer.Length)
        {
            int n;
            try { n = RandomAccess.Read(_handle, buffer[done..], offset + done); }
            catch (IOException ex)
            {
                throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError,
                    $"{Path}: read error at byte {offset + done}: {ex.Message}", Path, ex);
            }
            if (n == 0)
                throw new IntegrityVolumeException(ErrorIds.DeviceTruncated, ErrorKind.InvalidData,
                    $"{Path}: unexpected end of device at byte {offset + done}.", Path);
            done += n;
        }
    }

    /// <summary>Test hook: sees every device write of the current flow (async-local) before it is made, to rebuild the
    /// image a kill after any write prefix would leave (the crash tests replay every prefix).</summary>
    internal delegate void WriteObserver(string path, long offset, ReadOnlySpan<byte> buffer);
    internal static readonly AsyncLocal<WriteObserver?> TestWriteObserver = new();

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        TestWriteObserver.Value?.Invoke(Path, offset, buffer);
        if (FaultInjection.Active) FaultInjection.BeforeWrite(_handle, buffer, offset, _openedFor);
        try { RandomAccess.Write(_handle, buffer, offset); }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                $"{Path}: write error at byte {offset}: {ex.Message}", Path, ex);
        }
    }

    /// <summary>Make the range read as zeros cheaply: BLKZEROOUT on devices, a punched hole in files. False if unsupported.</summary>
    public bool TryZeroRange(long offset, long length)
    {
        if (length <= 0) return true;
        if (IsBlockDevice) return NativeMethods.IoctlRange(_fd, NativeMethods.BLKZEROOUT, new[] { (ulong)offset, (ulong)length }) == 0;
        return NativeMethods.Fallocate(_fd, NativeMethods.FALLOC_FL_PUNCH_HOLE | NativeMethods.FALLOC_FL_KEEP_SIZE, offset, length) == 0;
    }

    /// <summary>Grow or shrink an image file (ftruncate; a grown tail reads as zeros) and sync it. Not for block devices.</summary>
    public void SetFileLength(long length)
    {
        if (IsBlockDevice) throw new InvalidOperationException("A block device's size cannot be changed here.");
        if (NativeMethods.Ftruncate(_fd, length) != 0)
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                $"{Path}: changing the file size to {length} bytes failed ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}).", Path);
        Length = length;
        Flush();
    }

    public void Flush()
    {
        if (NativeMethods.Fsync(_fd) != 0)
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                $"{Path}: fsync failed ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}).", Path);
    }

    public void Dispose()
    {
        if (_handle.IsClosed) return;
        _handle.Dispose();
        FileLock.Released(_lock);
    }
}
