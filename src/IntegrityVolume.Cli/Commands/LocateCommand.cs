using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.FileSystems;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol locate: which file, directory, metadata or free space the given sectors of a file system belong to
/// (bad block → file). Exit 0 when every range was resolved. With --leg the sectors are a leg's (a member of an md
/// array, e.g. an open integrity volume under RAID): each layer is mapped (md, dm-crypt, linear) up to the file.</summary>
internal static class LocateCommand
{
    public static Command Create()
    {
        var device = new Argument<string>("fs-device")
        {
            Description = "Device or image holding the file system; for an open volume /dev/mapper/NAME (its sector N is the volume's logical sector N). Omit with --leg.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var leg = new Option<string?>("--leg")
        {
            Description = "The sectors are a leg's: NAME of an open volume (or a block device) that is a member of an md array (raid1/4/5/6/10 near); the array, a dm-crypt (LUKS) or linear layer above it and the file system on top are found and each layer's sector reported.",
        };
        var sectors = new Option<string[]>("--sectors")
        {
            Description = "Sectors to locate, FIRST or FIRST-LAST (512-byte units, comma or space separated), e.g. the ranges 'ivol verify' lists.",
            AllowMultipleArgumentsPerToken = true, Required = true,
        };
        var json = CommonOptions.Json();
        var cmd = new Command("locate", "Name the file (path and byte offset), directory, metadata or free space each sector belongs to: ext2/3/4 (debugfs) or xfs (xfs_db).")
        {
            device, leg, sectors, json,
        };
        cmd.Validators.Add(r =>
        {
            bool hasDevice = r.GetResult(device) is { Tokens.Count: > 0 }, hasLeg = r.GetValue(leg) is not null;
            if (hasDevice == hasLeg)
                r.AddError("Give either the file-system device (its sectors) or --leg NAME (a leg's sectors, mapped through md and dm-crypt), one of them.");
        });
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            var ranges = p.GetValue(sectors)!
                .SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SectorRange.Parse).ToArray();
            if (p.GetValue(leg) is { } legName)
            {
                var s = StackLocator.Locate(legName, ranges, Program.Cancellation);
                foreach (var w in s.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
                if (p.GetValue(json)) CliOutput.WriteJson(s);
                else Print(s);
                return ExitCodes.Success;
            }
            var r = SectorLocator.Locate(p.GetValue(device)!, ranges, Program.Cancellation);
            foreach (var w in r.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
            if (p.GetValue(json)) CliOutput.WriteJson(r);
            else Print(r);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static void Print(LegSectorReport r)
    {
        Console.WriteLine($"{r.Leg}: slot {r.Slot} of {r.Array}");
        foreach (var l in r.Layers) Console.WriteLine($"  {l.Kind} {l.Device}: {l.Detail}");
        Console.WriteLine($"  file system on {r.FileSystemPath}: {r.FileSystem ?? "(not reached)"}{(r.BlockSize is { } b ? $", {b}-byte blocks" : "")}");
        int below = r.Layers.TakeWhile(l => l.Kind != "md").Count();   // layers between the leg and md (per-leg LUKS)
        foreach (var p in r.Pieces)
        {
            string head = $"  leg sectors {p.LegSectors}: " + string.Concat(p.LayerSectors.Take(below).Select(l => $"{l.Device} sectors {l.Sectors} → "));
            switch (p.Role)
            {
                case Core.Arrays.MdLegRole.BelowArrayLayer: Console.WriteLine(head + $"not in the array: {p.Note}"); continue;
                case Core.Arrays.MdLegRole.Parity: Console.WriteLine(head + $"parity ({p.Parity}): no file data"); continue;
                case Core.Arrays.MdLegRole.MdMetadata: Console.WriteLine(head + "md metadata (before the data offset: superblock, bitmap)"); continue;
                case Core.Arrays.MdLegRole.BeyondArray: Console.WriteLine(head + "beyond the array's data (unused)"); continue;
            }
            string layers = string.Concat(p.LayerSectors.Skip(below).Select(l => $" → {l.Device} sectors {l.Sectors}"));
            Console.WriteLine(head + $"array sectors {p.ArraySectors}{layers}{(p.Note is not null ? $": {p.Note}" : "")}");
            foreach (var o in p.Owners) Console.WriteLine($"    sectors {o.Sectors} (block {o.Block}{(o.Blocks > 1 ? $"-{o.Block + o.Blocks - 1}" : "")}): {Describe(o)}");
        }
    }

    private static void Print(SectorOwnerReport r)
    {
        Console.WriteLine($"{r.FileSystemPath}: {r.FileSystem}, {r.BlockSize}-byte blocks, {r.BlocksResolved} blocks resolved");
        foreach (var o in r.Owners)
            Console.WriteLine($"  sectors {o.Sectors} (block {o.Block}{(o.Blocks > 1 ? $"-{o.Block + o.Blocks - 1}" : "")}): {Describe(o)}");
    }

    private static string Describe(BadBlockOwner o) =>
            o.Kind switch
            {
                BlockOwnerKind.File or BlockOwnerKind.Directory =>
                    $"{(o.Kind == BlockOwnerKind.Directory ? "directory " : "")}{o.Path ?? "(no name)"} (inode {o.Inode}){(o.FileOffset is { } off ? $" bytes {off}-{off + o.Length - 1}" : "")}",
                BlockOwnerKind.FreeSpace => "free space",
                BlockOwnerKind.Metadata => $"metadata: {o.Detail}{(o.Path is not null ? $" of {o.Path}" : "")}",
                _ => $"unknown: {o.Detail}",
            };
}
