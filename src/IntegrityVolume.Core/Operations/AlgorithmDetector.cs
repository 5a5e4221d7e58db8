using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Operations;

/// <summary>One sampled block: its logical sector, data and stored tag.</summary>
internal sealed record AlgorithmSample(ulong Sector, byte[] Block, byte[] Tag);

/// <summary>
/// The sampling shared by the algorithm proof of writers and the detection of readers: which blocks can prove an
/// algorithm, and reading them. A block proves nothing when the kernel does not check it yet (beyond recalc_sector
/// while RECALCULATING), when an interrupted offline write may have torn it, or when its tag is the discard filler
/// (DISCARD_FILLER, any tag would do). Every other block does, untouched ones included: zeros under the zero-block tag.
/// </summary>
internal static class AlgorithmSamples
{

    /// <summary>Blocks the kernel checks: all of them, or those before recalc_sector while RECALCULATING.</summary>
    public static ulong ProtectedBlocks(Superblock sb, Geometry g) =>
        sb.HasFlag(SuperblockFlags.Recalculating) ? Math.Min(g.Blocks, sb.RecalcSector >> g.Log2SectorsPerBlock) : g.Blocks;

    /// <summary><paramref name="count"/> blocks spread evenly over the protected blocks (first and last included), fewer on small volumes.</summary>
    public static IEnumerable<ulong> Spread(Superblock sb, Geometry g, int count)
    {
        ulong blocks = ProtectedBlocks(sb, g);
        if (blocks == 0 || count <= 0) yield break;
        if (blocks <= (ulong)count)
        {
            for (ulong b = 0; b < blocks; b++) yield return b;
            yield break;
        }
        for (int i = 0; i < count - 1; i++) yield return (ulong)((UInt128)(ulong)i * blocks / (ulong)(count - 1));
        yield return blocks - 1;
    }

    /// <summary>
    /// Read up to <paramref name="max"/> of <paramref name="blocks"/> (block numbers, in order, duplicates ignored) that can prove
    /// an algorithm: at most <paramref name="max"/> tags and data blocks are read. Discard-filler tags are counted, not kept.
    /// </summary>
    public static List<AlgorithmSample> Read(IBlockReader meta, IBlockReader data, Superblock sb, Geometry g, IEnumerable<ulong> blocks,
        InterruptedWrite? interrupted, int max, out int discarded, CancellationToken ct = default)
    {
        discarded = 0;
        ulong protectedBlocks = ProtectedBlocks(sb, g);
        var samples = new List<AlgorithmSample>();
        var seen = new HashSet<ulong>();
        int reads = 0;
        foreach (ulong b in blocks)
        {
            if (reads == max) break;
            if (b >= protectedBlocks || !seen.Add(b)) continue;   // not protected yet: the kernel recomputes it
            ulong sector = b << g.Log2SectorsPerBlock;
            if (interrupted is not null && sector >= interrupted.StartSector && sector < interrupted.EndSector) continue;
            ct.ThrowIfCancellationRequested();
            reads++;
            var tag = new byte[g.TagSize];
            meta.Read(checked((long)g.TagOffset(sector)), tag);
            if (DiscardFiller.Is(tag)) { discarded++; continue; }   // discarded: any tag would do
            var block = new byte[g.BlockSize];
            data.Read(checked((long)g.DataSector(sector) * 512), block);
            samples.Add(new AlgorithmSample(sector, block, tag));
        }
        return samples;
    }

    /// <summary>Sampled blocks whose stored tag this algorithm (and key) reproduces.</summary>
    public static int CountMatches(Superblock sb, TagAlgorithm algorithm, IntegrityKey? key, IReadOnlyList<AlgorithmSample> samples)
    {
        using var computer = TagComputer.ForVolume(sb, algorithm, key);
        int matched = 0;
        foreach (var s in samples)
            if (computer.Matches(s.Sector, s.Block, s.Tag)) matched++;
        return matched;
    }
}

