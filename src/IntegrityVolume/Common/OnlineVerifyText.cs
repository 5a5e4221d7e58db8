using System.Globalization;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Common;

/// <summary>Texts Test-IntegrityVolume writes about an online verification (verbose stream).</summary>
internal static class OnlineVerifyText
{
    /// <summary>"name: N blocks checked, M mismatched, U unreadable; kernel mismatch counter +D; X MiB/s in t."</summary>
    public static string Summary(OnlineVerifyResult r)
    {
        string counter = r.FailuresDelta is { } d
            ? string.Create(CultureInfo.InvariantCulture, $"kernel mismatch counter +{d} ({r.FailuresBefore} -> {r.FailuresAfter})")
            : r.CryptLayer is { } c
                ? $"tags checked by dm-crypt ({c.Name} over {r.IntegrityMapping}; no mismatch counter)"
                : "kernel mismatch counter not available";
        return string.Create(CultureInfo.InvariantCulture,
            $"{r.Name}: {r.BlocksChecked} blocks checked, {r.MismatchedBlocks} mismatched, {r.UnreadableBlocks} unreadable; {counter}; {r.ThroughputMiBps} MiB/s in {Display.Duration(r.Duration)}.");
    }
}
