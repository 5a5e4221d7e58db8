using System.Runtime.InteropServices;

namespace IntegrityVolume.Cli;

/// <summary>
/// SIGINT, SIGTERM and SIGHUP all cancel the running operation, so each cleans up the same way: a format removes the
/// image file it created, a write stops between chunks and leaves its intent record (verify/dump report the range, a
/// re-run finishes it). A second signal, or no exit within the grace period, ends the process the default way.
/// </summary>
internal static class Signals
{
    // Long enough for a cancelled operation to finish its clean-up on a slow or loaded machine (an md check stopped and
    // its counters read took over 10 s in the TCG guest under load, which ended it as killed, 143, instead of 130);
    // below systemd's default stop timeout (90 s). A second signal still ends the process at once.
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);
    private static readonly List<PosixSignalRegistration> Registrations = new();
    private static int _received;

    public static void Install(CancellationTokenSource cts)
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            Registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                if (Interlocked.Increment(ref _received) > 1) return;   // second signal: default action (terminate)
                ctx.Cancel = true;
                cts.Cancel();
                // A process blocked outside any cancellable call (a confirmation prompt) still ends.
                new Thread(() => { Thread.Sleep(Grace); Environment.Exit(128 + SignalNumber(ctx.Signal)); }) { IsBackground = true }.Start();
            }));
    }

    private static int SignalNumber(PosixSignal s) => s switch { PosixSignal.SIGHUP => 1, PosixSignal.SIGINT => 2, _ => 15 };
}
