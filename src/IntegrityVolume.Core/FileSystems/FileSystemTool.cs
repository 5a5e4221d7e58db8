
namespace IntegrityVolume.Core.FileSystems;

/// <summary>
/// Runs a file system's own read-only tool (debugfs, xfs_db) as a child process: commands on stdin (no argument-length
/// limit however many blocks are asked), a timeout, and the caller's cancellation (the child is killed).
/// </summary>
internal static class FileSystemTool
{
    /// <summary>How long one tool run may take before it is killed (a huge file system's blockget takes minutes).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The tool's full path: PATH first, then the sbin folders a non-root PATH often lacks; null when absent.</summary>
    public static string? Find(string name) => ToolProcess.Find(name);

    public static string Require(string name, string package, string target) =>
        Find(name) ?? throw new IntegrityVolumeException(ErrorIds.FileSystemToolMissing, ErrorKind.NotSupported,
            $"{target}: {name} is not installed (Debian/Ubuntu: apt-get install {package}); it reads this file system's block owners.", target);

    /// <summary>Run <paramref name="exe"/> with <paramref name="args"/>, feed <paramref name="stdin"/>, return stdout (the shared <see cref="ToolProcess"/> runner).</summary>
    public static string Run(string exe, IEnumerable<string> args, string stdin, string target, CancellationToken ct)
    {
        var (output, errors) = ToolProcess.RunChecked(exe, args, stdin, target, Timeout, ct, ErrorIds.FileSystemToolMissing, ErrorIds.FileSystemToolFailed);
        LastErrors = errors;
        return output;
    }

    /// <summary>The stderr of the last successful run on this thread (debugfs reports bad block numbers there).</summary>
    [ThreadStatic] public static string? LastErrors;

    /// <summary>
    /// What the tool said on stderr besides its version banner, as one warning: debugfs and xfs_db exit 0 on a damaged
    /// file system and say so only there, and their answers may then be wrong. Null when it said nothing else.
    /// </summary>
    public static string? DamageWarning(string tool, string? stderr, string checker)
    {
        var lines = (stderr ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith(tool + " ", StringComparison.Ordinal) || !l.Contains('('))   // "debugfs 1.47.0 (5-Feb-2023)"
            .Distinct().ToArray();
        return lines.Length == 0 ? null
            : $"{tool} reported: {string.Join(" ", lines.Take(3))}{(lines.Length > 3 ? $" (+{lines.Length - 3} more lines)" : "")}. The file system may be damaged or changing, so these owners may be wrong: check it with {checker}.";
    }

    public static string FirstLines(string text) => ToolProcess.FirstLines(text);
}
