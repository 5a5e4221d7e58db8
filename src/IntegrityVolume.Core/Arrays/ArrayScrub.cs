using System.Diagnostics;

namespace IntegrityVolume.Core.Arrays;

/// <summary>A scrub of an md array: md's "check" (count differences; raid1 rewrites a leg whose read failed) or "repair".</summary>
public sealed record ArrayScrubRequest
{
    /// <summary>/dev/mdN, /dev/md/NAME or mdN.</summary>
    public required string Array { get; init; }
    /// <summary>md's "repair" instead of "check": differences are rewritten, not only counted.</summary>
    public bool Repair { get; init; }
    /// <summary>How often sync_completed is read while the scrub runs (a bound on the wait, never a verdict).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>One leg before and after a scrub.</summary>
public sealed record ArrayScrubLeg
{
    public required string Device { get; init; }
    public required string Path { get; init; }
    public string? MapperName { get; init; }
    /// <summary>dm-integrity's mismatch counter before and after (null for a leg that is no integrity mapping).</summary>
    public ulong? IntegrityMismatchesBefore { get; init; }
    public ulong? IntegrityMismatchesAfter { get; init; }
    /// <summary>Blocks whose tag failed during the scrub (after − before).</summary>
    public ulong? IntegrityMismatchesAdded =>
        IntegrityMismatchesBefore is { } b && IntegrityMismatchesAfter is { } a && a >= b ? a - b : null;
    /// <summary>md's corrected read error count before and after.</summary>
    public ulong? ErrorsBefore { get; init; }
    public ulong? ErrorsAfter { get; init; }
    public required IReadOnlyList<string> StateBefore { get; init; }
    public required IReadOnlyList<string> StateAfter { get; init; }
    /// <summary>md failed the leg during the scrub (faulty now, not before; or the leg left the array).</summary>
    public bool Failed { get; init; }
}

/// <summary>What a scrub did.</summary>
public sealed record ArrayScrubResult
{
    public required string Device { get; init; }
    public required string Path { get; init; }
    public string? Name { get; init; }
    /// <summary>check or repair.</summary>
    public required string Action { get; init; }
    /// <summary>md finished the pass: sync_action idle again and md logged "done" (without the kernel log: sync_min back at 0).</summary>
    public bool Completed { get; init; }
    /// <summary>The scrub was stopped (cancelled here: "idle" written) or ended early (md interrupted it, e.g. a leg failed).</summary>
    public bool Stopped { get; init; }
    /// <summary>True when this call stopped it on cancellation.</summary>
    public bool Cancelled { get; init; }
    /// <summary>Where md began (a check stopped earlier resumes at sync_min).</summary>
    public ulong StartSector { get; init; }
    /// <summary>sync_min afterwards: where the next check starts (0 after a complete pass).</summary>
    public ulong? ResumeSector { get; init; }
    /// <summary>How md logged the end of the pass: "done" or "interrupted" (an unreadable block on every copy stops a check); null when the kernel log could not be read.</summary>
    public string? KernelLogged { get; init; }
    /// <summary>md's mismatch_cnt after the pass (sectors found different, or rewritten).</summary>
    public ulong? MismatchCount { get; init; }
    public ulong? DegradedBefore { get; init; }
    public ulong? DegradedAfter { get; init; }
    public bool AnyLegFailed => Legs.Any(l => l.Failed);
    public required IReadOnlyList<ArrayScrubLeg> Legs { get; init; }
    public TimeSpan Elapsed { get; init; }
}

/// <summary>
/// Runs md's check/repair through sync_action (Documentation/admin-guide/md.rst) and watches it: progress from
/// sync_completed, the end when sync_action reads idle again, cancellation by writing "idle" (md reaps the sync thread
/// before the write returns).
/// </summary>
public static class ArrayScrub
{
    /// <summary>How long md's end-of-pass line may lag behind sync_action idle (a bound on the wait, never a verdict).</summary>
    public static TimeSpan LogLimit { get; set; } = TimeSpan.FromSeconds(5);

