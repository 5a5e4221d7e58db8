using System.Numerics;

namespace IntegrityVolume.Core.Format;

/// <summary>
/// The layout of a volume, computed exactly as dm-integrity computes it (calculate_journal_section_size,
/// calculate_device_limits, initialize_superblock). All sector numbers are 512-byte sectors.
/// Interleaved layout: [start][SB 8][journal][metadata run 0][interleave area 0][metadata run 1][area 1]...
/// Separate metadata device: data at logical sector s of the data device; tags packed after the journal.
/// </summary>
public sealed record Geometry
{
    public const int JournalBlockSectors = 8;        // JOURNAL_BLOCK_SECTORS
    public const int JournalSectorData = 504;        // JOURNAL_SECTOR_DATA
    public const int JournalMacPerSector = 8;        // JOURNAL_MAC_PER_SECTOR
    public const int JournalEntryRoundup = 8;        // JOURNAL_ENTRY_ROUNDUP
    public const int MetadataPaddingSectors = 8;     // METADATA_PADDING_SECTORS
    public const ulong DefaultInterleaveSectors = 32768;
    public const ulong DefaultMaxJournalSectors = 131072;  // 64-bit kernels
    public const int DefaultJournalSizeFactor = 7;
    public const int DefaultLog2BufferSectors = 7;          // buffer_sectors 128
    public const int DefaultLog2SectorsPerBitmapBit = 15;   // DEFAULT_SECTORS_PER_BITMAP_BIT 32768

    public int TagSize { get; init; }
    public int Log2SectorsPerBlock { get; init; }
    public int SectorsPerBlock => 1 << Log2SectorsPerBlock;
    public int BlockSize => 512 << Log2SectorsPerBlock;
    public bool HaveJournalMac { get; init; }
    public bool FixedPadding { get; init; }

    public int JournalEntrySize { get; init; }
    public int JournalEntriesPerSector { get; init; }
    public int JournalSectionEntries { get; init; }
    public int JournalSectionSectors { get; init; }
    public uint JournalSections { get; init; }
    /// <summary>Superblock plus journal (SB_SECTORS + journal_section_sectors * journal_sections).</summary>
    public ulong InitialSectors { get; init; }

    /// <summary>Reserved sectors before the superblock (table argument "offset"); on the metadata device.</summary>
    public ulong Start { get; init; }
    public bool SeparateMetadata { get; init; }
    /// <summary>log2 of the interleave area size; 0 with a separate metadata device.</summary>
    public int Log2InterleaveSectors { get; init; }
    public ulong InterleaveSectors => SeparateMetadata ? ProvidedDataSectors : 1UL << Log2InterleaveSectors;
    /// <summary>Sectors of tags in front of each interleave area (1 with a separate metadata device, as in the kernel).</summary>
    public ulong MetadataRunSectors { get; init; }
    public ulong ProvidedDataSectors { get; init; }
    public ulong MetadataDeviceSectors { get; init; }
    public ulong DataDeviceSectors { get; init; }

    public ulong Blocks => ProvidedDataSectors >> Log2SectorsPerBlock;
    public ulong Areas => SeparateMetadata ? 1 : (ProvidedDataSectors + InterleaveSectors - 1) >> Log2InterleaveSectors;
    public ulong BlocksPerArea => SeparateMetadata ? Blocks : InterleaveSectors >> Log2SectorsPerBlock;
    /// <summary>First sector of journal section 0 on the metadata device.</summary>
    public ulong JournalStartSector => Start + Superblock.AreaSectors;
    public ulong JournalSectors => (ulong)JournalSectionSectors * JournalSections;

    /// <summary>Logical sector of block <paramref name="blockInArea"/> of interleave area <paramref name="area"/>.</summary>
    public ulong LogicalSector(ulong area, ulong blockInArea) => (area << Log2InterleaveSectors) + (blockInArea << Log2SectorsPerBlock);

