using System.Runtime.InteropServices;
using System.Text;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Arrays;

/// <summary>
/// md's own word on how a requested sync pass ended: md_do_sync logs "md: mdX: data-check done." or "... interrupted."
/// ("requested-resync" for repair): md's verdict itself, where sync_min is only its resume point, written at its
/// checkpoints (md.c md_do_sync), not a completion flag. Reads /dev/kmsg from where <see cref="Open"/> was called (the
/// records after it).
/// </summary>
internal sealed unsafe class MdSyncLog : IDisposable
{
    private const int SeekEnd = 2, EAgain = 11, EPipe = 32;
    private int _fd;

    private MdSyncLog(int fd) => _fd = fd;

    /// <summary>The kernel log from now on; null when it cannot be read (no /dev/kmsg, not root).</summary>
    public static MdSyncLog? Open(string path = "/dev/kmsg")
    {
        int fd = NativeMethods.Open(path, NativeMethods.O_RDONLY | NativeMethods.O_NONBLOCK | NativeMethods.O_CLOEXEC, 0);
        if (fd < 0) return null;
        if (NativeMethods.Lseek(fd, 0, SeekEnd) < 0)
        {
            NativeMethods.Close(fd);
            return null;
        }
        return new MdSyncLog(fd);
    }

    /// <summary>"done" or "interrupted" as md logged the end of <paramref name="action"/> on <paramref name="kernelName"/>; null when no such record came.</summary>
    public string? Ended(string kernelName, string action)
    {
        string? ended = null;
        var buffer = new byte[8192];
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = NativeMethods.Read(_fd, p, (nuint)buffer.Length);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == EPipe) continue;   // records overwritten meanwhile: read on from the next
                break;                                                   // EAGAIN: no more records (or the log cannot be read)
            }
            if (n == 0) break;
            if (ParseRecord(Encoding.UTF8.GetString(buffer, 0, (int)n), kernelName, action) is { } e) ended = e;
        }
        return ended;
    }

    /// <summary>
    /// One /dev/kmsg record ("prefix;message\n", Documentation/ABI/testing/dev-kmsg): "done" or "interrupted" when it is md's
    /// end-of-pass line for this array and action, else null.
    /// </summary>
    internal static string? ParseRecord(string record, string kernelName, string action)
    {
        int semi = record.IndexOf(';');
        if (semi < 0) return null;
        string message = record[(semi + 1)..].Split('\n')[0];
        string desc = action == "repair" ? "requested-resync" : "data-check";
        string head = $"md: {kernelName}: {desc} ";
        return message.StartsWith(head, StringComparison.Ordinal) && message[head.Length..] is "done." or "interrupted."
            ? message[head.Length..^1] : null;
    }

    public void Dispose()
    {
        if (_fd >= 0) NativeMethods.Close(_fd);
        _fd = -1;
    }
}
