using System.Runtime.ExceptionServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// fsync of a device, again and again on a thread of its own while a long series of writes runs, so that what was
/// written reaches stable storage meanwhile and the final fsync finds little left. Below a VM, a flush makes the host
/// write back everything the guest sent, so one fsync at the end of a format is a long wait; flushing while writing
/// shortens formats of every algorithm (docs/benchmark.md).
/// fsync reports a write error once per open file, so an error met here is kept and rethrown by <see cref="Complete"/>.
/// </summary>
internal sealed class BackgroundFlusher : IDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    private readonly BlockDevice _device;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private ExceptionDispatchInfo? _error;

    public BackgroundFlusher(BlockDevice device)
    {
        _device = device;
        _thread = new Thread(Loop) { IsBackground = true, Name = "IntegrityVolume flusher" };
        _thread.Start();
    }

    private void Loop()
    {
        do
        {
            try { _device.Flush(); }
            catch (IntegrityVolumeException ex) { _error = ExceptionDispatchInfo.Capture(ex); return; }
        } while (!_stop.Wait(Pause));
    }

    /// <summary>Stop flushing; rethrow the write error a background fsync reported, if any.</summary>
    public void Complete()
    {
        Dispose();
        _error?.Throw();
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
    }
}
