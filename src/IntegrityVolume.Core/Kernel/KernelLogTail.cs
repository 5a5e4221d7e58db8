using System.Text;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// Records the kernel logs from now on (/dev/kmsg, positioned at its end), to quote the kernel's reason when an
/// ioctl fails with a bare EINVAL ("device-mapper: table: 254:0: integrity: Tag size doesn't match ...").
/// Best effort: without /dev/kmsg (or permission) it simply finds nothing.
/// </summary>
internal sealed unsafe class KernelLogTail : IDisposable
{
    private int _fd;

    private KernelLogTail(int fd) => _fd = fd;

    public static KernelLogTail Open()
    {
        int fd = -1;
        if (OperatingSystem.IsLinux())
        {
            fd = NativeMethods.Open("/dev/kmsg", NativeMethods.O_RDONLY | NativeMethods.O_NONBLOCK | NativeMethods.O_CLOEXEC, 0);
            if (fd >= 0 && NativeMethods.Lseek(fd, 0, 2 /* SEEK_END */) < 0)
            {
                NativeMethods.Close(fd);
                fd = -1;
            }
        }
        return new KernelLogTail(fd);
    }

    /// <summary>Messages logged since <see cref="Open"/> (one per record, without the kmsg prefix).</summary>
    public List<string> ReadNew()
    {
        var lines = new List<string>();
        if (_fd < 0) return lines;
        byte* buf = stackalloc byte[8192];
        for (int guard = 0; guard < 100_000; guard++)
        {
            nint n = NativeMethods.Read(_fd, buf, 8192);
            if (n < 0)
            {
                if (NativeMethods.Errno == NativeMethods.EPIPE) continue;   // overwritten record: skip
                break;                                                     // EAGAIN: nothing more
            }
            if (n == 0) break;
            string rec = Encoding.UTF8.GetString(buf, (int)n);
            int semi = rec.IndexOf(';');
            string msg = semi >= 0 ? rec[(semi + 1)..] : rec;
            int nl = msg.IndexOf('\n');
            lines.Add(nl >= 0 ? msg[..nl] : msg);
        }
        return lines;
    }

    /// <summary>
    /// The kernel's reason for a refused table since <see cref="Open"/>: the last "device-mapper: table: ..." line
    /// (it names the target's error, e.g. "integrity: Invalid internal hash"), else the last "device-mapper: ioctl:" line.
    /// </summary>
    public string? LastTableError()
    {
        string? table = null, ioctl = null;
        foreach (var l in ReadNew())
        {
            if (!l.Contains("device-mapper:", StringComparison.Ordinal)) continue;
            if (l.Contains(" table:", StringComparison.Ordinal)) table = l.Trim();
            else if (l.Contains(" ioctl:", StringComparison.Ordinal)) ioctl = l.Trim();
        }
        return table ?? ioctl;
    }

    public void Dispose()
    {
        if (_fd >= 0) { NativeMethods.Close(_fd); _fd = -1; }
    }
}
