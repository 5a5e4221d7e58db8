using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Benchmark;

/// <summary>
/// Where a verify's time goes: the verifier's access pattern (per interleave area, work items of 4 MiB of data: read
/// the item's tags, then per 512 KiB piece read its data, hash every block and compare) on one thread, with a
/// stopwatch around each step.
/// </summary>
public static class VerifyProfiler
{
    /// <summary>Share of <paramref name="samples"/> evenly spaced data blocks that hold a non-zero byte (the volume carries real data).</summary>
    public static double NonZeroShare(string path, int samples = 64)
    {
        using var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = path }, write: false);
        var g = v.Geometry;
        var block = new byte[g.BlockSize];
        ulong blocks = g.Blocks;
        int n = (int)Math.Min((ulong)samples, blocks), nonZero = 0;
        for (int i = 0; i < n; i++)
        {
            ulong b = blocks <= 1 ? 0 : (ulong)i * (blocks - 1) / (ulong)Math.Max(1, n - 1);
            v.Data.Read((long)g.DataSector(b << g.Log2SectorsPerBlock) * 512, block);
            if (block.AsSpan().IndexOfAnyExcept((byte)0) >= 0) nonZero++;
        }
        return n == 0 ? 0 : (double)nonZero / n;
    }

    public static VerifyProfile Run(string path, string algorithm, IntegrityKey? key, string cache, CancellationToken ct = default)
    {
        var alg = TagAlgorithm.Parse(algorithm);
        using var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = path }, write: false);
        var g = v.Geometry;
        using var tags = TagComputer.ForVolume(v.Superblock, alg, key);
        int pieceBytes = TagVerifier.ChunkDataBytes;
        var data = PageAlignedBuffer.Allocate(pieceBytes);
        int blocksPerItem = TagVerifier.ItemDataBytes / g.BlockSize, blocksPerPiece = pieceBytes / g.BlockSize;
        var stored = new byte[blocksPerItem * g.TagSize];
        var computed = new byte[blocksPerPiece * g.TagSize];
        long tTags = 0, tData = 0, tHash = 0, chunks = 0;
        ulong valid = 0, blocksTotal = 0;
        long start = Stopwatch.GetTimestamp();
        for (ulong area = 0; area < g.Areas; area++)
        {
            ulong blocks = g.AreaSectors(area) >> g.Log2SectorsPerBlock;
            for (ulong b = 0; b < blocks; b += (ulong)blocksPerItem)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min((ulong)blocksPerItem, blocks - b);
                long t0 = Stopwatch.GetTimestamp();
                v.Meta.Read((long)(g.AreaTagOffset(area) + b * (ulong)g.TagSize), stored.AsSpan(0, n * g.TagSize));
                tTags += Stopwatch.GetTimestamp() - t0;
                for (int p = 0; p < n; p += blocksPerPiece)
                {
                    int m = Math.Min(blocksPerPiece, n - p);
                    ulong firstSector = g.LogicalSector(area, b + (ulong)p);
                    var d = data.AsSpan(0, m * g.BlockSize);
                    var s = stored.AsSpan(p * g.TagSize, m * g.TagSize);
                    long t1 = Stopwatch.GetTimestamp();
                    v.Data.Read((long)g.DataSector(firstSector) * 512, d);
                    long t2 = Stopwatch.GetTimestamp();
                    var c = computed.AsSpan(0, s.Length);
                    tags.ComputeConsecutive(firstSector, g.SectorsPerBlock, d, g.BlockSize, c);
                    for (int k = 0; k < m; k++)
                        if (c.Slice(k * g.TagSize, g.TagSize).SequenceEqual(s.Slice(k * g.TagSize, g.TagSize))) valid++;
                    long t3 = Stopwatch.GetTimestamp();
                    tData += t2 - t1; tHash += t3 - t2;
                    chunks++;
                }
                blocksTotal += (ulong)n;
            }
        }
        double total = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double f = 1.0 / Stopwatch.Frequency;
        return new VerifyProfile
        {
            Cache = cache, Chunks = chunks, Blocks = blocksTotal, ValidBlocks = valid,
            ReadTagsSeconds = Math.Round(tTags * f, 4), ReadDataSeconds = Math.Round(tData * f, 4), HashSeconds = Math.Round(tHash * f, 4),
            TotalSeconds = Math.Round(total, 4),
            DataMiBps = Math.Round(g.ProvidedDataSectors * 512.0 / (1 << 20) / total, 1),
        };
    }
}
