using System.Buffers.Binary;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.FileSystems;

/// <summary>
/// Bad block → file: which file (path, byte offset), directory, metadata or free space each sector of the given ranges
/// belongs to. The file system is recognised by its superblock magic; its own read-only tools answer (ext2/3/4:
/// debugfs icheck, testb, stat, ncheck; xfs: xfs_db blockget -n, blockuse -n, bmap). Nothing is parsed here beyond the
/// superblock fields that turn sectors into block numbers.
/// </summary>
/// <remarks>
/// A mounted file system is read as the device holds it: the tools may see stale metadata for recently changed files
/// (the report warns); unmount, or remount read-only, for an exact answer.
/// </remarks>
public static class SectorLocator
{
    /// <summary>At most this many distinct file-system blocks are resolved per call (the rest are counted and named in a warning).</summary>
    public const ulong MaxBlocks = 65536;

    /// <summary>What a resolver says of one block: its owner and, for a file or directory, its logical block in that file.</summary>
    internal sealed record BlockInfo(BlockOwnerKind Kind, ulong? Inode = null, string? Path = null, ulong? FileBlock = null, string? Detail = null);

    /// <summary>The superblock fields a resolver needs: name, block size, blocks, and the xfs allocation group size.</summary>
    internal sealed record Probe(string FileSystem, int BlockSize, ulong Blocks, uint FirstDataBlock, uint FirstInode, uint AgBlocks);

