using System.Globalization;
using IntegrityVolume.Core;

namespace IntegrityVolume.Common;

/// <summary>
/// Human-readable values for IntegrityVolume.format.ps1xml (called from its script blocks as
/// <c>[IntegrityVolume.Common.Display]::Bytes($_.ProvidedBytes)</c>) and for progress text. Public so the
/// formatter can call it; it changes no state and holds none.
/// </summary>
public static class Display
{
    private static readonly string[] Units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    /// <summary>Binary-prefixed size: 0 B, 512 B, 1.5 KiB, 64 MiB, 3.64 TiB (three significant digits).</summary>
    public static string Bytes(ulong bytes)
    {
        if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < Units.Length - 1) { value /= 1024; unit++; }
        string format = value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    public static string Bytes(long bytes) => bytes < 0 ? "-" + Bytes((ulong)(-(bytes + 1)) + 1) : Bytes((ulong)bytes);

    /// <summary>Size of a count of 512-byte sectors (saves format-file script blocks from PowerShell's numeric widening).</summary>
    public static string SectorBytes(ulong sectors) =>
        sectors > ulong.MaxValue / 512 ? Bytes(ulong.MaxValue) : Bytes(sectors * 512);

    /// <summary>The first <paramref name="max"/> sector ranges ("8-15, 1024"), with "+N more" when cut.</summary>
    public static string Ranges(IReadOnlyList<SectorRange>? ranges, int max = 3)
    {
        if (ranges is null || ranges.Count == 0) return "";
        var shown = string.Join(", ", ranges.Take(Math.Max(1, max)).Select(r => r.ToString()));
        return ranges.Count > max ? $"{shown} (+{ranges.Count - max} more)" : shown;
    }

    /// <summary>Duration as h:mm:ss.f (or m:ss.f under an hour).</summary>
    public static string Duration(TimeSpan d) =>
        d.TotalHours >= 1
            ? d.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
            : d.ToString(@"m\:ss\.f", CultureInfo.InvariantCulture);
}
