using System.Buffers.Binary;

namespace IntegrityVolume.Core.Format;

/// <summary>
/// The dm-integrity superblock (struct superblock): the first 64 bytes of the 4 KiB area at the table offset
/// of the metadata device. Immutable; use <c>with</c> to derive a changed copy.
/// </summary>
public sealed record Superblock
{
    public const int AreaSize = 4096;          // SB_SECTORS * 512
    public const int AreaSectors = 8;          // SB_SECTORS
    public const int SaltSize = 16;            // SALT_SIZE
    public const int MaxTagSize = 424;         // MAX_TAG_SIZE
    public const int MinLog2Interleave = 3;    // MIN_LOG2_INTERLEAVE_SECTORS
    public const int MaxLog2Interleave = 31;   // MAX_LOG2_INTERLEAVE_SECTORS
    public static ReadOnlySpan<byte> Magic => "integrt\0"u8;

    public const SuperblockFlags KnownFlags = SuperblockFlags.HaveJournalMac | SuperblockFlags.Recalculating |
        SuperblockFlags.DirtyBitmap | SuperblockFlags.FixedPadding | SuperblockFlags.FixedHmac | SuperblockFlags.Inline;

    public byte Version { get; init; }
    public byte Log2InterleaveSectors { get; init; }
    public ushort IntegrityTagSize { get; init; }
    public uint JournalSections { get; init; }
    public ulong ProvidedDataSectors { get; init; }
    public SuperblockFlags Flags { get; init; }
    public byte Log2SectorsPerBlock { get; init; }
    public byte Log2BlocksPerBitmapBit { get; init; }
    public ulong RecalcSector { get; init; }
    public byte[] Salt { get; init; } = new byte[SaltSize];

    public int SectorsPerBlock => 1 << Log2SectorsPerBlock;
    public int BlockSize => 512 << Log2SectorsPerBlock;
    public bool HasFlag(SuperblockFlags flag) => (Flags & flag) == flag;

    /// <summary>True when the 8 magic bytes are "integrt\0" (memcmp of 8 bytes, NUL included).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> area) => area.Length >= 8 && area[..8].SequenceEqual(Magic);

    /// <summary>
    /// Parse and validate the superblock area. Checks the rules dm_integrity_ctr applies before it touches
    /// anything else; geometry-dependent checks (provided_data_sectors vs device) are in <see cref="Geometry"/>.
    /// </summary>
    public static Superblock Parse(ReadOnlySpan<byte> area, string? target = null)
    {
        if (area.Length < 64)
            throw Invalid(ErrorIds.DeviceTruncated, $"The device is too small to hold a dm-integrity superblock ({area.Length} bytes).", target);
        if (!HasMagic(area))
            throw Invalid(ErrorIds.SuperblockBadMagic, "No dm-integrity superblock: the magic \"integrt\" is missing.", target);

        var sb = new Superblock
        {
            Version = area[8],
            Log2InterleaveSectors = area[9],
            IntegrityTagSize = BinaryPrimitives.ReadUInt16LittleEndian(area[10..]),
            JournalSections = BinaryPrimitives.ReadUInt32LittleEndian(area[12..]),
            ProvidedDataSectors = BinaryPrimitives.ReadUInt64LittleEndian(area[16..]),
            Flags = (SuperblockFlags)BinaryPrimitives.ReadUInt32LittleEndian(area[24..]),
            Log2SectorsPerBlock = area[28],
            Log2BlocksPerBitmapBit = area[29],
            RecalcSector = BinaryPrimitives.ReadUInt64LittleEndian(area[32..]),
            Salt = area.Slice(48, SaltSize).ToArray(),
        };
        sb.Validate(target);
        return sb;
    }

