using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static IntegrityVolume.Core.FileSystems.SectorLocator;

namespace IntegrityVolume.Core.FileSystems;

/// <summary>
/// xfs through xfs_db -r: "blockget -n" walks the whole file system once (owners and names), "daddr D" + "blockuse -n
/// -c N" print each block's type, inode and path; then "inode I" + "bmap -d" give the owning file's extents (file offset
/// → startblock (agno/agbno)). Block numbers here are linear: agno * sb_agblocks + agbno (daddr = block * blocksize / 512).
/// </summary>
internal static partial class XfsResolver
{
    public static Dictionary<ulong, BlockInfo> Resolve(string path, Probe probe, ulong[] blocks, List<string> warnings, CancellationToken ct)
    {
        var result = new Dictionary<ulong, BlockInfo>();
        var ask = new List<ulong>();
        foreach (ulong b in blocks)
        {
            if (b >= probe.Blocks) result[b] = new BlockInfo(BlockOwnerKind.Unknown, Detail: "after the end of the file system");
            else ask.Add(b);
        }
        if (ask.Count == 0) return result;
        string xfsDb = FileSystemTool.Require("xfs_db", "xfsprogs", path);
        ulong spb = (ulong)probe.BlockSize / 512, ag = probe.AgBlocks;

        // Run 1: the owner of every block. Runs never cross an allocation group (blockuse counts agbno within one).
        var script = new StringBuilder("blockget -n\n");
        foreach (var (first, count) in Runs(ask, 65536, (a, b) => a / ag != b / ag))
            script.Append(CultureInfo.InvariantCulture, $"daddr {first * spb}\nblockuse -n -c {count}\n");
        var owned = new Dictionary<ulong, (string Type, ulong? Inode, string? Path)>();
        foreach (string line in Run(xfsDb, path, script.ToString(), warnings, ct).Split('\n'))
            if (BlockuseLine().Match(line.TrimEnd('\r')) is { Success: true } m)
            {
                ulong linear = ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * ag + ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                ulong? ino = m.Groups[4].Success ? ulong.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) : null;
                string? name = m.Groups[5].Success && m.Groups[5].Value.Length > 0 ? "/" + m.Groups[5].Value : null;
                owned[linear] = (m.Groups[3].Value, ino, name);
            }

        var fileInodes = new SortedSet<ulong>();
        foreach (ulong b in ask)
        {
            if (!owned.TryGetValue(b, out var o))
                throw new IntegrityVolumeException(ErrorIds.FileSystemToolFailed, ErrorKind.DeviceError,
                    $"{path}: xfs_db said nothing about block {b}: {FileSystemTool.FirstLines(FileSystemTool.LastErrors ?? "")}", path);
            var kind = Kind(o.Type);
            if (kind is BlockOwnerKind.File or BlockOwnerKind.Directory && o.Inode is { } ino) fileInodes.Add(ino);
            result[b] = new BlockInfo(kind, o.Inode, o.Path, Detail: kind is BlockOwnerKind.File or BlockOwnerKind.Directory ? null : $"xfs {o.Type}");
        }
        if (fileInodes.Count == 0) return result;

        // Run 2: the data-fork extents of every owning file; "print core.mode" starts each inode's section.
        script.Clear();
        foreach (ulong ino in fileInodes) script.Append(CultureInfo.InvariantCulture, $"inode {ino}\nprint core.mode\nbmap -d\n");
        var extents = new Dictionary<ulong, List<(ulong Offset, ulong Start, ulong Count)>>();
        using (var order = fileInodes.GetEnumerator())
        {
            List<(ulong, ulong, ulong)>? current = null;
            foreach (string raw in Run(xfsDb, path, script.ToString(), warnings, ct).Split('\n'))
            {
                string line = raw.TrimEnd('\r');
                if (line.StartsWith("core.mode = ", StringComparison.Ordinal) && order.MoveNext())
                    extents[order.Current] = current = new List<(ulong, ulong, ulong)>();
                else if (current is not null && BmapLine().Match(line) is { Success: true } m)
                    current.Add((ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                        ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * ag + ulong.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                        ulong.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)));
            }
        }
        foreach (ulong b in ask)
        {
            var info = result[b];
            if (info.Inode is not { } ino || info.Kind is not (BlockOwnerKind.File or BlockOwnerKind.Directory) || !extents.TryGetValue(ino, out var list)) continue;
            foreach (var (offset, start, count) in list)
                if (b >= start && b < start + count) { result[b] = info with { FileBlock = offset + (b - start) }; break; }
        }
        return result;
    }

    /// <summary>xfs_db's block types (check.c): file and directory data, free space (in the free-space btrees), the rest metadata.</summary>
    internal static BlockOwnerKind Kind(string type) => type switch
    {
        "data" or "rtdata" or "symlink" or "cowdata" => BlockOwnerKind.File,
        "dir" => BlockOwnerKind.Directory,
        "free1" or "free2" or "rtfree" => BlockOwnerKind.FreeSpace,
        "unknown" or "missing" => BlockOwnerKind.Unknown,
        _ => BlockOwnerKind.Metadata,
    };

    private static string Run(string xfsDb, string path, string script, List<string> warnings, CancellationToken ct)
    {
        var args = new List<string> { "-r" };
        if (File.Exists(path) && !new FileInfo(path).Attributes.HasFlag(FileAttributes.Device) && !path.StartsWith("/dev/", StringComparison.Ordinal)) args.Add("-f");
        args.Add(path);
        string output = FileSystemTool.Run(xfsDb, args, script, path, ct);
        if (FileSystemTool.DamageWarning("xfs_db", FileSystemTool.LastErrors, "xfs_repair -n") is { } w && !warnings.Contains(w)) warnings.Add(w);
        return output;
    }

    [GeneratedRegex(@"^block \d+ \((\d+)/(\d+)\) type (\S+)(?: inode (\d+)(?: (.*))?)?$")] private static partial Regex BlockuseLine();
    [GeneratedRegex(@"^data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+) flag \d+$")] private static partial Regex BmapLine();
}
