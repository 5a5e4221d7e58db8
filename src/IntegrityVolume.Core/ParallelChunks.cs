using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace IntegrityVolume.Core;

/// <summary>
/// Runs numbered work items on a few long-running workers, each with its own state (hasher, buffers), while the
/// calling thread reports progress a few times per second and observes cancellation.
/// </summary>
internal static class ParallelChunks
{
    /// <summary>Workers Run starts for <paramref name="count"/> items: <paramref name="threads"/> (0 = one per core), at most one per item.</summary>
    public static int WorkerCount(int count, int threads) => Math.Max(1, Math.Min(threads <= 0 ? Environment.ProcessorCount : threads, count));

    public static TimeSpan Run<TState>(int count, int threads, Func<TState> createState, Action<TState, int> process,
        Func<int, long> bytesOf, long totalBytes, string activity, string status,
        IProgress<OperationProgress>? progress, CancellationToken ct, Action<TState>? finish = null)
    {
        long done = 0;
        int next = -1;
        int workers = WorkerCount(count, threads);
        var sw = Stopwatch.StartNew();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var tasks = new Task[workers];
        for (int w = 0; w < workers; w++)
            tasks[w] = Task.Factory.StartNew(() =>
            {
                var state = createState();
                try
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        linked.Token.ThrowIfCancellationRequested();
                        process(state, i);
                        Interlocked.Add(ref done, bytesOf(i));
                    }
                    finish?.Invoke(state);
                }
                finally { (state as IDisposable)?.Dispose(); }
            }, linked.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var all = Task.WhenAll(tasks);
        try
        {
            while (!all.Wait(250))
            {
                if (ct.IsCancellationRequested) linked.Cancel();
                progress?.Report(new OperationProgress(activity, status, Interlocked.Read(ref done), totalBytes, sw.Elapsed));
            }
        }
        catch (AggregateException ex)
        {
            linked.Cancel();
            var inner = ex.Flatten().InnerExceptions;
            var first = inner.FirstOrDefault(e => e is not OperationCanceledException) ?? inner[0];
            if (first is OperationCanceledException) throw new OperationCanceledException($"{activity} was cancelled.", first, ct);
            ExceptionDispatchInfo.Capture(first).Throw();
        }
        progress?.Report(new OperationProgress(activity, status, totalBytes, totalBytes, sw.Elapsed));
        return sw.Elapsed;
    }
}
