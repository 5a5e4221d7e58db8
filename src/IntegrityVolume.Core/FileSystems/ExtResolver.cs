using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static IntegrityVolume.Core.FileSystems.SectorLocator;

namespace IntegrityVolume.Core.FileSystems;

/// <summary>
/// ext2/3/4 through debugfs (read-only, no -w): "icheck" names the inode owning each block, "testb" says whether an
/// unowned block is in use (metadata) or free, "stat &lt;ino&gt;" gives the inode's type and its block map (logical →
/// physical, and the block-map blocks IND/DIND/TIND/ETBn), "ncheck" gives its paths. Two debugfs runs per call.
/// </summary>
internal static partial class ExtResolver
{
    /// <summary>debugfs reads a command file line by line into a BUFSIZ (8192-byte) buffer: longer lines are cut.</summary>
    private const int MaxLine = 7000;

    public static Dictionary<ulong, BlockInfo> Resolve(string path, Probe probe, ulong[] blocks, List<string> warnings, CancellationToken ct)
    {
        var result = new Dictionary<ulong, BlockInfo>();
        var ask = new List<ulong>();
        foreach (ulong b in blocks)
        {
            if (b >= probe.Blocks) result[b] = new BlockInfo(BlockOwnerKind.Unknown, Detail: "after the end of the file system");
            // Block 0 (and a 1 KiB file system's block 0 before s_first_data_block) holds the boot sector and superblock.
            else if (b == 0 || b < probe.FirstDataBlock) result[b] = new BlockInfo(BlockOwnerKind.Metadata, Detail: "superblock");
            else ask.Add(b);
        }
        if (ask.Count == 0) return result;
        string debugfs = FileSystemTool.Require("debugfs", "e2fsprogs", path);

        // Run 1: owner inode of every block, and whether each block is in use.
        var script = new StringBuilder();
        // icheck walks every inode once per command: as many blocks per line as debugfs reads.
        AppendLines(script, "icheck", ask);
        foreach (var (first, count) in Runs(ask, 4096)) script.Append(CultureInfo.InvariantCulture, $"testb {first} {count}\n");
        var sections = Sections(Run(debugfs, path, script.ToString(), warnings, ct));
        var owner = new Dictionary<ulong, ulong>();
        var inUse = new Dictionary<ulong, bool>();
        foreach (var (command, lines) in sections)
            foreach (string line in lines)
            {
                if (command.StartsWith("icheck", StringComparison.Ordinal) && IcheckLine().Match(line) is { Success: true } m && ulong.TryParse(m.Groups[2].Value, out ulong ino))
                    owner[ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = ino;
                else if (command.StartsWith("testb", StringComparison.Ordinal) && TestbLine().Match(line) is { Success: true } t)
                    inUse[ulong.Parse(t.Groups[1].Value, CultureInfo.InvariantCulture)] = t.Groups[2].Value == "marked in use";
            }

        var inodes = new SortedSet<ulong>();
        foreach (ulong b in ask)
        {
            if (owner.TryGetValue(b, out ulong ino))
            {
                if (ino == 2 || ino >= probe.FirstInode) inodes.Add(ino);
                else result[b] = new BlockInfo(BlockOwnerKind.Metadata, ino, Detail: $"{ReservedInode(ino)} (inode {ino})");
            }
            else if (inUse.TryGetValue(b, out bool used))
                result[b] = used
                    ? new BlockInfo(BlockOwnerKind.Metadata, Detail: "file system metadata (superblock copy, group descriptors, bitmaps or inode table)")
                    : new BlockInfo(BlockOwnerKind.FreeSpace, Detail: "free");
            else
                throw new IntegrityVolumeException(ErrorIds.FileSystemToolFailed, ErrorKind.DeviceError,
                    $"{path}: debugfs said nothing about block {b}: {FileSystemTool.FirstLines(FileSystemTool.LastErrors ?? "")}", path);
        }
        if (inodes.Count == 0) return result;

        // Run 2: type and block map of every owning inode, and its names.
        script.Clear();
        foreach (ulong ino in inodes) script.Append(CultureInfo.InvariantCulture, $"stat <{ino}>\n");
        AppendLines(script, "ncheck", inodes);
        var names = new Dictionary<ulong, string>();
        var maps = new Dictionary<ulong, (BlockOwnerKind Kind, List<Extent> Extents)>();
        foreach (var (command, lines) in Sections(Run(debugfs, path, script.ToString(), warnings, ct)))
        {
            if (command.StartsWith("ncheck", StringComparison.Ordinal))
            {
                foreach (string line in lines)
                    if (NcheckLine().Match(line) is { Success: true } m && ulong.TryParse(m.Groups[1].Value, out ulong ino) && !names.ContainsKey(ino))
                        names[ino] = NormalizePath(m.Groups[2].Value);
            }
            else if (StatCommand().Match(command) is { Success: true } s)
                maps[ulong.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture)] = ParseStat(lines);
        }
        foreach (ulong b in ask)
        {
            if (result.ContainsKey(b) || !owner.TryGetValue(b, out ulong ino)) continue;
            string? name = ino == 2 ? "/" : names.GetValueOrDefault(ino);
            if (!maps.TryGetValue(ino, out var map))
            {
                result[b] = new BlockInfo(BlockOwnerKind.File, ino, name);
                continue;
            }
            var hit = map.Extents.FirstOrDefault(e => b >= e.Physical && b < e.Physical + e.Count);
            result[b] = hit is null
                ? new BlockInfo(map.Kind, ino, name)
                : hit.MapBlock is { } what
                    ? new BlockInfo(BlockOwnerKind.Metadata, ino, name, Detail: $"block map ({what}) of inode {ino}")
                    : new BlockInfo(map.Kind, ino, name, hit.Logical + (b - hit.Physical));
        }
        return result;
    }

