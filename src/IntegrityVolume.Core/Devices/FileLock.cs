using System.Collections.Concurrent;
using System.Globalization;
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

    /// <summary>How long a lock held only by a forked copy of this process's own descriptor is waited for (see below).</summary>
    internal static TimeSpan ForkedCopyGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Locks this process holds, per file (device major, minor, inode): how many descriptors hold one.</summary>
    private static readonly ConcurrentDictionary<(uint, uint, ulong), int> Held = new();

    /// <summary>
    /// Take the lock, or throw DeviceInUse at once; with <paramref name="wait"/>, retry until free or cancelled.
    /// Returns the file's identity to give back to <see cref="Released"/> when the descriptor is closed.
    /// </summary>
    public static (uint, uint, ulong)? Acquire(int fd, string path, bool exclusive, bool wait, CancellationToken ct)
    {
        int op = (exclusive ? NativeMethods.LOCK_EX : NativeMethods.LOCK_SH) | NativeMethods.LOCK_NB;
        var id = NativeMethods.FileId(fd);
        DateTime? forkedCopySince = null;
        int vanished = 0;
        while (true)
        {
            if (NativeMethods.Flock(fd, op) == 0)
            {
                if (id is { } key) Held.AddOrUpdate(key, 1, (_, n) => n + 1);
                return id;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == NativeMethods.EINTR) continue;
            if (errno != NativeMethods.EWOULDBLOCK)
                return null;   // a filesystem without flock support (some network filesystems): no lock rather than no access
            if (!wait)
            {
                // A child this process is starting (fork, then exec) holds copies of every descriptor until its exec
                // closes the O_CLOEXEC ones: a lock this process took and has already let go of can be held by such a
                // copy for that moment. flock's owner in /proc/locks stays the process that took the lock, so a
                // conflicting lock owned only by this process, which holds none on the file itself, is such a copy:
                // wait for it (bounded), instead of reporting the volume in use by another process.
                var holder = id is { } key ? Holder(key, exclusive) : LockHolder.Other;
                // None left: the holder let go between the flock and the read; the next flock decides (a few times at
                // most, in case /proc/locks names the file by another device number, as some file systems do).
                if (holder == LockHolder.None && ++vanished <= 3) continue;
                if (holder == LockHolder.ForkedCopy)
                {
                    forkedCopySince ??= DateTime.UtcNow;
                    if (DateTime.UtcNow - forkedCopySince < ForkedCopyGrace)
                    {
                        if (ct.WaitHandle.WaitOne(PollInterval)) ct.ThrowIfCancellationRequested();
                        continue;
                    }
                }
                throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                    $"{path} is in use: another ivol or module process is {(exclusive ? "using" : "changing")} it" +
                    (forkedCopySince is null ? "" : " (a process started by this one still holds this process's lock)") +
                    ". Try again when it has finished, or wait for it with --wait / -Wait.", path);
            }
            // Polled rather than a blocking flock: the wait stays cancellable (Ctrl-C, SIGTERM, PowerShell's Stop).
            if (ct.WaitHandle.WaitOne(PollInterval)) ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The descriptor that held a lock on this file was closed.</summary>
    public static void Released((uint, uint, ulong)? id)
    {
        if (id is not { } key) return;
        while (Held.TryGetValue(key, out int n))
        {
            if (n <= 1 ? Held.TryRemove(new KeyValuePair<(uint, uint, ulong), int>(key, n)) : Held.TryUpdate(key, n - 1, n))
                return;
        }
    }

    private enum LockHolder { Other, ForkedCopy, None }

    /// <summary>
    /// Who holds the conflicting lock: ForkedCopy when this process holds none on the file and every conflicting FLOCK
    /// entry of /proc/locks ("id: FLOCK ADVISORY READ|WRITE pid MAJ:MIN:INODE start end", major and minor in hex) is
    /// owned by this process; None when no conflicting entry is left; otherwise (or unreadable) Other.
    /// </summary>
    private static LockHolder Holder((uint Major, uint Minor, ulong Inode) key, bool exclusive)
    {
        if (Held.ContainsKey(key)) return LockHolder.Other;
        string[] lines;
        try { lines = File.ReadAllLines("/proc/locks"); }
        catch (IOException) { return LockHolder.Other; }
        catch (UnauthorizedAccessException) { return LockHolder.Other; }
        int self = Environment.ProcessId;
        bool any = false;
        foreach (string line in lines)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || f[1] == "->" || f[1] != "FLOCK") continue;   // blocked waiters and other lock kinds
            var file = f[5].Split(':');
            if (file.Length != 3
                || !uint.TryParse(file[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint major)
                || !uint.TryParse(file[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint minor)
                || !ulong.TryParse(file[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode)
                || (major, minor, inode) != key)
                continue;
            if (!exclusive && f[3] != "WRITE") continue;   // shared requests conflict only with exclusive holders
            if (!int.TryParse(f[4], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int pid) || pid != self)
                return LockHolder.Other;
            any = true;
        }
        return any ? LockHolder.ForkedCopy : LockHolder.None;
    }
}
