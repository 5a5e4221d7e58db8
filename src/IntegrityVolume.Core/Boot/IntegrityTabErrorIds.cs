namespace IntegrityVolume.Core.Boot;

/// <summary>Stable error ids of /etc/integritytab handling. Never rename one: scripts match on them.</summary>
public static class IntegrityTabErrorIds
{
    /// <summary>A line with a volume name but no device (systemd's generator skips it).</summary>
    public const string TooFewFields = "IntegrityTabTooFewFields";
    /// <summary>More than four fields; systemd ignores the rest (a warning).</summary>
    public const string ExtraFields = "IntegrityTabExtraFields";
    /// <summary>Not a usable volume name: empty, '.', '..', contains '/', whitespace or control characters, longer than 127 bytes, starts with '#'.</summary>
    public const string InvalidName = "IntegrityTabInvalidName";
    /// <summary>The device is neither an absolute path nor UUID=, PARTUUID=, LABEL=, PARTLABEL= with a value.</summary>
    public const string InvalidDevice = "IntegrityTabInvalidDevice";
    /// <summary>The key file is not an absolute path (or, when checked, is empty or larger than 4096 bytes).</summary>
    public const string InvalidKeyFile = "IntegrityTabInvalidKeyFile";
    /// <summary>A known option with a bad value: mode=, journal-watermark=, journal-commit-time=, data-device=.</summary>
    public const string InvalidOption = "IntegrityTabInvalidOption";
    /// <summary>An option systemd does not know; it logs a warning and ignores it (a warning here too).</summary>
    public const string UnknownOption = "IntegrityTabUnknownOption";
    /// <summary>integrity-algorithm= names an algorithm systemd-integritysetup does not accept.</summary>
    public const string UnknownAlgorithm = "IntegrityTabUnknownAlgorithm";
    /// <summary>A keyed algorithm without a key file, or a key file with an algorithm that takes no key.</summary>
    public const string KeyMismatch = "IntegrityTabKeyMismatch";
    /// <summary>Two lines for one volume name: the generator refuses the second unit file.</summary>
    public const string DuplicateName = "IntegrityTabDuplicateName";
    /// <summary>The file could not be read.</summary>
    public const string ReadFailed = "IntegrityTabReadFailed";
    /// <summary>The file could not be written (temporary file, rename).</summary>
    public const string WriteFailed = "IntegrityTabWriteFailed";
}
