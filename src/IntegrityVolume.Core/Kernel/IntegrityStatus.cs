using System.Globalization;

namespace IntegrityVolume.Core.Kernel;

/// <summary>What `dmsetup status` reports for a dm-integrity target: "&lt;mismatches&gt; &lt;provided_data_sectors&gt; &lt;recalc_sector|-&gt;".</summary>
public sealed record IntegrityStatus(ulong Mismatches, ulong ProvidedDataSectors, ulong? RecalcSector)
{
    public override string ToString() =>
        $"{Mismatches} {ProvidedDataSectors} {(RecalcSector is { } r ? r.ToString(CultureInfo.InvariantCulture) : "-")}";

    /// <summary>Parse the status parameters, or a whole status line ("0 32328 integrity 0 32328 -").</summary>
    public static IntegrityStatus Parse(string text)
    {
        var t = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (t.Length == 6 && t[2] == IntegrityTable.TargetType) t = t[3..];
        if (t.Length != 3 || !TryU64(t[0], out ulong mism) || !TryU64(t[1], out ulong provided) ||
            (t[2] != "-" && !TryU64(t[2], out _)))
            throw new FormatException($"Not a dm-integrity status line: '{text}'.");
        return new IntegrityStatus(mism, provided, t[2] == "-" ? null : ulong.Parse(t[2], CultureInfo.InvariantCulture));
    }

    private static bool TryU64(string s, out ulong v) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
}
