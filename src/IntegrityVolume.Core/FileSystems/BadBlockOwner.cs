namespace IntegrityVolume.Core.FileSystems;

/// <summary>What owns a file-system block: a file's data, a directory, the file system's own structures, or nobody.</summary>
public enum BlockOwnerKind
{
    /// <summary>Data of a regular file (or a symlink's target block); Path, Inode and FileOffset say which bytes.</summary>
    File,
    /// <summary>A directory's block (its entries); Path and Inode name the directory.</summary>
    Directory,
    /// <summary>The file system's own structures: superblock, group descriptors, bitmaps, inode tables, journal/log,
    /// btrees, or a file's block map (Inode and Path then name the file whose map it is).</summary>
    Metadata,
    /// <summary>No file owns the block and the allocation bitmap/free-space btree says it is free: nothing lost.</summary>
    FreeSpace,
    /// <summary>No owner recorded: beyond the end of the file system, or a block the tool claims for nobody.</summary>
    Unknown,
}

/// <summary>
/// The owner of one piece of a sector range: the sectors of <see cref="Range"/> that fall in file-system blocks with the
/// same owner and contiguous file offsets. Sectors are 512-byte units of the device holding the file system (for a
/// single integrity volume: /dev/mapper/NAME, the volume's logical sectors, as Test-IntegrityVolume reports them).
/// </summary>
public sealed record BadBlockOwner
{
    /// <summary>The range asked about (a MismatchedSectors entry).</summary>
    public required SectorRange Range { get; init; }
    /// <summary>The part of <see cref="Range"/> this object describes.</summary>
    public required SectorRange Sectors { get; init; }
    /// <summary>ext2, ext3, ext4 or xfs.</summary>
    public required string FileSystem { get; init; }
    /// <summary>First file-system block of the piece (the block number debugfs/xfs_db use; xfs: linear, agno * agblocks + agbno).</summary>
    public required ulong Block { get; init; }
    /// <summary>File-system blocks the piece touches.</summary>
    public required ulong Blocks { get; init; }
    public required BlockOwnerKind Kind { get; init; }
    /// <summary>Inode owning the blocks (files, directories, a file's block map, ext4's journal inode), else null.</summary>
    public ulong? Inode { get; init; }
    /// <summary>Path inside the file system ("/dir/file"); null when no name links the inode.</summary>
    public string? Path { get; init; }
    /// <summary>Byte offset in the file of the piece's first sector (File and Directory), else null.</summary>
    public ulong? FileOffset { get; init; }
    /// <summary>Bytes of the piece (its sectors times 512).</summary>
    public required ulong Length { get; init; }
    /// <summary>What the tool said of the block when no file owns it (e.g. "journal (inode 8)", "xfs sb", "free2").</summary>
    public string? Detail { get; init; }
}

/// <summary>Result of Resolve-IntegrityVolumeSector / ivol locate: the owners of every block of the given ranges.</summary>
public sealed class SectorOwnerReport
{
    /// <summary>Device or image holding the file system.</summary>
    public required string FileSystemPath { get; init; }
    public required string FileSystem { get; init; }
    public required int BlockSize { get; init; }
    public required BadBlockOwner[] Owners { get; init; }
    /// <summary>Distinct file-system blocks resolved.</summary>
    public required ulong BlocksResolved { get; init; }
    /// <summary>Blocks not resolved because the ranges exceed <see cref="SectorLocator.MaxBlocks"/> (listed in Warnings).</summary>
    public required ulong BlocksSkipped { get; init; }
    /// <summary>Mounted file system (stale metadata possible), skipped blocks, and the like.</summary>
    public required string[] Warnings { get; init; }
}
