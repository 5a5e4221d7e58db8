using System.Buffers.Binary;
using System.IO.Compression;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Fuzz;

/// <summary>
/// Seed corpus from the kernel-made fixtures, small enough for a fuzzer (the images are 16 MiB to 1 GiB):
/// - head-*: the first 16 KiB of an image as the kernel wrote it (superblock and the start of the journal);
/// - compact-*: the same volume laid out again with a small interleave (8 blocks per area) and 20 blocks, keeping the
///   kernel's superblock area (its MAC bytes too), its first journal sections, and the kernel's tags and data of the
///   first 20 blocks moved to where the new layout puts them. A tag covers the logical sector and the data only
///   (integrity_sector_checksum), so the moved tags still verify and verify runs over real journal, tags and data.
/// </summary>
public static class Seeds
{
    private const int HeadBytes = 16 << 10;
    private const int CompactBlocks = 20;     // two whole areas of 8 blocks and a partial third
    private const int MaxJournalSections = 2;

    public static int Write(string fixtures, string outDir)
    {
        Directory.CreateDirectory(outDir);
        int written = 0;
        foreach (var dir in Directory.GetDirectories(fixtures).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            foreach (var gz in Directory.GetFiles(dir, "*.img.gz").Order(StringComparer.Ordinal))
            {
                string image = Path.GetFileName(gz)[..^".img.gz".Length];
                if (image.Contains("data", StringComparison.Ordinal)) continue; // separate data device: no superblock
                byte[] bytes = ReadHead(gz, 64 << 20, out long fullLength);
                if (image is "clean" or "meta" || image.StartsWith("corrupt-", StringComparison.Ordinal))
                {
                    File.WriteAllBytes(Path.Combine(outDir, $"head-{name}-{image}"), bytes.AsSpan(0, Math.Min(HeadBytes, bytes.Length)).ToArray());
                    written++;
                }
                byte[]? compact = Compact(bytes, fullLength);
                if (compact is not null)
                {
                    File.WriteAllBytes(Path.Combine(outDir, $"compact-{name}-{image}"), compact);
                    written++;
                }
            }
        }
        Console.WriteLine($"seed: {written} files in {outDir}");
        return 0;
    }

    private static byte[] ReadHead(string gz, int max, out long fullLength)
    {
        using var s = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
        var buffer = new byte[max];
        int n = 0, r;
        while (n < max && (r = s.Read(buffer, n, max - n)) > 0) n += r;
        fullLength = n;
        var sink = new byte[1 << 20];
        while ((r = s.Read(sink)) > 0) fullLength += r;
        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>The volume re-laid out with 8 blocks per area and 20 blocks; null when the image is not interleaved.</summary>
    private static byte[]? Compact(byte[] orig, long fullLength)
    {
        Superblock sb;
        Geometry g;
        try
        {
            sb = Superblock.Parse(orig.AsSpan(0, Superblock.AreaSize));
            if (sb.Log2InterleaveSectors == 0) return null;
            g = Geometry.FromSuperblock(sb, (ulong)fullLength / 512);
        }
        catch (IntegrityVolumeException) { return null; }

        int log2Li = Math.Max(Superblock.MinLog2Interleave, sb.Log2SectorsPerBlock + 3);
        ulong provided = Math.Min((ulong)CompactBlocks << sb.Log2SectorsPerBlock, sb.ProvidedDataSectors);
        uint sections = Math.Min(sb.JournalSections, MaxJournalSections);
        var nsb = sb with { Log2InterleaveSectors = (byte)log2Li, ProvidedDataSectors = provided, JournalSections = sections };
        var ng = Geometry.FromSuperblock(nsb, 1UL << 40);
        ulong sectors = ng.DataSector(provided - 1) + 1;
        var image = new byte[sectors * 512];

        // Superblock area as the kernel wrote it, with the three changed fields patched in place.
        orig.AsSpan(0, Superblock.AreaSize).CopyTo(image);
        image[9] = (byte)log2Li;
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(12), sections);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(16), provided);
        // The first journal sections.
        int journalBytes = (int)(ng.JournalSectors * 512);
        orig.AsSpan((int)g.JournalStartSector * 512, journalBytes).CopyTo(image.AsSpan((int)ng.JournalStartSector * 512));
        // Each block's tag and data, from where the kernel put them to where the new layout puts them.
        for (ulong s = 0; s < provided; s += (ulong)sb.SectorsPerBlock)
        {
            long from = (long)g.TagOffset(s), to = (long)ng.TagOffset(s);
            if (from + sb.IntegrityTagSize > orig.Length) return null;
            orig.AsSpan((int)from, sb.IntegrityTagSize).CopyTo(image.AsSpan((int)to));
            long dataFrom = (long)g.DataSector(s) * 512, dataTo = (long)ng.DataSector(s) * 512;
            if (dataFrom + sb.BlockSize > orig.Length) return null;
            orig.AsSpan((int)dataFrom, sb.BlockSize).CopyTo(image.AsSpan((int)dataTo));
        }
        return image;
    }
}
