namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// How dm-integrity keeps data and tags consistent: the mode letter of a table line, the Mode of a live mapping and
/// of an online verification, integritytab's mode= option and Open-IntegrityVolume -Mode. JSON writes it in
/// lowercase ("journal"); <see cref="IntegrityModes"/> holds its spellings.
/// </summary>
public enum IntegrityMode
{
    /// <summary>J: writes go through the journal (default).</summary>
    Journal,
    /// <summary>D: direct writes, no journal (a crash can leave data and tag out of step).</summary>
    Direct,
    /// <summary>B: bitmap mode (dirty regions recalculated after a crash); needs an internal hash.</summary>
    Bitmap,
    /// <summary>R: recovery: no journal replay, no tag checks, writes rejected.</summary>
    Recovery,
    /// <summary>I: tags in the device's hardware integrity metadata.</summary>
    Inline,
}

/// <summary>The spellings of <see cref="IntegrityMode"/>: table letters, lowercase names, and the parse both front ends use.</summary>
public static class IntegrityModes
{
    /// <summary>The modes a user may ask for when opening a volume, in the order help lists them (integritysetup: default journal, -B, -D, -R).</summary>
    public static readonly IReadOnlyList<IntegrityMode> Openable = new[] { IntegrityMode.Journal, IntegrityMode.Bitmap, IntegrityMode.Direct, IntegrityMode.Recovery };

    /// <summary>The modes integritytab's mode= option takes (systemd 254 and later).</summary>
    public static readonly IReadOnlyList<IntegrityMode> IntegrityTab = new[] { IntegrityMode.Journal, IntegrityMode.Bitmap, IntegrityMode.Direct };

    /// <summary>The letter of a table line (J, D, B, R, I).</summary>
    public static char Letter(IntegrityMode m) => m switch
    {
        IntegrityMode.Journal => 'J', IntegrityMode.Direct => 'D', IntegrityMode.Bitmap => 'B',
        IntegrityMode.Recovery => 'R', IntegrityMode.Inline => 'I', _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    /// <summary>The mode of a table line's letter; anything else is a malformed table.</summary>
    public static IntegrityMode FromLetter(string s) => s.Length == 1 && TryFromLetter(s[0], out var m) ? m
        : throw new FormatException($"Invalid dm-integrity mode '{s}' (expecting J, B, D, R, I).");

    /// <summary>The lowercase name: integritytab's mode= value and the JSON rendering ("journal", "bitmap").</summary>
    public static string Name(IntegrityMode m) => m.ToString().ToLowerInvariant();

    /// <summary>
    /// A mode a user typed: its name in any case (Journal, bitmap) or its letter (j, B), among <paramref name="allowed"/>
    /// (default <see cref="Openable"/>). Null means journal. Anything else throws InvalidParameter.
    /// </summary>
    public static IntegrityMode Parse(string? text, IReadOnlyList<IntegrityMode>? allowed = null)
    {
        allowed ??= Openable;
        string t = (text ?? nameof(IntegrityMode.Journal)).Trim();
        foreach (var m in allowed)
            if (string.Equals(t, m.ToString(), StringComparison.OrdinalIgnoreCase) || (t.Length == 1 && char.ToUpperInvariant(t[0]) == Letter(m)))
                return m;
        throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
            $"Mode '{text}' is not one of {string.Join(", ", allowed)}.", text);
    }

    private static bool TryFromLetter(char c, out IntegrityMode mode)
    {
        foreach (var m in Enum.GetValues<IntegrityMode>())
            if (Letter(m) == c) { mode = m; return true; }
        mode = default;
        return false;
    }
}
