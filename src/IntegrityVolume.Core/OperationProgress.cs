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

/// <summary>A run of 512-byte logical sectors of the dm device (the kernel's "Checksum failed at sector" numbering).</summary>
/// <remarks>Not "Count": in PowerShell that name is every array's own property and hides the range's.</remarks>
public sealed record SectorRange(ulong Start, ulong Sectors)
{
    /// <summary>First sector after the range (exclusive): Start + Sectors.</summary>
    public ulong End => Start + Sectors;
    /// <summary>Last sector of the range (inclusive), the number every rendering shows ("8-15": Start 8, Last 15).</summary>
    public ulong Last => Start + Sectors - 1;
    public override string ToString() => Sectors == 1 ? $"{Start}" : $"{Start}-{Start + Sectors - 1}";
}