    /// <summary>"COMMAND n n n ..." lines of at most <see cref="MaxLine"/> characters.</summary>
    private static void AppendLines(StringBuilder script, string command, IEnumerable<ulong> numbers)
    {
        int length = 0;
        foreach (ulong n in numbers)
        {
            string text = n.ToString(CultureInfo.InvariantCulture);
            if (length > 0 && length + 1 + text.Length > MaxLine) { script.Append('\n'); length = 0; }
            if (length == 0) { script.Append(command); length = command.Length; }
            script.Append(' ').Append(text);
            length += 1 + text.Length;
        }
        if (length > 0) script.Append('\n');
    }

    /// <summary>One entry of stat's block list: logical blocks → physical, or a block-map block (IND, DIND, TIND, ETBn).</summary>
    internal sealed record Extent(ulong Logical, ulong Physical, ulong Count, string? MapBlock);

    internal static (BlockOwnerKind Kind, List<Extent> Extents) ParseStat(IEnumerable<string> lines)
    {
        var kind = BlockOwnerKind.File;
        var extents = new List<Extent>();
        bool inList = false;
        foreach (string line in lines)
        {
            if (TypeField().Match(line) is { Success: true } t && t.Groups[1].Value == "directory") kind = BlockOwnerKind.Directory;
            if (line.StartsWith("EXTENTS:", StringComparison.Ordinal) || line.StartsWith("BLOCKS:", StringComparison.Ordinal)) { inList = true; continue; }
            if (!inList) continue;
            foreach (Match m in StatEntry().Matches(line))
            {
                ulong p1 = ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                ulong p2 = m.Groups[3].Success ? ulong.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : p1;
                string inner = m.Groups[1].Value;
                if (LogicalRange().Match(inner) is { Success: true } l)
                    extents.Add(new Extent(ulong.Parse(l.Groups[1].Value, CultureInfo.InvariantCulture), p1, p2 - p1 + 1, null));
                else
                    extents.Add(new Extent(0, p1, p2 - p1 + 1, inner));
            }
        }
        return (kind, extents);
    }

    /// <summary>debugfs 1.47 prints a root entry's path with a doubled slash ("//a.bin").</summary>
    private static string NormalizePath(string p) => p.StartsWith("//", StringComparison.Ordinal) ? p[1..] : p;

    private static string ReservedInode(ulong ino) => ino switch
    {
        1 => "bad blocks list", 3 => "user quota", 4 => "group quota", 5 => "boot loader", 6 => "undelete directory",
        7 => "reserved group descriptors (resize inode)", 8 => "journal", 9 => "exclude bitmap", 10 => "replica",
        _ => "reserved inode",
    };

    private static string Run(string debugfs, string path, string script, List<string> warnings, CancellationToken ct)
    {
        string output = FileSystemTool.Run(debugfs, new[] { "-f", "-", path }, script, path, ct);
        if (FileSystemTool.DamageWarning("debugfs", FileSystemTool.LastErrors, "e2fsck -fn") is { } w && !warnings.Contains(w)) warnings.Add(w);
        return output;
    }

    /// <summary>debugfs echoes each command read from a file as "debugfs: CMD": the output in (command, lines) sections.</summary>
    internal static List<(string Command, List<string> Lines)> Sections(string output)
    {
        var sections = new List<(string, List<string>)>();
        List<string>? current = null;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("debugfs: ", StringComparison.Ordinal))
            {
                current = new List<string>();
                sections.Add((line["debugfs: ".Length..], current));
            }
            else current?.Add(line);
        }
        return sections;
    }

    [GeneratedRegex(@"^(\d+)\t(\d+|<block not found>)$")] private static partial Regex IcheckLine();
    [GeneratedRegex(@"^Block (\d+) (marked in use|not in use)$")] private static partial Regex TestbLine();
    [GeneratedRegex(@"^(\d+)\t(.*)$")] private static partial Regex NcheckLine();
    [GeneratedRegex(@"^stat <(\d+)>$")] private static partial Regex StatCommand();
    [GeneratedRegex(@"Type: (\S+)")] private static partial Regex TypeField();
    [GeneratedRegex(@"\(([^)]*)\)(?:\[[^\]]*\])?:(\d+)(?:-(\d+))?")] private static partial Regex StatEntry();
    [GeneratedRegex(@"^(\d+)(?:-\d+)?$")] private static partial Regex LogicalRange();
}
