namespace IntegrityVolume.Core;

/// <summary>
/// Progress of a long operation. Operations invoke <see cref="IProgress{T}.Report"/> on the thread that called
/// them (never from worker threads), about a few times per second, so a cmdlet can call WriteProgress directly.
/// </summary>
public sealed record OperationProgress(string Activity, string Status, long BytesDone, long BytesTotal, TimeSpan Elapsed)
{
    public int PercentComplete => BytesTotal <= 0 ? 0 : (int)Math.Clamp(BytesDone * 100 / BytesTotal, 0, 100);

    /// <summary>Estimated seconds remaining; -1 while unknown (WriteProgress's convention).</summary>
    public int SecondsRemaining
    {
        get
        {
            if (BytesDone <= 0 || BytesTotal <= 0 || Elapsed.TotalSeconds < 0.5) return -1;
            double rate = BytesDone / Elapsed.TotalSeconds;
            return (int)Math.Ceiling((BytesTotal - BytesDone) / rate);
        }
    }
}
