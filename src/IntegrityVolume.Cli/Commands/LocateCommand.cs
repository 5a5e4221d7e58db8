using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.FileSystems;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol locate: which file, directory, metadata or free space the given sectors of a file system belong to
/// (bad block → file). Exit 0 when every range was resolved.</summary>
internal static class LocateCommand
{
    public static Command Create()
    {
        var device = new Argument<string>("fs-device") { Description = "Device or image holding the file system; for an open volume /dev/mapper/NAME (its sector N is the volume's logical sector N)." };
        var sectors = new Option<string[]>("--sectors")
        {
            Description = "Sectors to locate, FIRST or FIRST-LAST (512-byte units, comma or space separated), e.g. the ranges 'ivol verify' lists.",
            AllowMultipleArgumentsPerToken = true, Required = true,
        };
        var json = CommonOptions.Json();
        var cmd = new Command("locate", "Name the file (path and byte offset), directory, metadata or free space each sector belongs to: ext2/3/4 (debugfs) or xfs (xfs_db).")
        {
            device, sectors, json,
        };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            var ranges = p.GetValue(sectors)!
                .SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SectorRange.Parse).ToArray();
            var r = SectorLocator.Locate(p.GetValue(device)!, ranges, Program.Cancellation);
            foreach (var w in r.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
            if (p.GetValue(json)) CliOutput.WriteJson(r);
            else Print(r);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static void Print(SectorOwnerReport r)
    {
        Console.WriteLine($"{r.FileSystemPath}: {r.FileSystem}, {r.BlockSize}-byte blocks, {r.BlocksResolved} blocks resolved");
        foreach (var o in r.Owners)
        {
            string what = o.Kind switch
            {
                BlockOwnerKind.File or BlockOwnerKind.Directory =>
                    $"{(o.Kind == BlockOwnerKind.Directory ? "directory " : "")}{o.Path ?? "(no name)"} (inode {o.Inode}){(o.FileOffset is { } off ? $" bytes {off}-{off + o.Length - 1}" : "")}",
                BlockOwnerKind.FreeSpace => "free space",
                BlockOwnerKind.Metadata => $"metadata: {o.Detail}{(o.Path is not null ? $" of {o.Path}" : "")}",
                _ => $"unknown: {o.Detail}",
            };
            Console.WriteLine($"  sectors {o.Sectors} (block {o.Block}{(o.Blocks > 1 ? $"-{o.Block + o.Blocks - 1}" : "")}): {what}");
        }
    }
}
