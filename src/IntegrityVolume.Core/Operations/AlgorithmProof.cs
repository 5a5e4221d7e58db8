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
/// The sampling and its rules are <see cref="AlgorithmSamples"/>, shared with the detection of readers.
/// </summary>
internal static class AlgorithmProof
{
    private const int MaxSamples = 8;

    public enum Outcome { Proven, NoEvidence, Refuted }

    /// <summary>
    /// Outcome, and when refuted an error naming what the tags do match, if anything. <paramref name="forceOverrides"/>:
    /// the caller lets --force / -Force write anyway (ivol write); repair and resize never do (zeroing or re-tagging
    /// with a wrong algorithm would destroy every block), so their error does not offer it.
    /// </summary>
    public static (Outcome Outcome, IntegrityVolumeException? Error) Check(VolumeOperations.OpenedVolume v, string path,
        TagAlgorithm algorithm, IntegrityKey? key, ulong writeStart, InterruptedWrite? interrupted, bool forceOverrides = true)
    {
        string force = forceOverrides ? " --force / -Force writes anyway." : "";
        var samples = AlgorithmSamples.Read(v.Meta, v.Data, v.Superblock, v.Geometry, Candidates(v.Geometry, writeStart),
            interrupted, MaxSamples, out _);
        if (samples.Count == 0) return (Outcome.NoEvidence, null);
        if (AlgorithmSamples.CountMatches(v.Superblock, algorithm, key, samples) > 0) return (Outcome.Proven, null);

        // Refuted: name the algorithm the tags match, when one does (unkeyed ones, and keyed ones with this key).
        foreach (var other in TagAlgorithm.All)
        {
            if (other == algorithm || (other.IsKeyed && key is null)) continue;
            if (AlgorithmSamples.CountMatches(v.Superblock, other, other.IsKeyed ? key : null, samples) > 0)
                return (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                    $"{path}: the volume's tags were computed with {other.IntegritysetupName}, not {algorithm.IntegritysetupName} " +
                    $"({samples.Count} blocks checked); writing would store tags the kernel rejects. Give --integrity {other.IntegritysetupName} / -Algorithm {other.IntegritysetupName}.", path));
        }
        return algorithm.IsKeyed
            ? (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.KeyMismatch, ErrorKind.InvalidArgument,
                $"{path}: none of {samples.Count} blocks checked matches its tag with {algorithm.IntegritysetupName} and this key: " +
                $"the key (or the keyed algorithm) is wrong; writing would store tags the kernel rejects.{force}", path))
            : (Outcome.Refuted, new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                $"{path}: none of {samples.Count} blocks checked matches its tag with {algorithm.IntegritysetupName}, nor with another " +
                $"unkeyed algorithm: the volume uses a keyed algorithm (hmac-*, give it with its key) or its tags are damaged.{force}", path));
    }

    /// <summary>Blocks worth sampling, in order: the first three of the write range, then the volume's first, quartiles and last.</summary>
    private static IEnumerable<ulong> Candidates(Geometry g, ulong writeStart)
    {
        ulong blocks = g.Blocks;
        ulong writeBlock = writeStart >> g.Log2SectorsPerBlock;
        for (ulong b = writeBlock; b < Math.Min(blocks, writeBlock + 3); b++) yield return b;
        if (blocks == 0) yield break;
        foreach (ulong b in new[] { 0UL, blocks / 4, blocks / 2, 3 * (blocks / 4), blocks - 1 }) yield return b;
    }
}
