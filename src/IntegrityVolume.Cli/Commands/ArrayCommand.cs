using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol array: md RAID arrays (mdadm) whose legs are dm-integrity mappings: status and scrub (md check/repair).</summary>
internal static class ArrayCommand
{
    public static Command Create()
    {
        var cmd = new Command("array", "md RAID arrays over dm-integrity legs: status, scrub (md check/repair) with each leg's integrity counter (needs root).");
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(Scrub());
        cmd.Subcommands.Add(ArrayReplaceCommand.Create());
        cmd.Subcommands.Add(ArrayCreateCommand.Create());
        cmd.Subcommands.Add(ArrayCreateCommand.Open());
        cmd.Subcommands.Add(ArrayCreateCommand.Close());
        return cmd;
    }

    private static Command Status()
    {
        var array = new Argument<string?>("md") { Description = "/dev/mdN, /dev/md/NAME or mdN; omit to list every md array with a dm-integrity leg.", Arity = ArgumentArity.ZeroOrOne };
        var json = CommonOptions.Json();
        var cmd = new Command("status", "Show an md array (level, state, sync, mismatch_cnt) and its legs with their dm-integrity mismatch counters.") { array, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            if (p.GetValue(array) is { } a)
            {
                var info = VolumeOperations.GetArray(a);
                if (asJson) CliOutput.WriteJson(info);
                else Print(info);
                return ExitCodes.Success;
            }
            var all = VolumeOperations.ListArrays();
            if (asJson) CliOutput.WriteJson(all);
            else foreach (var info in all) { Print(info); Console.WriteLine(); }
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static Command Scrub()
    {
        var array = new Argument<string>("md") { Description = "/dev/mdN, /dev/md/NAME or mdN." };
        var repair = new Option<bool>("--repair") { Description = "md 'repair' instead of 'check': rewrite differing blocks, not only count them." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("scrub", "Run md's check (or --repair) over the array and report each leg's dm-integrity mismatches and md errors before/after. " +
            "Exit 0 nothing found, 1 mismatches found or a leg failed, 6 md ended the pass early, 130 stopped (Ctrl+C/SIGTERM write 'idle').")
        { array, repair, json, progressJson };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            var r = VolumeOperations.ScrubArray(new ArrayScrubRequest { Array = p.GetValue(array)!, Repair = p.GetValue(repair) },
                new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
            if (p.GetValue(json)) CliOutput.WriteJson(r);
            else Print(r);
            if (r.Cancelled) return ExitCodes.Cancelled;
            if (r.AnyLegFailed || r.MismatchCount > 0 || r.Legs.Any(l => l.IntegrityMismatchesAdded > 0)) return ExitCodes.CorruptionFound;
            return r.Completed ? ExitCodes.Success : ExitCodes.Incomplete;
        }));
        return cmd;
    }

    private static void Print(MdArrayInfo a)
    {
        Console.WriteLine($"{a.Path}{(a.Name is null ? "" : $" (/dev/md/{a.Name})")}: {a.Level}, {a.ArrayState}");
        Console.WriteLine($"  sync action: {a.SyncAction ?? "(none)"}{(a.SyncCompleted.Running ? $" ({a.SyncCompleted.DoneSectors} / {a.SyncCompleted.TotalSectors} sectors)" : "")}");
        Console.WriteLine($"  size:        {a.SizeSectors} sectors");
        Console.WriteLine($"  raid disks:  {a.RaidDisks}, degraded: {a.Degraded}");
        Console.WriteLine($"  mismatch_cnt: {a.MismatchCount}");
        if (a.ChunkSize is > 0) Console.WriteLine($"  chunk size:  {a.ChunkSize} bytes");
        if (a.CryptName is not null) Console.WriteLine($"  crypt layer: /dev/mapper/{a.CryptName}");
        foreach (var l in a.Legs)
        {
            string integrity = l.Integrity is { } i ? $"integrity {i.Algorithm ?? "(none)"}, mismatches {i.Failures}" : "not dm-integrity";
            Console.WriteLine($"  leg {(l.Slot?.ToString() ?? "-"),2}: {l.Path} ({l.Device}) {string.Join(',', l.State)}, errors {l.Errors}; {integrity}");
            if (l.BadBlocks.Count > 0) Console.WriteLine($"          bad blocks (md could not rebuild; leg sectors): {SectorRange.List(l.BadBlocks)}");
        }
    }

    private static void Print(ArrayScrubResult r)
    {
        Console.WriteLine($"{r.Path}: {r.Action} {(r.Completed ? "completed" : r.Cancelled ? "stopped" : "ended early")} in {r.Elapsed.TotalSeconds:0.#} s; mismatch_cnt {r.MismatchCount}" +
            (r.ResumeSector is > 0 ? $"; the next check resumes at sector {r.ResumeSector}" : ""));
        foreach (var l in r.Legs)
            Console.WriteLine($"  {l.Path}: integrity mismatches {l.IntegrityMismatchesBefore?.ToString() ?? "-"} -> {l.IntegrityMismatchesAfter?.ToString() ?? "-"}, " +
                $"md errors {l.ErrorsBefore} -> {l.ErrorsAfter}, {string.Join(',', l.StateAfter)}{(l.Failed ? " (FAILED during the scrub)" : "")}");
    }
}