    /// <summary>Data-device sector holding logical sector <paramref name="logicalSector"/> (get_data_sector).</summary>
    public ulong DataSector(ulong logicalSector)
    {
        if (SeparateMetadata) return logicalSector;
        ulong area = logicalSector >> Log2InterleaveSectors;
        ulong offset = logicalSector & (InterleaveSectors - 1);
        return Start + InitialSectors + (area << Log2InterleaveSectors) + (area + 1) * MetadataRunSectors + offset;
    }

    /// <summary>Byte offset on the metadata device of the first tag of <paramref name="area"/>.</summary>
    public ulong AreaTagOffset(ulong area) =>
        SeparateMetadata ? (Start + InitialSectors) * 512
                         : (Start + InitialSectors + (area << Log2InterleaveSectors) + area * MetadataRunSectors) * 512;

    /// <summary>Byte offset on the metadata device of the tag of the block starting at <paramref name="logicalSector"/>.
    /// Tags are packed back to back in each metadata run (get_metadata_sector_and_offset).</summary>
    public ulong TagOffset(ulong logicalSector)
    {
        if (SeparateMetadata) return AreaTagOffset(0) + (logicalSector >> Log2SectorsPerBlock) * (ulong)TagSize;
        ulong area = logicalSector >> Log2InterleaveSectors;
        ulong offsetBlocks = (logicalSector & (InterleaveSectors - 1)) >> Log2SectorsPerBlock;
        return AreaTagOffset(area) + offsetBlocks * (ulong)TagSize;
    }

    /// <summary>Logical sectors in <paramref name="area"/> (the last area may be partial).</summary>
    public ulong AreaSectors(ulong area)
    {
        if (SeparateMetadata) return ProvidedDataSectors;
        ulong first = area << Log2InterleaveSectors;
        return Math.Min(InterleaveSectors, ProvidedDataSectors - first);
    }

    public readonly record struct JournalShape(int EntrySize, int EntriesPerSector, int SectionEntries, int SectionSectors);

    /// <summary>calculate_journal_section_size.</summary>
    public static JournalShape ComputeJournalShape(int tagSize, int log2SectorsPerBlock, bool haveJournalMac)
    {
        int spb = 1 << log2SectorsPerBlock;
        int entrySize = RoundUp(8 + 8 * spb + tagSize, JournalEntryRoundup);
        int sectorSpace = JournalSectorData - (haveJournalMac ? JournalMacPerSector : 0);
        int perSector = sectorSpace / entrySize;
        int sectionEntries = perSector * JournalBlockSectors;
        int sectionSectors = (sectionEntries << log2SectorsPerBlock) + JournalBlockSectors;
        return new JournalShape(entrySize, perSector, sectionEntries, sectionSectors);
    }

