namespace IntegrityVolume.Core.Kernel;

/// <summary>How keys are written when a table is rendered.</summary>
public enum KeyRendering
{
    /// <summary>The key in hex: what the kernel needs (and what dmsetup table --showkeys prints).</summary>
    Clear,
    /// <summary>Zeros of the key's length, as dmsetup table prints it without --showkeys.</summary>
    Zeros,
    /// <summary>The literal text &lt;key&gt;.</summary>
    Placeholder,
}

/// <summary>Hides keys in table parameters the way dmsetup does without --showkeys (hex digits become zeros).</summary>
public static class TableKeys
{
    public static string Mask(string targetType, string parameters)
    {
        if (targetType == IntegrityTable.TargetType)
        {
            var parts = parameters.Split(' ');
            for (int i = 0; i < parts.Length; i++)
                foreach (var prefix in new[] { "internal_hash:", "journal_crypt:", "journal_mac:" })
                    if (parts[i].StartsWith(prefix, StringComparison.Ordinal))
                    {
                        int c = parts[i].IndexOf(':', prefix.Length);
                        if (c > 0) parts[i] = parts[i][..(c + 1)] + ZeroHex(parts[i][(c + 1)..]);
                    }
            return string.Join(' ', parts);
        }
        if (targetType == "crypt")
        {
            // <cipher> <key> <iv_offset> ...: a key starting with ':' names a keyring entry and is not secret text.
            var parts = parameters.Split(' ');
            if (parts.Length > 1 && !parts[1].StartsWith(':') && parts[1] != "-") parts[1] = ZeroHex(parts[1]);
            return string.Join(' ', parts);
        }
        return parameters;
    }

    private static string ZeroHex(string s) => new(s.Select(ch => Uri.IsHexDigit(ch) ? '0' : ch).ToArray());
}