    public static SectorOwnerReport Locate(string fileSystemPath, IReadOnlyList<SectorRange> ranges, CancellationToken ct = default, ulong maxBlocks = MaxBlocks)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        Probe probe;
        ulong deviceSectors;
        using (var device = BlockDevice.Open(fileSystemPath, write: false, ct: ct))
        {
            deviceSectors = (ulong)device.Sectors;
            var head = new byte[4096];
            if (device.Length < head.Length) throw NotRecognized(fileSystemPath, "it is smaller than any file system's superblock area");
            device.Read(0, head);
            probe = ProbeSuperblock(head, fileSystemPath);
        }
        foreach (var r in ranges)
        {
            if (r.Sectors == 0 || r.End > deviceSectors || r.End < r.Start)
                throw new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument,
                    $"{fileSystemPath}: sectors {r} are outside the device ({deviceSectors} sectors of 512 bytes).", fileSystemPath);
        }

        // Distinct blocks in ascending order, at most maxBlocks of them.
        ulong spb = (ulong)probe.BlockSize / 512;
        var blocks = new SortedSet<ulong>();
        ulong skipped = 0;
        foreach (var r in ranges)
            for (ulong b = r.Start / spb; b <= r.Last / spb; b++)
            {
                if (blocks.Contains(b)) continue;
                if ((ulong)blocks.Count >= maxBlocks) { skipped += r.Last / spb - b + 1; break; }
                blocks.Add(b);
            }

        var warnings = new List<string>();
        if (DeviceUsage.FindUser(fileSystemPath) is { } user && user.StartsWith("mounted", StringComparison.Ordinal))
            warnings.Add($"{fileSystemPath} is {user}: the tool reads the device as it is and may see stale metadata for files changed since the last sync; unmount (or remount read-only) for an exact answer.");
        if (skipped > 0)
            warnings.Add($"Only the first {maxBlocks} file-system blocks were resolved; {skipped} more blocks of the ranges were not (ask about fewer sectors at a time).");

        var owners = probe.FileSystem == "xfs"
            ? XfsResolver.Resolve(fileSystemPath, probe, blocks.ToArray(), warnings, ct)
            : ExtResolver.Resolve(fileSystemPath, probe, blocks.ToArray(), warnings, ct);

        return new SectorOwnerReport
        {
            FileSystemPath = fileSystemPath, FileSystem = probe.FileSystem, BlockSize = probe.BlockSize,
            Owners = Pieces(ranges, probe, owners).ToArray(),
            BlocksResolved = (ulong)blocks.Count, BlocksSkipped = skipped, Warnings = warnings.ToArray(),
        };
    }

    /// <summary>ext2/3/4 (magic 0xEF53 at byte 1080) or xfs ("XFSB" at byte 0); FileSystemNotRecognized otherwise.</summary>
    internal static Probe ProbeSuperblock(ReadOnlySpan<byte> head, string path)
    {
        if (head[..4].SequenceEqual("XFSB"u8))
        {
            uint bs = BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
            ulong dblocks = BinaryPrimitives.ReadUInt64BigEndian(head[8..]);
            uint agblocks = BinaryPrimitives.ReadUInt32BigEndian(head[84..]);
            if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0 || agblocks == 0)
                throw NotRecognized(path, "its xfs superblock has an impossible block size or allocation group size");
            return new Probe("xfs", (int)bs, dblocks, 0, 0, agblocks);
        }
        var sb = head.Slice(1024, 1024);
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb[0x38..]) == 0xEF53)
        {
            uint log = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x18..]);
            if (log > 6) throw NotRecognized(path, "its ext superblock has an impossible block size");
            uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x5C..]);
            uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x60..]);
            ulong blocks = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x04..]);
            if ((incompat & 0x80) != 0) blocks |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x150..]) << 32;   // INCOMPAT_64BIT
            uint firstIno = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x4C..]) == 0 ? 11 : BinaryPrimitives.ReadUInt32LittleEndian(sb[0x54..]);
            // ext4: extents, 64bit or flex_bg; ext3: a journal; else ext2 (as blkid names them).
            string name = (incompat & (0x40 | 0x80 | 0x200)) != 0 ? "ext4" : (compat & 0x4) != 0 ? "ext3" : "ext2";
            return new Probe(name, 1024 << (int)log, blocks, BinaryPrimitives.ReadUInt32LittleEndian(sb[0x14..]), firstIno, 0);
        }
        throw NotRecognized(path, "it holds neither an ext2/3/4 nor an xfs superblock");
    }

    private static IntegrityVolumeException NotRecognized(string path, string why) =>
        new(ErrorIds.FileSystemNotRecognized, ErrorKind.InvalidData,
            $"{path}: no supported file system found: {why} (supported: ext2, ext3, ext4, xfs; give the device holding the file system, for an open volume /dev/mapper/NAME).", path);

    /// <summary>Each range cut at owner changes: consecutive blocks with one owner and contiguous file offsets form one piece.</summary>
    private static IEnumerable<BadBlockOwner> Pieces(IReadOnlyList<SectorRange> ranges, Probe probe, IReadOnlyDictionary<ulong, BlockInfo> owners)
    {
        ulong spb = (ulong)probe.BlockSize / 512;
        foreach (var range in ranges)
        {
            BadBlockOwner? current = null;
            for (ulong block = range.Start / spb; block <= range.Last / spb; block++)
            {
                if (!owners.TryGetValue(block, out var info)) break;   // beyond the cap
                ulong start = Math.Max(range.Start, block * spb), end = Math.Min(range.End, (block + 1) * spb);
                ulong? offset = info.FileBlock is { } fb ? fb * (ulong)probe.BlockSize + (start - block * spb) * 512 : null;
                if (current is not null && current.Kind == info.Kind && current.Inode == info.Inode && current.Path == info.Path
                    && current.Detail == info.Detail && current.Sectors.End == start
                    && (offset is null ? current.FileOffset is null : current.FileOffset + current.Length == offset))
                {
                    current = current with
                    {
                        Sectors = new SectorRange(current.Sectors.Start, end - current.Sectors.Start),
                        Blocks = block - current.Block + 1, Length = (end - current.Sectors.Start) * 512,
                    };
                    continue;
                }
                if (current is not null) yield return current;
                current = new BadBlockOwner
                {
                    Range = range, Sectors = new SectorRange(start, end - start), FileSystem = probe.FileSystem,
                    Block = block, Blocks = 1, Kind = info.Kind, Inode = info.Inode, Path = info.Path,
                    FileOffset = offset, Length = (end - start) * 512, Detail = info.Detail,
                };
            }
            if (current is not null) yield return current;
        }
    }

    /// <summary>Consecutive runs of ascending block numbers, each cut at <paramref name="limit"/> blocks or where <paramref name="cut"/> says.</summary>
    internal static IEnumerable<(ulong First, ulong Count)> Runs(IReadOnlyList<ulong> sorted, ulong limit, Func<ulong, ulong, bool>? cut = null)
    {
        int i = 0;
        while (i < sorted.Count)
        {
            ulong first = sorted[i], count = 1;
            while (i + (int)count < sorted.Count && sorted[i + (int)count] == first + count && count < limit
                   && (cut is null || !cut(first + count - 1, first + count)))
                count++;
            i += (int)count;
            yield return (first, count);
        }
    }
}
