namespace IntegrityVolume.Core;

/// <summary>A run of 512-byte logical sectors of the dm device (the kernel's "Checksum failed at sector" numbering).</summary>
/// <remarks>Not "Count": in PowerShell that name is every array's own property and hides the range's.</remarks>
public sealed record SectorRange(ulong Start, ulong Sectors)
{
    /// <summary>First sector after the range (exclusive): Start + Sectors.</summary>
    public ulong End => Start + Sectors;
    /// <summary>Last sector of the range (inclusive), the number every rendering shows ("8-15": Start 8, Last 15).</summary>
    public ulong Last => Start + Sectors - 1;
    public override string ToString() => Sectors == 1 ? $"{Start}" : $"{Start}-{Start + Sectors - 1}";

    /// <summary>The first <paramref name="max"/> ranges for a message, then ", ... (N ranges)" when there are more.</summary>
    public static string List(IReadOnlyList<SectorRange> ranges, int max = 20) =>
        string.Join(", ", ranges.Take(max)) + (ranges.Count > max ? $", ... ({ranges.Count} ranges)" : "");

    /// <summary>"8", "8-15" (first-last, inclusive, as rendered): what -Sector / --sectors take.</summary>
    public static SectorRange Parse(string text)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var none = System.Globalization.NumberStyles.None;
        var t = (text ?? "").Trim();
        int dash = t.IndexOf('-');
        ulong first, last = 0;
        bool ok = dash < 0
            ? ulong.TryParse(t, none, inv, out first)
            : ulong.TryParse(t.AsSpan(0, dash), none, inv, out first) & ulong.TryParse(t.AsSpan(dash + 1), none, inv, out last);
        if (dash < 0) last = first;
        if (!ok || last < first || last == ulong.MaxValue)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"'{text}' is not a sector range: give FIRST or FIRST-LAST (512-byte sectors, inclusive), e.g. 8-15.");
        return new SectorRange(first, last - first + 1);
    }
}
