using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Tag initialisation for a freshly formatted volume: makes sure every data block reads as zeros (cheaply, with
/// BLKZEROOUT or a punched hole, and verified by reading back) and writes the tag of an all-zero block for every
/// block. The result equals what integritysetup's full-device wipe through the kernel produces.
/// </summary>
internal static class TagInitializer
{
    private const int ChunkBytes = 1 << 20;

    private sealed class Worker(TagComputer tags) : IDisposable
    {
        public readonly TagComputer Tags = tags;
        public readonly byte[] Buffer = new byte[ChunkBytes];
        public bool WroteZeros;
        public void Dispose() => Tags.Dispose();
    }

    /// <summary>Returns "tags-only" when the data area already read as zeros, "full" when zeros had to be written.</summary>
    public static string Run(BlockDevice meta, BlockDevice data, Superblock sb, Geometry g, TagAlgorithm algorithm, IntegrityKey? key,
        bool dataKnownZero, IProgress<OperationProgress>? progress, CancellationToken ct, ulong fromSector = 0)
    {
        // fromSector (block aligned): only the blocks from there on (a grown volume's new tail, ResizeOperation).
        ulong fromBlock = fromSector >> g.Log2SectorsPerBlock;
        // Work items inside one interleave area: at most ChunkBytes of data to check when it may not read as zeros,
        // otherwise at most ChunkBytes of tags (no data is touched).
        var items = new List<(ulong Area, ulong FirstBlock, int Blocks)>();
        int blocksPerItem = ChunkBytes / (dataKnownZero ? g.TagSize : Math.Max(g.BlockSize, g.TagSize));
        for (ulong area = g.SeparateMetadata ? 0 : fromSector >> g.Log2InterleaveSectors; area < g.Areas; area++)
        {
            ulong blocks = g.AreaSectors(area) >> g.Log2SectorsPerBlock;
            ulong areaFirstBlock = g.SeparateMetadata ? 0 : (area << g.Log2InterleaveSectors) >> g.Log2SectorsPerBlock;
            ulong start = fromBlock > areaFirstBlock ? Math.Min(blocks, fromBlock - areaFirstBlock) : 0;
            for (ulong b = start; b < blocks; b += (ulong)blocksPerItem)
                items.Add((area, b, (int)Math.Min((ulong)blocksPerItem, blocks - b)));
        }
        bool anyZerosWritten = false;
        ParallelChunks.Run(items.Count, 0, () => new Worker(TagComputer.ForVolume(sb, algorithm, key)),
            (w, i) =>
            {
                var (area, first, n) = items[i];
                ulong firstSector = g.LogicalSector(area, first);
                if (!dataKnownZero) w.WroteZeros |= EnsureZero(data, (long)g.DataSector(firstSector) * 512, (long)n * g.BlockSize, w.Buffer);
                var tags = w.Buffer.AsSpan(0, n * g.TagSize);
                w.Tags.ComputeZeroConsecutive(firstSector, g.SectorsPerBlock, g.BlockSize, n, tags);
                meta.Write((long)(g.AreaTagOffset(area) + first * (ulong)g.TagSize), tags);   // on disk by Formatter's BackgroundFlusher meanwhile
            },
            i => (long)items[i].Blocks * g.BlockSize, (long)(g.ProvidedDataSectors - Math.Min(fromSector, g.ProvidedDataSectors)) * 512,
            "Initialising dm-integrity tags", meta.Path, progress, ct,
            finish: w => { if (w.WroteZeros) anyZerosWritten = true; });
        ZeroTagPadding(meta, g, g.SeparateMetadata ? 0 : fromSector >> g.Log2InterleaveSectors);
        return anyZerosWritten ? "full" : "tags-only";
    }

    /// <summary>Bytes of each metadata run after the last tag (and the last run's unused tail) read as zeros, as on a fresh device.</summary>
    private static void ZeroTagPadding(BlockDevice meta, Geometry g, ulong firstArea = 0)
    {
        for (ulong area = firstArea; area < g.Areas; area++)
        {
            ulong used = (g.AreaSectors(area) >> g.Log2SectorsPerBlock) * (ulong)g.TagSize;
            ulong runBytes = g.SeparateMetadata ? (used + 511) / 512 * 512 : g.MetadataRunSectors * 512;
            if (runBytes > used) meta.Write((long)(g.AreaTagOffset(area) + used), new byte[runBytes - used]);
        }
    }

    /// <summary>Make [offset, offset+length) read as zeros: zero-out cheaply, verify by reading back, write zeros where that failed.</summary>
    internal static bool EnsureZero(BlockDevice dev, long offset, long length, byte[] buffer)
    {
        dev.TryZeroRange(offset, length);
        bool wrote = false;
        for (long at = 0; at < length; at += buffer.Length)
        {
            var span = buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - at));
            dev.Read(offset + at, span);
            if (span.IndexOfAnyExcept((byte)0) >= 0)
            {
                span.Clear();
                dev.Write(offset + at, span);
                wrote = true;
            }
        }
        return wrote;
    }
}
