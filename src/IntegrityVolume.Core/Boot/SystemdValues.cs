using System.Globalization;

namespace IntegrityVolume.Core.Boot;

/// <summary>Values as systemd parses them in /etc/integritytab: device specs, percentages (parse_percent), time spans (parse_time).</summary>
public static class SystemdValues
{
    /// <summary>A device as systemd's integritytab names it: an absolute path or UUID=, PARTUUID=, LABEL=, PARTLABEL=.</summary>
    public static bool IsDeviceSpec(string device)
    {
        if (device.StartsWith('/')) return device.Length > 1;
        foreach (var tag in new[] { "UUID=", "PARTUUID=", "LABEL=", "PARTLABEL=" })
            if (device.StartsWith(tag, StringComparison.Ordinal)) return device.Length > tag.Length;
        return false;
    }

    /// <summary>systemd's parse_percent: an integer 0..100 followed by '%'.</summary>
    public static bool TryParsePercent(string? text, out int percent)
    {
        percent = 0;
        if (text is null || text.Length < 2 || text[^1] != '%') return false;
        return int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out percent) && percent <= 100;
    }

    // systemd's time units (parse_time); matched longest first so "ms" is not read as "m" + "s".
    private static readonly (string Unit, ulong Microseconds)[] TimeUnits = new (string Unit, ulong Microseconds)[]
    {
        ("usec", 1), ("us", 1), ("µs", 1), ("μs", 1), ("msec", 1000), ("ms", 1000),
        ("seconds", 1_000_000), ("second", 1_000_000), ("sec", 1_000_000), ("s", 1_000_000),
        ("minutes", 60_000_000), ("minute", 60_000_000), ("min", 60_000_000), ("m", 60_000_000),
        ("hours", 3_600_000_000), ("hour", 3_600_000_000), ("hr", 3_600_000_000), ("h", 3_600_000_000),
        ("days", 86_400_000_000), ("day", 86_400_000_000), ("d", 86_400_000_000),
        ("weeks", 604_800_000_000), ("week", 604_800_000_000), ("w", 604_800_000_000),
        ("months", 2_629_800_000_000), ("month", 2_629_800_000_000), ("M", 2_629_800_000_000),
        ("years", 31_557_600_000_000), ("year", 31_557_600_000_000), ("y", 31_557_600_000_000),
    }.OrderByDescending(u => u.Unit.Length).ToArray();

    /// <summary>A systemd time span without spaces ("10", "10s", "1min30s", "1.5s", "500ms"); a bare number is seconds.</summary>
    public static bool TryParseTimeSpan(string? text, out ulong microseconds)
    {
        microseconds = 0;
        if (string.IsNullOrEmpty(text)) return false;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start) return false;
            decimal number = decimal.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            if (i < text.Length && text[i] == '.')
            {
                int fracStart = ++i;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                if (i == fracStart) return false;
                number += decimal.Parse("0." + text[fracStart..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            }
            ulong factor = 1_000_000;
            if (i < text.Length && !char.IsAsciiDigit(text[i]))
            {
                var unit = TimeUnits.FirstOrDefault(u => string.CompareOrdinal(text, i, u.Unit, 0, u.Unit.Length) == 0);
                if (unit.Unit is null) return false;
                factor = unit.Microseconds;
                i += unit.Unit.Length;
            }
            try { microseconds = checked(microseconds + (ulong)(number * factor)); }
            catch (OverflowException) { return false; }
        }
        return true;
    }
}
