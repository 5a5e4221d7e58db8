using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// The lock rules between ivol processes (and the module): whoever changes a volume (format, write, later repair and
/// resize) holds an exclusive flock on every device or image it opens for writing; readers (dump, verify) hold a
/// shared one. flock locks belong to the open file description, so they vanish when the process dies (kill -9
/// included) and never outlive their holder. They are advisory: the kernel ignores them, which is why block devices
/// opened for writing are also opened with O_EXCL (the kernel refuses when mounted or held by device-mapper).
/// </summary>
internal static class FileLock
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Take the lock, or throw DeviceInUse at once; with <paramref name="wait"/>, retry until free or cancelled.</summary>
    public static void Acquire(int fd, string path, bool exclusive, bool wait, CancellationToken ct)
    {
        int op = (exclusive ? NativeMethods.LOCK_EX : NativeMethods.LOCK_SH) | NativeMethods.LOCK_NB;
        while (true)
        {
            if (NativeMethods.Flock(fd, op) == 0) return;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == NativeMethods.EINTR) continue;
            if (errno != NativeMethods.EWOULDBLOCK)
                return;   // a filesystem without flock support (some network filesystems): no lock rather than no access
            if (!wait)
                throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                    $"{path} is in use: another ivol or module process is {(exclusive ? "using" : "changing")} it. " +
                    "Try again when it has finished, or wait for it with --wait / -Wait.", path);
            // Polled rather than a blocking flock: the wait stays cancellable (Ctrl-C, SIGTERM, PowerShell's Stop).
            if (ct.WaitHandle.WaitOne(PollInterval)) ct.ThrowIfCancellationRequested();
        }
    }
}
