using System.Numerics;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Core.Kernel;

/// <summary>The table as the kernel reports it back: its defaults and roundings applied.</summary>
public sealed partial record IntegrityTable
{
    /// <summary>
    /// The table as the kernel will report it (DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG) once this table is
    /// loaded over a volume with superblock <paramref name="sb"/>: every default filled in, buffer_sectors capped to
    /// the metadata run, the watermark rounded through the journal's entry count, sectors_per_bit raised until the
    /// bitmap fits, bitmap_flush_interval rounded to jiffies (<paramref name="hz"/>; Debian's kernels use 250).
    /// Devices are reported as "major:minor": pass them that way (<paramref name="device"/>,
    /// <paramref name="metaDevice"/>), or the table's own strings are kept.
    /// </summary>
    public IntegrityTable ToKernelView(Superblock sb, string? device = null, string? metaDevice = null,
        ulong? metaDeviceSectors = null, int hz = 250)
    {
        bool separate = MetaDevice is not null;
        var shape = Geometry.ComputeJournalShape(sb.IntegrityTagSize, sb.Log2SectorsPerBlock, sb.HasFlag(SuperblockFlags.HaveJournalMac));
        ulong journalSectors = (ulong)shape.SectionSectors * sb.JournalSections;
        ulong journalEntries = (ulong)shape.SectionEntries * sb.JournalSections;

        int log2Buffer = Math.Min(BitOperations.Log2(Math.Max(1u, BufferSectors ?? DefaultBufferSectors)), 31 - 9);
        if (!separate)
        {
            ulong run = Geometry.MetadataRun(sb.IntegrityTagSize, sb.Log2SectorsPerBlock, sb.Log2InterleaveSectors, sb.HasFlag(SuperblockFlags.FixedPadding));
            log2Buffer = Math.Min(log2Buffer, BitOperations.TrailingZeroCount(run));
        }
        else if (metaDeviceSectors is { } metaSectors)
        {
            // try_smaller_buffer: the packed tags, rounded up to whole buffers, must fit on the metadata device.
            ulong initial = Superblock.AreaSectors + journalSectors;
            ulong tagBytes = (sb.ProvidedDataSectors >> sb.Log2SectorsPerBlock) * sb.IntegrityTagSize;
            while (log2Buffer > 3)
            {
                ulong unit = 1UL << (log2Buffer + 9);
                ulong metaSize = (tagBytes + unit - 1) / unit << log2Buffer;
                if (initial + metaSize <= metaSectors) break;
                log2Buffer--;
            }
        }

        uint? watermark = null, commit = null;
        ulong? sectorsPerBit = null;
        uint? flush = null;
        if (Mode == IntegrityMode.Journal)
        {
            ulong wm = JournalWatermark ?? DefaultJournalWatermark;
            ulong threshold = (journalEntries * (100 - wm) + 50) / 100;
            watermark = journalEntries == 0 ? (uint)wm : (uint)(((journalEntries - threshold) * 100 + journalEntries / 2) / journalEntries);
            commit = CommitTime ?? DefaultCommitTimeMs;
        }
        if (Mode == IntegrityMode.Bitmap)
        {
            ulong req = SectorsPerBit ?? DefaultSectorsPerBit;
            int log2 = req == 0 ? 0 : BitOperations.Log2(req);
            if (log2 < sb.Log2SectorsPerBlock) log2 = sb.Log2SectorsPerBlock;
            ulong bitsInJournal = Math.Min(uint.MaxValue, journalSectors << (9 + 3));
            if (bitsInJournal != 0)
                while (bitsInJournal < (sb.ProvidedDataSectors + (1UL << log2) - 1) >> log2) log2++;
            sectorsPerBit = 1UL << log2;   // sectors_per_block << log2_blocks_per_bitmap_bit
            ulong ms = BitmapFlushInterval ?? DefaultBitmapFlushIntervalMs;
            ulong jiffies = (ms * (ulong)hz + 999) / 1000;
            flush = (uint)(jiffies * 1000 / (ulong)hz);
        }

        return this with
        {
            Device = device ?? Device,
            MetaDevice = separate ? metaDevice ?? MetaDevice : null,
            TagSize = sb.IntegrityTagSize,
            BlockSize = sb.BlockSize == 512 ? null : sb.BlockSize,
            Recalculate = sb.HasFlag(SuperblockFlags.Recalculating) || Recalculate || ResetRecalculate,
            JournalSectors = (uint)journalSectors,
            InterleaveSectors = 1u << (separate ? 0 : sb.Log2InterleaveSectors),
            BufferSectors = 1u << log2Buffer,
            JournalWatermark = watermark,
            CommitTime = commit,
            SectorsPerBit = sectorsPerBit,
            BitmapFlushInterval = flush,
            FixPadding = sb.HasFlag(SuperblockFlags.FixedPadding),
            FixHmac = sb.HasFlag(SuperblockFlags.FixedHmac),
        };
    }
}