/// <summary>
/// Detection of the tag algorithm (see <see cref="AlgorithmDetection"/>): at most
/// <see cref="AlgorithmDetection.MaxSampleBlocks"/> blocks spread over the protected part of the volume, every candidate
/// recomputing their tags. A wrong algorithm matches a block by chance with probability 2^-(8·tag size) at most
/// (2^-32 for 4-byte tags), so one match names an algorithm; a second matching candidate makes the evidence tied.
/// </summary>
internal static class AlgorithmDetector
{
    public static AlgorithmDetection Detect(IBlockReader meta, IBlockReader data, Superblock sb, Geometry g, InterruptedWrite? interrupted,
        IntegrityKey? key, CancellationToken ct = default)
    {
        var samples = AlgorithmSamples.Read(meta, data, sb, g, AlgorithmSamples.Spread(sb, g, AlgorithmDetection.MaxSampleBlocks),
            interrupted, AlgorithmDetection.MaxSampleBlocks, out int discarded, ct);
        int tagsRead = samples.Count + discarded;
        var candidates = new List<(TagAlgorithm Algorithm, int Matched)>();
        TagAlgorithm? unkeyed = null;
        if (samples.Count > 0)
        {
            // Exact digest size first (integritysetup's default tag size); the rest only when none of those matches.
            // With a key: the keyed algorithms, and crc32c seeded with a key of its seed's size (the one seeded
            // checksum this engine computes; CRYPTO_ALG_OPTIONAL_KEY).
            var pool = TagAlgorithm.All.Where(a => key is null ? !a.IsKeyed
                : a.IsKeyed || (a.KernelName == "crc32c" && TagAlgorithm.OptionalKeySize(a.KernelName) == key.Length)).ToArray();
            foreach (var tier in new[] { pool.Where(a => a.DigestSize == g.TagSize), pool.Where(a => a.DigestSize != g.TagSize) })
            {
                foreach (var a in tier)
                {
                    ct.ThrowIfCancellationRequested();
                    candidates.Add((a, AlgorithmSamples.CountMatches(sb, a, key, samples)));
                }
                if (candidates.Any(c => c.Matched > 0)) break;
            }
        }
        var matching = candidates.Where(c => c.Matched > 0).ToArray();
        // A key, but no keyed match: an unkeyed algorithm that matches says the key is the mistake (KeyNotAllowed).
        if (key is not null && samples.Count > 0 && matching.Length == 0)
            foreach (var a in TagAlgorithm.All.Where(a => !a.IsKeyed && a.DigestSize == g.TagSize))
            {
                int matched = AlgorithmSamples.CountMatches(sb, a, null, samples);
                candidates.Add((a, matched));
                if (matched > 0) unkeyed = a;
            }
        var outcome = unkeyed is not null ? AlgorithmDetectionOutcome.Unkeyed
            : samples.Count == 0 ? AlgorithmDetectionOutcome.NoEvidence
            : matching.Length == 1 ? AlgorithmDetectionOutcome.Detected
            : matching.Length > 1 ? AlgorithmDetectionOutcome.Ambiguous
            : key is null && TagAlgorithm.All.Any(a => a.IsKeyed && a.DigestSize == g.TagSize) ? AlgorithmDetectionOutcome.KeyNeeded
            : AlgorithmDetectionOutcome.NoMatch;
        var detected = outcome == AlgorithmDetectionOutcome.Detected ? matching[0].Algorithm : null;
        return new AlgorithmDetection
        {
            Outcome = outcome,
            Algorithm = detected?.IntegritysetupName,
            UnkeyedMatch = unkeyed?.IntegritysetupName,
            Detected = detected,
            WithKey = key is not null,
            TagSize = g.TagSize,
            SampledBlocks = samples.Count,
            DiscardedBlocks = discarded,
            BlocksRead = samples.Count,
            TagsRead = tagsRead,
            Candidates = candidates.Select(c => new AlgorithmCandidate(c.Algorithm.IntegritysetupName, c.Matched, samples.Count)).ToArray(),
        };
    }
}
