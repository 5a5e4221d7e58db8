using System.CommandLine;
using System.CommandLine.Parsing;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol repair: rewrite a closed volume's mismatched blocks from a copy, re-tag given ranges, or zero the lost ones.
/// Exit 0 when every mismatched block was repaired (or nothing needed it), 1 when blocks still fail their tags.</summary>
internal static class RepairCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var algorithm = CommonOptions.AlgorithmOptions.Integrity();
        var from = new Option<string?>("--from") { Description = "Copy of the same logical data: a second integrity volume (its own tags verify its blocks), a plain image or device, a backup." };
        var fromOffset = new Option<ulong>("--from-offset") { Description = "Volume sector S is sector S + this of the copy (e.g. md's data offset on a RAID1 member)." };
        var fromDataDevice = new Option<string?>("--from-data-device") { Description = "Separate data device of an integrity copy." };
        var fromReserved = new Option<ulong>("--from-reserved-sectors") { Description = "Sectors before the copy's superblock." };
        var fromPlain = new Option<bool>("--from-plain") { Description = "Read the copy as plain bytes even if it carries an integrity superblock." };
        var trustCopy = new Option<bool>("--trust-copy") { Description = "Write a plain copy's block even when nothing can verify it (the volume's stored tag is damaged too)." };
        var zeroLost = new Option<bool>("--zero-lost") { Description = "Blocks no copy heals get zeros with a valid tag (reads stop failing); they are listed as lost." };
        var retag = new Option<bool>("--retag") { Description = "Accept the current data of --sectors: recompute their tags." };
        var sectors = new Option<string[]>("--sectors") { Description = "Sectors to repair, FIRST or FIRST-LAST (comma or space separated), e.g. from 'ivol verify'; default: verify the whole volume first.", AllowMultipleArgumentsPerToken = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be written; write nothing." };
        var force = new Option<bool>("--force") { Description = "Repair given sectors although an earlier write's range was interrupted (warns); a wrong algorithm or key is always refused." };
        var threads = new Option<int>("--threads") { Description = "Worker threads of the verify pass (default: one per core)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var name = new Option<string?>("--name")
        {
            Description = "Repair the ACTIVE volume /dev/mapper/<name> through the kernel (online: it computes the tags of the blocks written with O_DIRECT); instead of a closed device.",
        };
        var cmd = new Command("repair", "Repair a closed volume's mismatched blocks (or an active one's, --name): from a copy (--from), by re-tagging (--retag), or by zeroing the lost ones (--zero-lost).")
        {
            from, fromOffset, fromDataDevice, fromReserved, fromPlain, trustCopy, zeroLost, retag, sectors, dryRun, force, threads, json, progressJson, name,
        };
        volume.AddTo(cmd);
        algorithm.AddTo(cmd);
        volume.Device.Arity = ArgumentArity.ZeroOrOne;   // --name instead of a device
        cmd.Validators.Add(r => ValidateOnline(r, volume, algorithm, name));
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
            {
                var ranges = p.GetValue(sectors) is { Length: > 0 } given
                    ? given.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SectorRange.Parse).ToArray()
                    : null;
                var source = p.GetValue(from) is { } src ? new RepairSource
                {
                    Path = src, OffsetSectors = p.GetValue(fromOffset), DataDevicePath = p.GetValue(fromDataDevice),
                    ReservedSectors = p.GetValue(fromReserved), Plain = p.GetValue(fromPlain),
                } : null;
                if (p.GetValue(name) is { } online)
                {
                    using var onlineRequest = new OnlineRepairRequest
                    {
                        Name = online, Key = algorithm.ReadKey(p), Source = source,
                        TrustCopy = p.GetValue(trustCopy), ZeroLost = p.GetValue(zeroLost), Retag = p.GetValue(retag),
                        Sectors = ranges, DryRun = p.GetValue(dryRun), Force = p.GetValue(force), Threads = p.GetValue(threads),
                    };
                    return Report(VolumeOperations.RepairActive(onlineRequest, new CliProgress(p.GetValue(progressJson)), Program.Cancellation), p.GetValue(json));
                }
                var tagAlgorithm = algorithm.Parse(p)!;
                using var key = algorithm.ReadKey(p);
                var r = VolumeOperations.Repair(new RepairRequest
                {
                    Volume = volume.Read(p),
                    Integrity = new IntegrityAlgorithmSpec { Algorithm = tagAlgorithm, Key = key },
                    Source = source,
                    TrustCopy = p.GetValue(trustCopy), ZeroLost = p.GetValue(zeroLost), Retag = p.GetValue(retag),
                    Sectors = ranges, DryRun = p.GetValue(dryRun), Force = p.GetValue(force), Threads = p.GetValue(threads),
                }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                return Report(r, p.GetValue(json));
            }));
        return cmd;
    }

    private static int Report(RepairResult r, bool json)
    {
        foreach (var w in r.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
        if (json) CliOutput.WriteJson(r);
        else Print(r);
        return r.WhatIf || r.Complete ? ExitCodes.Success : ExitCodes.CorruptionFound;
    }

    /// <summary>Exactly one of the device and --name; with --name, the options that name the closed device are refused
    /// (the live table names the devices, the offset and the algorithm).</summary>
    private static void ValidateOnline(CommandResult result, CommonOptions.VolumeOptions volume, CommonOptions.AlgorithmOptions algorithm, Option<string?> name)
    {
        bool hasDevice = result.GetResult(volume.Device) is { Tokens.Count: > 0 };
        bool hasName = result.GetValue(name) is not null;
        if (hasDevice && hasName)
            result.AddError("Give either a device (offline repair of a closed volume) or --name (online repair of an active one), not both.");
        else if (!hasDevice && !hasName)
            result.AddError("Give the device or image to repair, or --name NAME for an active volume.");
        else if (hasName)
            foreach (var o in new Option[] { volume.DataDevice, volume.Reserved, volume.Wait, algorithm.Algorithm })
                if (result.GetResult(o) is { Implicit: false })
                    result.AddError($"{o.Name} is for a closed volume; with --name the live table gives the devices, the offset and the algorithm.");
    }

    private static void Print(RepairResult r)
    {
        foreach (var range in r.Ranges)
            Console.WriteLine($"{(range.Sectors == 1 ? $"{range.StartSector}" : $"{range.StartSector}-{range.LastSector}"),-24} {range.Outcome,-17} {range.Detail}");
        string verb = r.WhatIf ? "Would write" : "Wrote";
        Console.WriteLine($"{r.Path}: {r.MismatchedBlocks} mismatched of {r.BlocksExamined} blocks examined; {verb} {r.BlocksToWrite} " +
            $"(healed {r.HealedBlocks}, healed unverified {r.HealedUnverifiedBlocks}, re-tagged {r.RetaggedBlocks}, zeroed {r.ZeroedBlocks}); " +
            $"unrepaired {r.UnrepairedBlocks}. {r.Duration.TotalSeconds:0.00} s (verify {r.VerifyDuration.TotalSeconds:0.00} s).");
        if (r.LostSectors.Length > 0) Console.WriteLine($"Lost (zeroed) sectors: {string.Join(",", r.LostSectors.Select(s => s.ToString()))}");
        if (r.UnrepairedSectors.Length > 0) Console.WriteLine($"Unrepaired sectors: {string.Join(",", r.UnrepairedSectors.Select(s => s.ToString()))}");
    }
}
