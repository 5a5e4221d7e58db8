using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Kill points for the crash suite (tests/crash/run.sh), off unless the environment asks for them:
/// IVOL_TEST_KILL_AT_WRITE=N kills the process with SIGKILL at its N-th device write (N ≥ 1), before the write, or,
/// with the suffix ":torn", after writing only the first half of it, in whole pages (a pwrite cut short, as the kernel
/// can leave one when a fatal signal arrives between pages; a write of one page or less is killed before it);
/// ":term" and ":hup" send SIGTERM or SIGHUP instead (the CLI's clean-up path): the write then waits until the signal
/// handler has cancelled the operation's token and stops there, as the operation's next cancellation check would, so
/// the point is the same on a busy machine as on an idle one; IVOL_TEST_COUNT_WRITES=1 prints "ivol-test: N writes" on
/// stderr at exit, to size the kill range.
/// A reproducible kill -9 at an exact point is what makes the crash suite's outcomes comparable run to run.
/// </summary>
internal static class FaultInjection
{
    private static readonly long KillAt;
    private static readonly bool Torn;
    private static readonly int Signal = NativeMethods.SIGKILL;
    private static long _writes;

    static FaultInjection()
    {
        string? spec = Environment.GetEnvironmentVariable("IVOL_TEST_KILL_AT_WRITE");
        if (spec is not null)
        {
            int colon = spec.IndexOf(':');
            string mode = colon < 0 ? "" : spec[(colon + 1)..];
            Torn = mode == "torn";
            if (mode == "term") Signal = NativeMethods.SIGTERM;
            if (mode == "hup") Signal = NativeMethods.SIGHUP;
            if (long.TryParse(colon < 0 ? spec : spec[..colon], out long n) && n > 0) KillAt = n;
        }
        if (Environment.GetEnvironmentVariable("IVOL_TEST_COUNT_WRITES") == "1")
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Console.Error.WriteLine($"ivol-test: {Interlocked.Read(ref _writes)} writes");
        Active = KillAt > 0 || Environment.GetEnvironmentVariable("IVOL_TEST_COUNT_WRITES") == "1";
    }

    public static readonly bool Active;

    /// <summary>Whether this process ignores <paramref name="signal"/> (SigIgn of /proc/self/status; nohup ignores SIGHUP).</summary>
    internal static bool IsIgnored(int signal)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                    return (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (signal - 1))) != 0;
        }
        catch (IOException) { }
        return false;
    }

    /// <summary>How long a signal kill point waits for the handler's cancellation before it gives up and writes on.</summary>
    private static readonly TimeSpan SignalHandled = TimeSpan.FromSeconds(120);

    public static void BeforeWrite(SafeFileHandle handle, ReadOnlySpan<byte> buffer, long offset, CancellationToken operation)
    {
        long n = Interlocked.Increment(ref _writes);
        if (n != KillAt) return;
        if (Signal != NativeMethods.SIGKILL)
        {
            // An ignored signal (SIGHUP under nohup) cancels nothing: the operation goes on, as it would in use.
            if (IsIgnored(Signal)) return;
            NativeMethods.Kill(NativeMethods.GetPid(), Signal);
            // Wait on the state (the handler cancelled the operation), never on elapsed time; then stop before this write.
            if (operation.CanBeCanceled) operation.WaitHandle.WaitOne(SignalHandled);
            else Thread.Sleep(1000);
            operation.ThrowIfCancellationRequested();
            return;
        }
        // Torn at a page boundary: a pwrite within one page is never cut short by a signal.
        int cut = buffer.Length / 2 / 4096 * 4096;
        if (Torn && cut > 0) RandomAccess.Write(handle, buffer[..cut], offset);
        NativeMethods.Kill(NativeMethods.GetPid(), NativeMethods.SIGKILL);
        Thread.Sleep(Timeout.Infinite);
    }
}
