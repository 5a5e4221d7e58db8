using System.Globalization;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core;

/// <summary>Where the tag algorithm of a result came from.</summary>
public enum AlgorithmSource
{
    /// <summary>Named by the user (-Algorithm, --integrity) or bound from a piped object.</summary>
    Given,
    /// <summary>Found on the volume by <see cref="AlgorithmDetection"/>: exactly one candidate matched the sampled tags.</summary>
    Detected,
}

/// <summary>What a detection concluded.</summary>
public enum AlgorithmDetectionOutcome
{
    /// <summary>Exactly one candidate matched sampled blocks (<see cref="AlgorithmDetection.Algorithm"/>).</summary>
    Detected,
    /// <summary>No unkeyed candidate matched and the tag size is that of a keyed algorithm: a key is needed.</summary>
    KeyNeeded,
    /// <summary>Every candidate mismatched every sampled block (damaged tags, or a keyed algorithm with a truncated tag).</summary>
    NoMatch,
    /// <summary>More than one candidate matched: the evidence does not decide.</summary>
    Ambiguous,
    /// <summary>No sampled block can prove anything (all discarded, not yet recalculated, or in an interrupted write).</summary>
    NoEvidence,
    /// <summary>A key was given, but no keyed algorithm matches and an unkeyed one does (<see cref="AlgorithmDetection.UnkeyedMatch"/>): the key is wrong here.</summary>
    Unkeyed,
}

/// <summary>One algorithm tried: on how many of the sampled blocks its tag equals the stored one.</summary>
public sealed record AlgorithmCandidate(string Algorithm, int Matched, int Checked)
{
    public override string ToString() => $"{Algorithm} {Matched}/{Checked}";
}

/// <summary>
/// The tag algorithm found on a volume (neither it nor the key is on disk). A bounded number of blocks spread over
/// the protected part of the volume (<see cref="MaxSampleBlocks"/>, whatever its size) are read with their tags, and
/// every candidate algorithm recomputes them: the unkeyed algorithms (or, with a key, the keyed ones), first those
/// whose digest size is the volume's tag size, then the others (the kernel truncates or zero-pads the digest).
/// Untouched blocks count too: they hold zeros under the zero-block tag, which differs per algorithm.
/// </summary>
public sealed class AlgorithmDetection
{
    /// <summary>At most this many data blocks (and as many tags) are read, for any volume size.</summary>
    public const int MaxSampleBlocks = 64;

    public required AlgorithmDetectionOutcome Outcome { get; init; }
    /// <summary>The detected algorithm (integritysetup spelling), only when <see cref="Outcome"/> is Detected.</summary>
    public string? Algorithm { get; init; }
    /// <summary>With <see cref="AlgorithmDetectionOutcome.Unkeyed"/>: the unkeyed algorithm the tags match although a key was given.</summary>
    public string? UnkeyedMatch { get; init; }
    /// <summary>True when a key was given: the candidates were the keyed algorithms with that key.</summary>
    public bool WithKey { get; init; }
    public required int TagSize { get; init; }
    /// <summary>Blocks whose data and tag were compared (the Checked of every candidate).</summary>
    public required int SampledBlocks { get; init; }
    /// <summary>Sampled blocks that prove nothing and were left out: the discard filler (all 0xF6) as tag.</summary>
    public required int DiscardedBlocks { get; init; }
    /// <summary>Data blocks read (never more than <see cref="MaxSampleBlocks"/>).</summary>
    public required int BlocksRead { get; init; }
    /// <summary>Tag entries read (never more than <see cref="MaxSampleBlocks"/>).</summary>
    public required int TagsRead { get; init; }
    public required AlgorithmCandidate[] Candidates { get; init; }

    internal TagAlgorithm? Detected { get; init; }

    /// <summary>One line for people: what matched on how many blocks, or why nothing was detected.</summary>
    public string Summary => Outcome switch
    {
        AlgorithmDetectionOutcome.Detected => Inv($"{Algorithm} detected: its tags match {Best.Matched} of {SampledBlocks} sampled blocks ({Others()})"),
        AlgorithmDetectionOutcome.KeyNeeded => Inv($"keyed: a key is needed: no unkeyed algorithm matches any of {SampledBlocks} sampled blocks ({Tried()}); the {TagSize}-byte tags fit {KeyedFitting()} (or the tags are damaged)"),
        AlgorithmDetectionOutcome.NoMatch => WithKey
            ? Inv($"every candidate mismatched: no keyed algorithm matches any of {SampledBlocks} sampled blocks with this key ({Tried()}): the key is wrong, the volume is unkeyed (omit the key), or the tags are damaged")
            : Inv($"every candidate mismatched (damaged tags?): no algorithm matches any of {SampledBlocks} sampled blocks ({Tried()}); or the volume uses a keyed algorithm with a {TagSize}-byte tag"),
        AlgorithmDetectionOutcome.Unkeyed => Inv($"a key was given, but no keyed algorithm matches and the tags match {UnkeyedMatch}, which takes no key ({Tried()})"),
        AlgorithmDetectionOutcome.Ambiguous => Inv($"the evidence is tied: {string.Join(", ", Candidates.Where(c => c.Matched > 0))} of {SampledBlocks} sampled blocks match"),
        _ => Inv($"no evidence: none of the sampled blocks can prove an algorithm ({DiscardedBlocks} carry the discard filler; blocks not recalculated yet or in an interrupted write are not sampled)"),
    };

    /// <summary>
    /// The detected algorithm, or the error that says why there is none: KeyRequired ("keyed: a key is needed"),
    /// else AlgorithmNotDetected (every candidate mismatched, tied, no evidence), with the counts.
    /// </summary>
    public TagAlgorithm Require(string path)
    {
        if (Outcome == AlgorithmDetectionOutcome.Detected && Detected is not null) return Detected;
        if (Outcome == AlgorithmDetectionOutcome.Unkeyed)
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                $"{path}: {Summary}. Omit the key file (--integrity-key-file / -KeyFile).", path);
        string advice = " Give the algorithm (--integrity / -Algorithm" + (Outcome == AlgorithmDetectionOutcome.KeyNeeded ? ", and the key file: --integrity-key-file / -KeyFile" : "") + ").";
        throw new IntegrityVolumeException(Outcome == AlgorithmDetectionOutcome.KeyNeeded ? ErrorIds.KeyRequired : ErrorIds.AlgorithmNotDetected,
            ErrorKind.InvalidArgument, $"{path}: no tag algorithm detected: {Summary}.{advice}", path);
    }

    private AlgorithmCandidate Best => Candidates.MaxBy(c => c.Matched)!;
    private string Tried() => string.Join(", ", Candidates.Select(c => c.ToString()));
    private string Others()
    {
        var others = Candidates.Where(c => c.Algorithm != Algorithm).ToArray();
        return others.Length == 0 ? "the only candidate" : "others: " + string.Join(", ", others.Select(c => c.ToString()));
    }
    private string KeyedFitting()
    {
        var fits = TagAlgorithm.All.Where(a => a.IsKeyed && a.DigestSize == TagSize).Select(a => a.IntegritysetupName).ToArray();
        return fits.Length == 0 ? "a keyed algorithm" : string.Join(" or ", fits);
    }
    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
