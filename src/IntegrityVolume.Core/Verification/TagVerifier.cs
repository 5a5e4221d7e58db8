using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Operations;

namespace IntegrityVolume.Core.Verification;

/// <summary>
/// Offline bulk verification: streams each interleave area in work items (the item's tags in one read, then its
/// data in 512 KiB pieces), hashes every block on a pool of workers, and classifies each block the way the kernel
/// would judge it on read.
/// Memory is bounded by workers x chunk size; progress is reported on the calling thread.
/// </summary>
public sealed class TagVerifier
{
    /// <summary>Data read and hashed at a time: small enough that it and its page-cache source fit a core's L2 (docs/benchmark.md).</summary>
    public const int ChunkDataBytes = 512 << 10;
    /// <summary>Data per work item: its tags are read in one call, not one small read per piece (docs/benchmark.md).</summary>
    public const int ItemDataBytes = 8 * ChunkDataBytes;

    private readonly IBlockReader _meta;
    private readonly IBlockReader _data;
    private readonly Superblock _sb;
    private readonly Geometry _g;
    private readonly TagAlgorithm _algorithm;
    private readonly IntegrityKey? _key;
    private readonly JournalReport _journal;
    private readonly byte[]? _dirtyBitmap;

    public TagVerifier(IBlockReader meta, IBlockReader data, Superblock sb, Geometry g, TagAlgorithm algorithm, IntegrityKey? key,
        JournalReport journal, byte[]? dirtyBitmap)
    {
        _meta = meta; _data = data; _sb = sb; _g = g; _algorithm = algorithm; _key = key; _journal = journal; _dirtyBitmap = dirtyBitmap;
    }

    private readonly record struct Chunk(ulong Area, ulong FirstBlock, int Blocks);

    private sealed class Counts
    {
        public ulong Valid, Mismatch, Discarded, Uninitialized, Unsynchronized, JournalPending;
        public readonly List<ulong> MismatchSectors = new();
        public void Add(Counts o)
        {
            Valid += o.Valid; Mismatch += o.Mismatch; Discarded += o.Discarded; Uninitialized += o.Uninitialized;
            Unsynchronized += o.Unsynchronized; JournalPending += o.JournalPending; MismatchSectors.AddRange(o.MismatchSectors);
        }
    }

    public (ulong Valid, ulong Mismatch, ulong Discarded, ulong Uninitialized, ulong Unsynchronized, ulong JournalPending,
        SectorRange[] Ranges, TimeSpan Duration) Run(int threads, int maxRanges, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var chunks = BuildChunks();
        var total = new Counts();
        _data.AdviseSequential();   // front to back: a wider readahead window (what cp and dd ask for)
        // Where hashing is slower than reading (not crc32c/crc32), ask for each worker's next item while hashing this
        // one, so cold reads overlap the hashing (interleaved items from several threads defeat plain readahead).
        // Not for crc32c/crc32: they hash faster than the hint's page-cache lookups pay back (a cached verify gets slower
        // and a cold one no faster: docs/benchmark.md).
        int workers = ParallelChunks.WorkerCount(chunks.Count, threads);
        bool prefetch = _algorithm.KernelName is not ("crc32c" or "crc32");
        var elapsed = ParallelChunks.Run(chunks.Count, threads,
            () => new Worker(TagComputer.ForVolume(_sb, _algorithm, _key), _g),
            (w, i) =>
            {
                if (prefetch && i + workers < chunks.Count) WillNeed(chunks[i + workers]);
                VerifyChunk(chunks[i], w);
            },
            i => (long)chunks[i].Blocks * _g.BlockSize, (long)_g.ProvidedDataSectors * 512,
            "Verifying dm-integrity tags", _meta.Path, progress, ct,
            finish: w => { lock (total) total.Add(w.Counts); });
        total.MismatchSectors.Sort();
        return (total.Valid, total.Mismatch, total.Discarded, total.Uninitialized, total.Unsynchronized, total.JournalPending,
            ToRanges(total.MismatchSectors, (ulong)_g.SectorsPerBlock, maxRanges), elapsed);
    }

    /// <summary>One worker's hasher, buffers and counts.</summary>
    private sealed class Worker(TagComputer tags, Geometry g) : IDisposable
    {
        public readonly TagComputer Tags = tags;
        private readonly VerifyBuffers _buffers = VerifyBuffers.Rent(ItemDataBytes / g.BlockSize * g.TagSize, ChunkDataBytes / g.BlockSize * g.TagSize);
        public ArraySegment<byte> Data => _buffers.Data;
        public byte[] Stored => _buffers.Stored;
        public byte[] Computed => _buffers.Computed;
        public readonly Counts Counts = new();
        public void Dispose()
        {
            Tags.Dispose();
            VerifyBuffers.Return(_buffers);
        }
    }

