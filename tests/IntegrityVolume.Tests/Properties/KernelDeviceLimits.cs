namespace IntegrityVolume.Tests.Properties;

/// <summary>
/// An independent model of what dm_integrity_ctr accepts for an existing superblock (drivers/md/dm-integrity.c:
/// the superblock field checks, calculate_journal_section_size, calculate_device_limits with get_area_and_offset and
/// get_data_sector, and the ctr's retry with smaller bufio buffers on a separate metadata device). Written from the
/// kernel's rules, not from the engine: the properties compare the engine's Geometry against it.
/// All sector arithmetic is sector_t/__u64, so it wraps modulo 2^64 exactly as the kernel's does.
/// </summary>
public static class KernelDeviceLimits
{
    public sealed record Input
    {
        public byte Version { get; init; }
        public byte Log2InterleaveSectors { get; init; }
        public ushort TagSize { get; init; }
        public uint JournalSections { get; init; }
        public ulong ProvidedDataSectors { get; init; }
        public bool JournalMac { get; init; }
        public bool FixedPadding { get; init; }
        public byte Log2SectorsPerBlock { get; init; }
        /// <summary>Table offset (sectors before the superblock).</summary>
        public ulong Start { get; init; }
        /// <summary>Size of the device holding the superblock (the whole device, start included).</summary>
        public ulong MetaDeviceSectors { get; init; }
        public bool MetaDevice { get; init; }
        public ulong DataDeviceSectors { get; init; }
    }

    /// <summary>initial_sectors as calculate_device_limits computes it: the superblock and the journal.</summary>
    public static ulong InitialSectors(Input i)
    {
        // journal_entry: 8 bytes of sector, one 8-byte commit-id tail per 512-byte sector of the block, then the tag;
        // rounded up to JOURNAL_ENTRY_ROUNDUP (8). A journal sector holds 512 - 8 bytes (- 8 more with a journal MAC).
        ulong sectorsPerBlock = 1UL << i.Log2SectorsPerBlock;
        ulong entry = (8 + 8 * sectorsPerBlock + i.TagSize + 7) / 8 * 8;
        ulong space = 504UL - (i.JournalMac ? 8UL : 0UL);
        ulong perSector = space / entry;
        ulong sectionEntries = perSector * 8;                                  // JOURNAL_BLOCK_SECTORS
        ulong sectionSectors = (sectionEntries << i.Log2SectorsPerBlock) + 8;
        return 8 + sectionSectors * i.JournalSections;                         // SB_SECTORS + sections
    }

    /// <summary>metadata_run in sectors for an interleaved device: the tags of one area rounded up to the padding.</summary>
    public static ulong MetadataRun(Input i)
    {
        ulong padding = i.FixedPadding ? 4096UL : 512UL << 8;                 // METADATA_PADDING_SECTORS 8
        ulong bytes = (ulong)i.TagSize << (i.Log2InterleaveSectors - i.Log2SectorsPerBlock);
        return (bytes + padding - 1) / padding * padding >> 9;
    }

    /// <summary>True when dm_integrity_ctr would get past its superblock checks and calculate_device_limits.</summary>
    public static bool Accepts(Input i)
    {
        // Superblock checks in dm_integrity_ctr.
        if (i.Version < 1 || i.Version > 6) return false;                      // "Unknown version"
        if (i.TagSize == 0 || i.TagSize > 424) return false;                   // tag size vs MAX_TAG_SIZE
        if (i.Log2SectorsPerBlock > 3) return false;                           // "Invalid block size"
        if (i.MetaDevice ? i.Log2InterleaveSectors != 0
                         : i.Log2InterleaveSectors < 3 || i.Log2InterleaveSectors > 31) return false;
        if (i.JournalSections == 0) return false;                              // "journal_sections is 0"
        if (i.ProvidedDataSectors == 0 || (i.ProvidedDataSectors & ((1UL << i.Log2SectorsPerBlock) - 1)) != 0) return false;

        ulong initial = InitialSectors(i);
        if (initial + 8 >= i.MetaDeviceSectors || initial > uint.MaxValue) return false;
        if (!i.MetaDevice)
        {
            ulong run = MetadataRun(i);
            ulong last = i.ProvidedDataSectors - 1;
            ulong area = last >> i.Log2InterleaveSectors;
            ulong offset = last & ((1UL << i.Log2InterleaveSectors) - 1);
            // get_data_sector: area << log2_interleave, + (area + 1) metadata runs, + initial_sectors + offset, + start.
            ulong sector = (area << i.Log2InterleaveSectors) + (area + 1) * run + initial + offset + i.Start;
            return sector >= i.Start && sector < i.MetaDeviceSectors;
        }
        // Separate metadata device: the tags of all blocks, in whole bufio buffers, after the journal; the ctr retries
        // with buffers down to 8 sectors before "The device is too small".
        for (int log2Buffer = 7; log2Buffer >= 3; log2Buffer--)
        {
            ulong size = (i.ProvidedDataSectors >> i.Log2SectorsPerBlock) * i.TagSize;
            int shift = log2Buffer + 9;
            size = (size + ((1UL << shift) - 1)) >> shift << log2Buffer;
            if (initial + size >= initial && initial + size <= i.MetaDeviceSectors) return true;
        }
        return false;
    }
}