    /// <summary>The kernel's checks on a superblock it reads (dm_integrity_ctr), as stable errors.</summary>
    public void Validate(string? target = null)
    {
        // "Unknown version"
        if (Version < 1 || Version > 6)
            throw Invalid(ErrorIds.SuperblockUnknownVersion, $"Unknown superblock version {Version} (supported: 1 to 6).", target);
        if ((Flags & ~KnownFlags) != 0)
            throw Invalid(ErrorIds.SuperblockUnknownFlags, $"The superblock has unknown flags 0x{(uint)(Flags & ~KnownFlags):x}; a newer kernel wrote it.", target);
        if (HasFlag(SuperblockFlags.Inline))
            throw new IntegrityVolumeException(ErrorIds.InlineModeNotSupported, ErrorKind.NotSupported,
                "The volume keeps its tags in hardware integrity metadata (inline mode); they cannot be read from a file.", target);
        if (IntegrityTagSize == 0 || IntegrityTagSize > MaxTagSize)
            throw Invalid(ErrorIds.SuperblockBadTagSize, $"Tag size {IntegrityTagSize} is out of range (1 to {MaxTagSize}).", target);
        // "Invalid block size": log2_sectors_per_block is 0..3 (512..4096 bytes).
        if (Log2SectorsPerBlock > 3)
            throw Invalid(ErrorIds.SuperblockBadBlockSize, $"log2_sectors_per_block {Log2SectorsPerBlock} is out of range (0 to 3).", target);
        // "Invalid interleave_sectors in the superblock": 0 means a separate metadata device.
        if (Log2InterleaveSectors != 0 && (Log2InterleaveSectors < MinLog2Interleave || Log2InterleaveSectors > MaxLog2Interleave))
            throw Invalid(ErrorIds.SuperblockBadInterleave, $"log2_interleave_sectors {Log2InterleaveSectors} is out of range ({MinLog2Interleave} to {MaxLog2Interleave}).", target);
        // "Corrupted superblock, journal_sections is 0" (journal, bitmap, direct and recovery modes).
        if (JournalSections == 0)
            throw Invalid(ErrorIds.SuperblockBadJournalSections, "journal_sections is 0: the superblock is corrupt.", target);
        if (ProvidedDataSectors == 0 || (ProvidedDataSectors & (ulong)(SectorsPerBlock - 1)) != 0)
            throw Invalid(ErrorIds.SuperblockBadProvidedSectors, $"provided_data_sectors {ProvidedDataSectors} is not a positive multiple of the block size.", target);
    }

    /// <summary>Serialise into a zeroed 4 KiB area (bytes 64..4095 stay zero unless a superblock MAC is added).</summary>
    public byte[] ToArea()
    {
        var area = new byte[AreaSize];
        Magic.CopyTo(area);
        area[8] = Version;
        area[9] = Log2InterleaveSectors;
        BinaryPrimitives.WriteUInt16LittleEndian(area.AsSpan(10), IntegrityTagSize);
        BinaryPrimitives.WriteUInt32LittleEndian(area.AsSpan(12), JournalSections);
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(16), ProvidedDataSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(area.AsSpan(24), (uint)Flags);
        area[28] = Log2SectorsPerBlock;
        area[29] = Log2BlocksPerBitmapBit;
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(32), RecalcSector);
        Salt.AsSpan(0, SaltSize).CopyTo(area.AsSpan(48));
        return area;
    }

    /// <summary>The version the kernel writes for these flags (sb_set_version).</summary>
    public static byte VersionFor(SuperblockFlags flags, bool bitmapMode, bool metaDevice)
    {
        if ((flags & SuperblockFlags.Inline) != 0) return 6;
        if ((flags & SuperblockFlags.FixedHmac) != 0) return 5;
        if ((flags & SuperblockFlags.FixedPadding) != 0) return 4;
        if (bitmapMode || (flags & SuperblockFlags.DirtyBitmap) != 0) return 3;
        if (metaDevice || (flags & SuperblockFlags.Recalculating) != 0) return 2;
        return 1;
    }

    /// <summary>Flag names as integritysetup dump prints them.</summary>
    public IReadOnlyList<string> FlagNames()
    {
        var names = new List<string>();
        if (HasFlag(SuperblockFlags.HaveJournalMac)) names.Add("have_journal_mac");
        if (HasFlag(SuperblockFlags.Recalculating)) names.Add("recalculating");
        if (HasFlag(SuperblockFlags.DirtyBitmap)) names.Add("dirty_bitmap");
        if (HasFlag(SuperblockFlags.FixedPadding)) names.Add("fix_padding");
        if (HasFlag(SuperblockFlags.FixedHmac)) names.Add("fix_hmac");
        if (HasFlag(SuperblockFlags.Inline)) names.Add("inline");
        return names;
    }

    private static IntegrityVolumeException Invalid(string id, string message, string? target) =>
        new(id, ErrorKind.InvalidData, target is null ? message : $"{target}: {message}", target);
}
