using System.Globalization;
using IntegrityVolume.Core;

namespace IntegrityVolume.Common;

/// <summary>What one progress update shows: the fields of a ProgressRecord, computed without SMA.</summary>
internal sealed record ProgressView(string Activity, string Status, int PercentComplete, int SecondsRemaining);

/// <summary>Turns Core's <see cref="OperationProgress"/> into the text and numbers of a progress bar.</summary>
internal static class ProgressModel
{
    public static ProgressView From(OperationProgress p)
    {
        string activity = string.IsNullOrWhiteSpace(p.Activity) ? "IntegrityVolume" : p.Activity;
        string done = Display.Bytes(p.BytesDone), total = Display.Bytes(p.BytesTotal);
        string rate = p.Elapsed.TotalSeconds >= 0.5 && p.BytesDone > 0
            ? string.Create(CultureInfo.InvariantCulture, $", {p.BytesDone / p.Elapsed.TotalSeconds / (1 << 20):0.#} MiB/s")
            : "";
        // ProgressRecord rejects an empty status description.
        string subject = string.IsNullOrWhiteSpace(p.Status) ? activity : p.Status;
        string status = p.BytesTotal > 0 ? $"{subject}: {done} of {total}{rate}" : subject;
        return new ProgressView(activity, status, Math.Clamp(p.PercentComplete, 0, 100), p.SecondsRemaining < 0 ? -1 : p.SecondsRemaining);
    }
}