    /// <summary>
    /// Layout of an existing volume from its superblock and the device sizes. Checks what the kernel checks at
    /// activation: the provided_data_sectors in the superblock must fit the device(s).
    /// </summary>
    public static Geometry FromSuperblock(Superblock sb, ulong metadataDeviceSectors, ulong start = 0,
        bool separateMetadata = false, ulong dataDeviceSectors = 0, string? target = null)
    {
        if (separateMetadata != (sb.Log2InterleaveSectors == 0))
            throw new IntegrityVolumeException(ErrorIds.DataDeviceMismatch, ErrorKind.InvalidArgument, separateMetadata
                ? "The superblock describes an interleaved volume, but a separate data device was given."
                : "The superblock describes a volume with a separate data device (log2_interleave_sectors 0); give the data device too.", target);
        // A device's length is a 64-bit signed byte count, so no real device has 2^54 sectors or more; with that
        // bound, and the bounds below checked before any shift or multiply, every later sum and byte offset stays in 64 bits.
        const ulong maxDeviceSectors = (ulong)long.MaxValue / 512;
        if (metadataDeviceSectors > maxDeviceSectors || dataDeviceSectors > maxDeviceSectors)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"A device of {Math.Max(metadataDeviceSectors, dataDeviceSectors)} sectors is larger than 2^63 bytes.", target);
        if (start >= metadataDeviceSectors)
            throw new IntegrityVolumeException(ErrorIds.DeviceTruncated, ErrorKind.InvalidData,
                $"{start} reserved sectors are beyond the end of the device ({metadataDeviceSectors} sectors).", target);
        ulong dataSectors = separateMetadata ? dataDeviceSectors : metadataDeviceSectors;
        if (sb.ProvidedDataSectors > dataSectors)
            throw new IntegrityVolumeException(ErrorIds.SuperblockProvidedSectorsTooLarge, ErrorKind.InvalidData,
                $"provided_data_sectors {sb.ProvidedDataSectors} in the superblock is larger than the {(separateMetadata ? "data " : "")}device " +
                $"({dataSectors} sectors); the device is truncated or the superblock is corrupt.", target);
        var shape = ComputeJournalShape(sb.IntegrityTagSize, sb.Log2SectorsPerBlock, sb.HasFlag(SuperblockFlags.HaveJournalMac));
        if (shape.EntriesPerSector == 0)
            throw new IntegrityVolumeException(ErrorIds.SuperblockBadTagSize, ErrorKind.InvalidData,
                $"Tag size {sb.IntegrityTagSize} leaves no room for a journal entry.", target);
        // calculate_device_limits: initial_sectors + METADATA_PADDING_SECTORS < device and initial_sectors <= UINT_MAX.
        ulong initial = Superblock.AreaSectors + (ulong)shape.SectionSectors * sb.JournalSections;
        if (initial > uint.MaxValue || initial + MetadataPaddingSectors >= metadataDeviceSectors)
            throw new IntegrityVolumeException(ErrorIds.SuperblockBadJournalSections, ErrorKind.InvalidData,
                $"journal_sections {sb.JournalSections} in the superblock needs {initial} sectors for superblock and journal, more than the " +
                $"device ({metadataDeviceSectors} sectors) holds; the superblock is corrupt.", target);
        var g = Build(shape, sb.IntegrityTagSize, sb.Log2SectorsPerBlock, sb.HasFlag(SuperblockFlags.HaveJournalMac),
            sb.HasFlag(SuperblockFlags.FixedPadding), sb.JournalSections, sb.Log2InterleaveSectors, start, separateMetadata,
            sb.ProvidedDataSectors, metadataDeviceSectors, dataSectors);
        if (!g.FitsDevice(DefaultLog2BufferSectors))
        {
            // The kernel maps at most what its own greedy loop finds for this device ("Not enough provided sectors").
            ulong max = g.MaxProvidedSectors();
            string message = max == 0
                ? (separateMetadata
                    ? $"integrity_tag_size {sb.IntegrityTagSize} and journal_sections {sb.JournalSections} leave no room for tags on the metadata device ({metadataDeviceSectors} sectors)"
                    : $"integrity_tag_size {sb.IntegrityTagSize}, log2_interleave_sectors {sb.Log2InterleaveSectors} and log2_sectors_per_block {sb.Log2SectorsPerBlock} " +
                      $"need a metadata run of {g.MetadataRunSectors} sectors, leaving no room for data on the device ({metadataDeviceSectors} sectors)")
                : $"provided_data_sectors {sb.ProvidedDataSectors} in the superblock is more than the {max} sectors this layout fits on the device " +
                  $"({metadataDeviceSectors} sectors)";
            throw new IntegrityVolumeException(ErrorIds.SuperblockProvidedSectorsTooLarge, ErrorKind.InvalidData,
                message + "; the device is truncated or the superblock is corrupt.", target);
        }
        return g;
    }

    /// <summary>metadata_run: sectors of tags after each interleaved area, roundup(tag_size &lt;&lt; (log2_interleave - log2_spb), padding) / 512.</summary>
    public static ulong MetadataRun(int tagSize, int log2SectorsPerBlock, int log2InterleaveSectors, bool fixedPadding)
    {
        ulong padding = fixedPadding ? 4096UL : 512UL << MetadataPaddingSectors;
        ulong bytes = (ulong)tagSize << (log2InterleaveSectors - log2SectorsPerBlock);
        return (bytes + padding - 1) / padding * padding / 512;
    }

    /// <summary>get_provided_data_sectors: the largest provided_data_sectors (bits 3 and up, set greedily) that fits the device.</summary>
    private ulong MaxProvidedSectors()
    {
        if (SeparateMetadata)
        {
            ulong p = DataDeviceSectors & ~(ulong)(SectorsPerBlock - 1);
            return (this with { ProvidedDataSectors = p }).FitsDevice(DefaultLog2BufferSectors) ? p : 0;
        }
        ulong provided = 0;
        for (int bit = BitOperations.Log2(MetadataDeviceSectors); bit >= 3 && MetadataDeviceSectors > 0; bit--)
            if ((this with { ProvidedDataSectors = provided | (1UL << bit) }).FitsDevice(DefaultLog2BufferSectors)) provided |= 1UL << bit;
        return provided;
    }

    private static Geometry Build(JournalShape shape, int tagSize, int log2Spb, bool mac, bool fixedPadding, uint journalSections,
        int log2Interleave, ulong start, bool separate, ulong provided, ulong metaSectors, ulong dataSectors)
    {
        ulong run = separate ? 1 : MetadataRun(tagSize, log2Spb, log2Interleave, fixedPadding);
        return new Geometry
        {
            TagSize = tagSize, Log2SectorsPerBlock = log2Spb, HaveJournalMac = mac, FixedPadding = fixedPadding,
            JournalEntrySize = shape.EntrySize, JournalEntriesPerSector = shape.EntriesPerSector,
            JournalSectionEntries = shape.SectionEntries, JournalSectionSectors = shape.SectionSectors,
            JournalSections = journalSections,
            InitialSectors = Superblock.AreaSectors + (ulong)shape.SectionSectors * journalSections,
            Start = start, SeparateMetadata = separate, Log2InterleaveSectors = separate ? 0 : log2Interleave,
            MetadataRunSectors = run, ProvidedDataSectors = provided,
            MetadataDeviceSectors = metaSectors, DataDeviceSectors = dataSectors,
        };
    }

    /// <summary>calculate_device_limits: does this layout fit the device(s)? Overflow counts as "does not fit".</summary>
    private bool FitsDevice(int log2BufferSectors)
    {
        try
        {
            checked
            {
                if (InitialSectors + MetadataPaddingSectors >= MetadataDeviceSectors || InitialSectors > uint.MaxValue) return false;
                if (ProvidedDataSectors == 0 || ProvidedDataSectors > DataDeviceSectors) return false;
                if (!SeparateMetadata)
                {
                    ulong lastSector = ProvidedDataSectors - 1, area = lastSector >> Log2InterleaveSectors;
                    ulong last = Start + InitialSectors + (area << Log2InterleaveSectors) + (area + 1) * MetadataRunSectors +
                                 (lastSector & (InterleaveSectors - 1));
                    return last >= Start && last < MetadataDeviceSectors;
                }
                ulong bufferBytes = 512UL << log2BufferSectors;
                ulong metaBytes = (ProvidedDataSectors >> Log2SectorsPerBlock) * (ulong)TagSize;
                ulong metaSectors = (metaBytes + bufferBytes - 1) / bufferBytes << log2BufferSectors;
                return InitialSectors + metaSectors <= MetadataDeviceSectors;
            }
        }
        catch (OverflowException) { return false; }
    }

    /// <summary>
    /// This volume's layout on devices of a new size, as the kernel's constructor computes it at the next activation
    /// (get_provided_data_sectors from the device, then calculate_device_limits; with a separate metadata device
    /// the buffer is halved down to 8 sectors before giving up). Everything but provided_data_sectors is kept:
    /// the interleave areas stay where they are and new ones follow. DeviceTooSmall when nothing fits.
    /// </summary>
    public Geometry Resized(ulong metadataDeviceSectors, ulong dataDeviceSectors, string? target = null)
    {
        const ulong maxDeviceSectors = (ulong)long.MaxValue / 512;
        if (metadataDeviceSectors > maxDeviceSectors || dataDeviceSectors > maxDeviceSectors)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"A device of {Math.Max(metadataDeviceSectors, dataDeviceSectors)} sectors is larger than 2^63 bytes.", target);
        var g = this with { MetadataDeviceSectors = metadataDeviceSectors, DataDeviceSectors = SeparateMetadata ? dataDeviceSectors : metadataDeviceSectors, ProvidedDataSectors = 0 };
        if (g.InitialSectors + MetadataPaddingSectors >= metadataDeviceSectors || metadataDeviceSectors <= Start)
            throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
                $"A device of {metadataDeviceSectors} sectors is too small for this volume's superblock and journal ({Start + g.InitialSectors + MetadataPaddingSectors} sectors and more).", target);
        if (SeparateMetadata)
        {
            ulong p = g.DataDeviceSectors & ~(ulong)(SectorsPerBlock - 1);
            var sep = g with { ProvidedDataSectors = p };
            for (int log2Buffer = DefaultLog2BufferSectors; log2Buffer >= 3; log2Buffer--)
                if (p > 0 && sep.FitsDevice(log2Buffer)) return sep;
            throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
                p == 0 ? $"A data device of {dataDeviceSectors} sectors holds no {BlockSize}-byte block."
                       : $"The metadata device ({metadataDeviceSectors} sectors) is too small for the tags of {p} data sectors; grow the metadata device first.", target);
        }
        ulong max = g.MaxProvidedSectors();
        if (max == 0)
            throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
                $"A device of {metadataDeviceSectors} sectors leaves no room for data after this volume's superblock, journal and first metadata run.", target);
        return g with { ProvidedDataSectors = max };
    }

    /// <summary>What the kernel's format (initialize_superblock) needs to know.</summary>
    public sealed record FormatInput
    {
        public required int TagSize { get; init; }
        public int Log2SectorsPerBlock { get; init; }
        public bool HaveJournalMac { get; init; }
        public bool FixedPadding { get; init; } = true;
        /// <summary>Requested journal size in sectors; null = the kernel default min(131072, device >> 7).</summary>
        public ulong? JournalSectors { get; init; }
        /// <summary>Requested interleave; null = 32768. Rounded down to a power of two and clamped to 2^3..2^31.</summary>
        public ulong? InterleaveSectors { get; init; }
        public ulong Start { get; init; }
        /// <summary>Size of the device that holds the superblock (the metadata device when separate).</summary>
        public required ulong MetadataDeviceSectors { get; init; }
        /// <summary>Data device size with a separate metadata device; 0 otherwise.</summary>
        public ulong DataDeviceSectors { get; init; }
        public bool SeparateMetadata { get; init; }
        public int Log2BufferSectors { get; init; } = DefaultLog2BufferSectors;
    }

    /// <summary>
    /// The layout the kernel picks when it formats (initialize_superblock, including the greedy bit loops for
    /// provided_data_sectors and, with a separate metadata device, journal_sections and the buffer size).
    /// </summary>
    public static Geometry ForFormat(FormatInput f)
    {
        var shape = ComputeJournalShape(f.TagSize, f.Log2SectorsPerBlock, f.HaveJournalMac);
        if (shape.EntriesPerSector == 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"Tag size {f.TagSize} is too large.");
        // The kernel sees the device from the table offset on: device sectors include the reserved start.
        ulong deviceForJournal = f.SeparateMetadata ? f.DataDeviceSectors : f.MetadataDeviceSectors;
        // The table's journal_sectors is 32-bit (dm_integrity_ctr parses "%u"): more cannot be asked of the kernel.
        if (f.JournalSectors > uint.MaxValue)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"The journal size ({f.JournalSectors} sectors) is more than the kernel accepts ({uint.MaxValue} sectors, 2 TiB).");
        ulong journalSectors = f.JournalSectors ?? Math.Min(DefaultMaxJournalSectors, deviceForJournal >> DefaultJournalSizeFactor);
        if (journalSectors == 0) journalSectors = 1; // journal_sectors:0 is treated as 1
        uint journalSections = (uint)Math.Max(1UL, journalSectors / (ulong)shape.SectionSectors);

        if (!f.SeparateMetadata)
        {
            ulong interleave = f.InterleaveSectors is null or 0 ? DefaultInterleaveSectors : f.InterleaveSectors.Value;
            int log2Interleave = Math.Clamp(BitOperations.Log2(interleave), Superblock.MinLog2Interleave, Superblock.MaxLog2Interleave);
            ulong provided = 0;
            for (int bit = BitOperations.Log2(f.MetadataDeviceSectors); bit >= 3 && f.MetadataDeviceSectors > 0; bit--)
            {
                ulong candidate = provided | (1UL << bit);
                var g = Build(shape, f.TagSize, f.Log2SectorsPerBlock, f.HaveJournalMac, f.FixedPadding, journalSections,
                    log2Interleave, f.Start, false, candidate, f.MetadataDeviceSectors, f.MetadataDeviceSectors);
                if (g.FitsDevice(f.Log2BufferSectors)) provided = candidate;
            }
            if (provided == 0)
                throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
                    $"The device ({f.MetadataDeviceSectors} sectors) is too small for a dm-integrity volume with this journal and tag size.");
            return Build(shape, f.TagSize, f.Log2SectorsPerBlock, f.HaveJournalMac, f.FixedPadding, journalSections,
                log2Interleave, f.Start, false, provided, f.MetadataDeviceSectors, f.MetadataDeviceSectors);
        }

        ulong dataProvided = f.DataDeviceSectors & ~(ulong)((1 << f.Log2SectorsPerBlock) - 1);
        for (int log2Buffer = f.Log2BufferSectors; log2Buffer >= 3; log2Buffer--)
        {
            uint sections = 0;
            for (int bit = BitOperations.Log2(journalSections); bit >= 0; bit--)
            {
                uint candidate = sections | (1U << bit);
                if (candidate > journalSections) continue;
                var g = Build(shape, f.TagSize, f.Log2SectorsPerBlock, f.HaveJournalMac, false, candidate, 0, f.Start, true,
                    dataProvided, f.MetadataDeviceSectors, f.DataDeviceSectors);
                if (g.FitsDevice(log2Buffer)) sections = candidate;
            }
            if (sections != 0)
                return Build(shape, f.TagSize, f.Log2SectorsPerBlock, f.HaveJournalMac, false, sections, 0, f.Start, true,
                    dataProvided, f.MetadataDeviceSectors, f.DataDeviceSectors);
        }
        throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
            $"The metadata device ({f.MetadataDeviceSectors} sectors) is too small for the tags of {dataProvided} data sectors.");
    }

    /// <summary>
    /// log2_blocks_per_bitmap_bit the kernel records at format: sectors per bit (default 32768) raised until the
    /// bitmap fits in the journal area (dm_integrity_ctr).
    /// </summary>
    public int Log2BlocksPerBitmapBit(int log2SectorsPerBitmapBit = DefaultLog2SectorsPerBitmapBit)
    {
        if (log2SectorsPerBitmapBit < Log2SectorsPerBlock) log2SectorsPerBitmapBit = Log2SectorsPerBlock;
        ulong bitsInJournal = Math.Min(uint.MaxValue, JournalSectors << (9 + 3));
        while (bitsInJournal < (ProvidedDataSectors + (1UL << log2SectorsPerBitmapBit) - 1) >> log2SectorsPerBitmapBit)
            log2SectorsPerBitmapBit++;
        return log2SectorsPerBitmapBit - Log2SectorsPerBlock;
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