    public static ArrayScrubResult Run(ArrayScrubRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string kname = MdSysfs.ResolveKernelName(request.Array);
        string md = System.IO.Path.Combine(MdSysfs.BlockRoot, kname, "md");
        string action = request.Repair ? "repair" : "check";
        var before = MdArrays.Read(kname);
        if (before.SyncAction is null)
            throw Refused(request.Array, $"{before.Path} ({(before.Level.Length == 0 ? "no level" : before.Level)}) has no redundancy md could check (no sync_action).");
        if (before.ArrayState is "inactive" or "clear" or "readonly" or "broken" || before.Level.Length == 0)
            throw Refused(request.Array, $"{before.Path} is not running read-write (array_state {before.ArrayState}).");
        if (before.SyncRunning)
            throw new IntegrityVolumeException(ErrorIds.ArrayBusy, ErrorKind.ResourceBusy,
                $"{before.Path}: md is busy ({before.SyncAction}); a scrub starts only when sync_action is idle.", request.Array);
        ct.ThrowIfCancellationRequested();

        var clock = Stopwatch.StartNew();
        ulong start = before.SyncMin ?? 0;
        using var log = MdSyncLog.Open();   // md's own "done"/"interrupted" line, read after the pass
        // EBUSY (ArrayBusy): a recovery started between the read and the write.
        MdSysfs.Write(md, "sync_action", action, request.Array);

        string activity = $"md {action} {before.Name ?? kname}";
        bool cancelled = false;
        while (true)
        {
            string state = MdSysfs.Read(md, "sync_action") ?? "idle";
            var done = MdSysfs.ParseSyncCompleted(MdSysfs.Read(md, "sync_completed"));
            if (state == "idle") break;
            if (done.Progress(activity, state, clock.Elapsed) is { } p) progress?.Report(p);
            if (ct.IsCancellationRequested && !cancelled)
            {
                // md.c action_store("idle"): sets MD_RECOVERY_INTR and reaps the sync thread before returning.
                MdSysfs.Write(md, "sync_action", "idle", request.Array);
                cancelled = true;
                continue;   // read the state again: idle now
            }
            if (cancelled) Thread.Sleep(request.PollInterval);   // stopping: wait for idle (the poll interval only bounds the wait)
            else ct.WaitHandle.WaitOne(request.PollInterval);
        }

        var after = MdArrays.Read(kname);
        // md_do_sync logs the end before the sync thread is reaped (sync_action idle): the line is there; a short bounded
        // re-read covers a log reader that lags.
        string? logged = log?.Ended(kname, action);
        for (var wait = Stopwatch.StartNew(); log is not null && logged is null && wait.Elapsed < LogLimit; Thread.Sleep(50))
            logged = log.Ended(kname, action);
        // md_do_sync: a requested pass that ran to the end resets resync_min to 0; an interrupted one leaves it at its last
        // checkpoint (0 before the first): md's logged word decides when there is one.
        bool completed = !cancelled && (logged is null ? (after.SyncMin ?? 0) == 0 : logged == "done");
        return new ArrayScrubResult
        {
            Device = kname,
            Path = before.Path,
            Name = before.Name,
            Action = action,
            Completed = completed,
            Stopped = !completed,
            Cancelled = cancelled,
            StartSector = start,
            ResumeSector = after.SyncMin,
            KernelLogged = logged,
            MismatchCount = after.MismatchCount,
            DegradedBefore = before.Degraded,
            DegradedAfter = after.Degraded,
            Legs = before.Legs.Select(b => Compare(b, after.Legs.FirstOrDefault(a => a.Device == b.Device))).ToList(),
            Elapsed = clock.Elapsed,
        };
    }

    private static ArrayScrubLeg Compare(MdLegInfo before, MdLegInfo? after) => new()
    {
        Device = before.Device,
        Path = before.Path,
        MapperName = before.MapperName,
        IntegrityMismatchesBefore = before.IntegrityMismatches,
        IntegrityMismatchesAfter = after?.IntegrityMismatches,
        ErrorsBefore = before.Errors,
        ErrorsAfter = after?.Errors,
        StateBefore = before.State,
        StateAfter = after?.State ?? new[] { "removed" },
        Failed = after is null || (after.Faulty && !before.Faulty),
    };

    private static IntegrityVolumeException Refused(string array, string message) =>
        new(ErrorIds.ArrayScrubRefused, ErrorKind.InvalidArgument, message, array);
}
