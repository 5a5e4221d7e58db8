using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Neither the tag algorithm nor the key is on disk, so a write with the wrong one would silently store tags the kernel
/// rejects. Before writing, the algorithm and key are proven on the volume: a handful of blocks (the first of the write
/// range, the volume's first, middle and last) are read with their tags and recomputed. One match proves them (a
/// chance match is 2^-32 at worst, crc32 with 4-byte tags); blocks that prove nothing are skipped: the discard filler,
/// blocks beyond recalc_sector while RECALCULATING, and the range of an interrupted write. A freshly formatted volume
/// proves itself too, since every block is zeros under the zero-block tag (TagInitializer, or the kernel's wipe).
/// </summary>
internal static class AlgorithmProof
{
    private const int MaxSamples = 8;
    private const byte DiscardFiller = 0xF6;   // DISCARD_FILLER

    public enum Outcome { Proven, NoEvidence, Refuted }

    /// <summary>Outcome, and when refuted an error naming what the tags do match, if anything.</summary>
    public static (Outcome Outcome, IntegrityVolumeException? Error) Check(VolumeOperations.OpenedVolume v, string path,
        TagAlgorithm algorithm, IntegrityKey? key, ulong writeStart, InterruptedWrite? interrupted)
    {
        var g = v.Geometry;
        var samples = new List<ulong>();
        var dataList = new List<byte[]>();
        var tagList = new List<byte[]>();
        foreach (ulong sector in Candidates(v.Superblock, g, writeStart, interrupted))
        {
            var tag = new byte[g.TagSize];
            v.Meta.Read(checked((long)g.TagOffset(sector)), tag);
            if (tag.AsSpan().IndexOfAnyExcept(DiscardFiller) < 0) continue;   // discarded: any tag would do
            var block = new byte[g.BlockSize];
            v.Data.Read(checked((long)g.DataSector(sector) * 512), block);
            samples.Add(sector); dataList.Add(block); tagList.Add(tag);
        }
        var data = dataList.ToArray();
        var tags = tagList.ToArray();
        if (samples.Count == 0) return (Outcome.NoEvidence, null);
        if (Matches(v.Superblock, algorithm, key, samples, data, tags)) return (Outcome.Proven, null);

        // Refuted: name the algorithm the tags match, when one does (unkeyed ones, and keyed ones with this key).
        foreach (var other in TagAlgorithm.All)
        {
            if (other == algorithm || (other.IsKeyed && key is null)) continue;
            if (Matches(v.Superblock, other, other.IsKeyed ? key : null, samples, data, tags))
                return (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                    $"{path}: the volume's tags were computed with {other.IntegritysetupName}, not {algorithm.IntegritysetupName} " +
                    $"({samples.Count} blocks checked); writing would store tags the kernel rejects. Give --integrity {other.IntegritysetupName} / -Algorithm {other.IntegritysetupName}.", path));
        }
        return algorithm.IsKeyed
            ? (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.KeyMismatch, ErrorKind.InvalidArgument,
                $"{path}: none of {samples.Count} blocks checked matches its tag with {algorithm.IntegritysetupName} and this key: " +
                "the key (or the keyed algorithm) is wrong; writing would store tags the kernel rejects. --force / -Force writes anyway.", path))
            : (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                $"{path}: none of {samples.Count} blocks checked matches its tag with {algorithm.IntegritysetupName}, nor with another " +
                "unkeyed algorithm: the volume uses a keyed algorithm (hmac-*, give it with its key) or its tags are damaged. --force / -Force writes anyway.", path));
    }

    private static bool Matches(Superblock sb, TagAlgorithm algorithm, IntegrityKey? key, List<ulong> samples, byte[][] data, byte[][] tags)
    {
        using var computer = TagComputer.ForVolume(sb, algorithm, key);
        for (int i = 0; i < samples.Count; i++)
            if (computer.Matches(samples[i], data[i], tags[i])) return true;
        return false;
    }

    /// <summary>Logical sectors of the sample blocks that can prove something (at most MaxSamples).</summary>
    private static List<ulong> Candidates(Superblock sb, Geometry g, ulong writeStart, InterruptedWrite? interrupted)
    {
        ulong blocks = g.Blocks;
        var candidates = new List<ulong>();
        ulong writeBlock = writeStart >> g.Log2SectorsPerBlock;
        for (ulong b = writeBlock; b < Math.Min(blocks, writeBlock + 3); b++) candidates.Add(b);
        if (blocks > 0) candidates.AddRange(new[] { 0UL, blocks / 4, blocks / 2, 3 * (blocks / 4), blocks - 1 });
        bool recalculating = sb.HasFlag(SuperblockFlags.Recalculating);
        var chosen = new List<ulong>();
        foreach (ulong b in candidates.Distinct())
        {
            ulong sector = b << g.Log2SectorsPerBlock;
            if (recalculating && sector >= sb.RecalcSector) continue;        // not protected yet: the kernel recomputes it
            if (interrupted is not null && sector >= interrupted.StartSector && sector < interrupted.EndSector) continue;
            chosen.Add(sector);
            if (chosen.Count == MaxSamples) break;
        }
        return chosen;
    }
}
