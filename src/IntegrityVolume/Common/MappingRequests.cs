using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Common;

/// <summary>
/// Intake rules of Open-/Close-IntegrityVolume (names), the checks -WhatIf runs, and the texts ShouldProcess
/// shows. SMA-free so xunit runs it. An open request carries key bytes: dispose its Options.
/// </summary>
internal static class MappingRequests
{
    public const string OpenAction = "Activate dm-integrity volume";
    public const string CloseAction = "Deactivate dm-integrity volume";
    public const string DeferredCloseAction = "Deactivate dm-integrity volume (deferred while in use)";

    /// <summary>The kernel layer's device-mapper name rules, checked before ShouldProcess so -WhatIf reports a bad name.</summary>
    public static void ValidateName(string? name) => DeviceMapperClient.ValidateName(name);

    /// <summary>
    /// What -WhatIf checks without the kernel: the superblock against the options (the table integritysetup would
    /// build). Returns the table's parameters with keys as zeros, for -Verbose. Throws what Open would throw.
    /// </summary>
    public static string Plan(IntegrityOpenRequest request, Superblock sb)
    {
        var table = IntegrityTable.ForActivation(sb, request.Device, request.Options, request.DataDevice, request.ReservedSectors);
        return table.ToParameters(KeyRendering.Zeros);
    }

    /// <summary>ShouldProcess target of Open-IntegrityVolume: "path as /dev/mapper/name" [+ data device].</summary>
    public static string OpenTarget(IntegrityOpenRequest request)
    {
        string target = $"{request.Device} as {DeviceNodes.MapperPath(request.Name)}";
        if (request.DataDevice is { } data) target += $" with data device {data}";
        return request.ReadOnly ? target + " (read-only)" : target;
    }

    /// <summary>ShouldProcess target of Close-IntegrityVolume.</summary>
    public static string CloseTarget(string name) => DeviceNodes.MapperPath(name);

    public static string CloseActionFor(bool deferred) => deferred ? DeferredCloseAction : CloseAction;

    /// <summary>One line for -Verbose after a close.</summary>
    public static string Describe(IntegrityCloseResult r) => r.Deferred
        ? $"{DeviceNodes.MapperPath(r.Name)} is in use; the kernel removes it when its last user closes it."
        : r.DetachedLoopDevices.Count == 0
            ? $"Removed {DeviceNodes.MapperPath(r.Name)}."
            : $"Removed {DeviceNodes.MapperPath(r.Name)} and detached {string.Join(", ", r.DetachedLoopDevices)}.";

    /// <summary>One line for -Verbose after an open.</summary>
    public static string Describe(IntegrityMappingInfo m) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Path} is active ({m.DeviceNumber}): {m.ProvidedDataSectors} sectors, {m.SectorSize}-byte blocks, {m.Algorithm ?? "external tags"}, {IntegrityModes.Name(m.Mode)}{(m.ReadOnly ? ", read-only" : "")}.");
}

/// <summary>
/// Get-IntegrityVolume -Name and mapper-name completion over the kernel layer's List/Status, injected so xunit runs
/// the rules without device-mapper.
/// </summary>
internal static class MappingQuery
{
    /// <summary>
    /// The mappings one -Name value selects: a wildcard pattern filters the list (no match is no output, as with
    /// Get-Process); a literal name must exist (MapperDeviceNotFound otherwise).
    /// </summary>
    public static IReadOnlyList<IntegrityMappingInfo> Find(string pattern, Func<IReadOnlyList<IntegrityMappingInfo>> list,
        Func<string, IntegrityMappingInfo?> status)
    {
        if (string.IsNullOrEmpty(pattern))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "-Name is empty.");
        if (PathResolver.HasWildcards(pattern))
        {
            var matcher = new Wildcard(pattern);
            return list().Where(m => matcher.IsMatch(m.Name)).OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        }
        string name = Wildcard.Unescape(pattern);
        return new[]
        {
            status(name) ?? throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound,
                $"No active device-mapper device named '{name}'.", name),
        };
    }

    /// <summary>All mappings, sorted by name (Get-IntegrityVolume without arguments).</summary>
    public static IReadOnlyList<IntegrityMappingInfo> All(Func<IReadOnlyList<IntegrityMappingInfo>> list) =>
        list().OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Names of active mappings that start with the typed word, quoted when PowerShell needs it. Never throws: no
    /// device-mapper, no root or any other failure completes nothing.
    /// </summary>
    public static IReadOnlyList<string> CompleteNames(string? wordToComplete, Func<IEnumerable<string>> names)
    {
        string word = (wordToComplete ?? "").Trim().Trim('\'', '"');
        try
        {
            return names()
                .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(n => n, StringComparer.Ordinal)
                .Select(Quote)
                .ToArray();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>A name as a completion text: single-quoted when it holds characters PowerShell would parse.</summary>
    public static string Quote(string name) =>
        name.Length > 0 && name.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '+' or ':' or '=')
            ? name
            : "'" + name.Replace("'", "''") + "'";
}

/// <summary>PowerShell wildcard matching (* ? [abc] [a-z], backtick escapes), case-insensitive, without SMA's WildcardPattern.</summary>
internal sealed class Wildcard
{
    private readonly System.Text.RegularExpressions.Regex _regex;

    public Wildcard(string pattern)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    sb.Append(System.Text.RegularExpressions.Regex.Escape(pattern[++i].ToString()));
                    break;
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int close = pattern.IndexOf(']', i + 1);
                    if (close < 0) { sb.Append(@"\["); break; }
                    string set = pattern[(i + 1)..close];
                    sb.Append('[');
                    foreach (char s in set) sb.Append(s is '\\' or '^' or '[' ? "\\" + s : s.ToString());
                    sb.Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(System.Text.RegularExpressions.Regex.Escape(c.ToString()));
                    break;
            }
        }
        sb.Append('$');
        _regex = new System.Text.RegularExpressions.Regex(sb.ToString(),
            System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.Singleline);
    }

    public bool IsMatch(string text) => _regex.IsMatch(text);

    /// <summary>The literal text of a pattern without wildcards (backtick escapes removed).</summary>
    public static string Unescape(string pattern)
    {
        var sb = new StringBuilder(pattern.Length);
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '`' && i + 1 < pattern.Length) i++;
            sb.Append(pattern[i]);
        }
        return sb.ToString();
    }
}