    private List<Chunk> BuildChunks()
    {
        var chunks = new List<Chunk>();
        int blocksPerChunk = ItemDataBytes / _g.BlockSize;
        for (ulong area = 0; area < _g.Areas; area++)
        {
            ulong blocks = _g.AreaSectors(area) >> _g.Log2SectorsPerBlock;
            for (ulong b = 0; b < blocks; b += (ulong)blocksPerChunk)
                chunks.Add(new Chunk(area, b, (int)Math.Min((ulong)blocksPerChunk, blocks - b)));
        }
        return chunks;
    }

    private void WillNeed(Chunk c)
    {
        ulong firstSector = _g.LogicalSector(c.Area, c.FirstBlock);
        _data.WillNeed((long)_g.DataSector(firstSector) * 512, (long)c.Blocks * _g.BlockSize);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void VerifyChunk(Chunk c, Worker w)
    {
        int ts = _g.TagSize, perPiece = ChunkDataBytes / _g.BlockSize;
        ulong firstSector = _g.LogicalSector(c.Area, c.FirstBlock);
        var stored = w.Stored.AsSpan(0, c.Blocks * ts);
        _meta.Read((long)(_g.AreaTagOffset(c.Area) + c.FirstBlock * (ulong)ts), stored);
        for (int p = 0; p < c.Blocks; p += perPiece)
        {
            int n = Math.Min(perPiece, c.Blocks - p);
            VerifyPiece(firstSector + ((ulong)p << _g.Log2SectorsPerBlock), n, stored.Slice(p * ts, n * ts), w);
        }
    }

    // Hot loop: fully optimised from the first call (tiered JIT would run the first GiB at tier 0), also inside pwsh.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void VerifyPiece(ulong firstSector, int blocks, ReadOnlySpan<byte> stored, Worker w)
    {
        int bs = _g.BlockSize, ts = _g.TagSize;
        var data = w.Data.AsSpan(0, blocks * bs);
        var computed = w.Computed.AsSpan(0, blocks * ts);
        _data.Read((long)_g.DataSector(firstSector) * 512, data);
        w.Tags.ComputeConsecutive(firstSector, _g.SectorsPerBlock, data, bs, computed);
        bool recalculating = _sb.HasFlag(SuperblockFlags.Recalculating);
        // The common case: every tag of the piece matches and nothing overrides the data area.
        if (_journal.ReplayImage.Count == 0 && !recalculating && computed.SequenceEqual(stored))
        {
            w.Counts.Valid += (ulong)blocks;
            return;
        }
        var counts = w.Counts;
        for (int b = 0; b < blocks; b++)
        {
            ulong sector = firstSector + ((ulong)b << _g.Log2SectorsPerBlock);
            var tag = stored.Slice(b * ts, ts);
            var block = data.Slice(b * bs, bs);
            // A pending journal entry for this block wins over the data area (replay overwrites it).
            if (_journal.ReplayImage.Count != 0 && _journal.ReplayImage.TryGetValue(sector, out var replay))
            {
                if (replay.Data.AsSpan().SequenceEqual(block) && replay.Tag.AsSpan().SequenceEqual(tag)) counts.Valid++;
                else counts.JournalPending++;
                continue;
            }
            // RECALCULATING: blocks with start + len > recalc_sector are not checked by the kernel.
            if (recalculating && sector + (ulong)_g.SectorsPerBlock > _sb.RecalcSector) { counts.Uninitialized++; continue; }
            if (computed.Slice(b * ts, ts).SequenceEqual(tag)) { counts.Valid++; continue; }
            if (DiscardFiller.Is(tag)) { counts.Discarded++; continue; }
            if (_dirtyBitmap is not null && BitmapBitSet(sector)) { counts.Unsynchronized++; continue; }
            counts.Mismatch++;
            counts.MismatchSectors.Add(sector);
        }
    }


    /// <summary>Bit b = byte b/8, bit b%8 (little-endian unsigned long bitmap); one bit per 2^(log2_spb + log2_bpb) sectors.</summary>
    private bool BitmapBitSet(ulong sector)
    {
        ulong bit = sector >> Math.Min(63, _sb.Log2SectorsPerBlock + _sb.Log2BlocksPerBitmapBit);
        ulong index = bit >> 3;
        return index < (ulong)_dirtyBitmap!.Length && (_dirtyBitmap[index] & (1 << (int)(bit & 7))) != 0;
    }

    internal static SectorRange[] ToRanges(List<ulong> sortedBlockSectors, ulong sectorsPerBlock, int maxRanges)
    {
        var ranges = new List<SectorRange>();
        int i = 0;
        while (i < sortedBlockSectors.Count && ranges.Count < maxRanges)
        {
            ulong start = sortedBlockSectors[i], end = start + sectorsPerBlock;
            while (++i < sortedBlockSectors.Count && sortedBlockSectors[i] == end) end += sectorsPerBlock;
            ranges.Add(new SectorRange(start, end - start));
        }
        return ranges.ToArray();
    }
}
