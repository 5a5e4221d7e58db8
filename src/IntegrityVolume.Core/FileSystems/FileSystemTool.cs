using System.ComponentModel;
using System.Diagnostics;
using System.Text;

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
    public static string? Find(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" });
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static string Require(string name, string package, string target) =>
        Find(name) ?? throw new IntegrityVolumeException(ErrorIds.FileSystemToolMissing, ErrorKind.NotSupported,
            $"{target}: {name} is not installed (Debian/Ubuntu: apt-get install {package}); it reads this file system's block owners.", target);

    /// <summary>
    /// Run <paramref name="exe"/> with <paramref name="args"/>, feed <paramref name="stdin"/>, return stdout. The shared
    /// runner of Core's child processes (debugfs, xfs_db, mdadm): the caller names the error ids of a tool that cannot
    /// start and of one that fails (non-zero exit, timeout).
    /// </summary>
    public static string Run(string exe, IEnumerable<string> args, string stdin, string target, CancellationToken ct,
        string missingId = ErrorIds.FileSystemToolMissing, string failedId = ErrorIds.FileSystemToolFailed)
    {
        ct.ThrowIfCancellationRequested();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The tools' own words, not a translation: the parser reads them.
        psi.Environment["LC_ALL"] = "C";
        string name = Path.GetFileName(exe);
        Process process;
        try { process = Process.Start(psi) ?? throw new Win32Exception(); }
        catch (Win32Exception ex)
        {
            throw new IntegrityVolumeException(missingId, ErrorKind.NotSupported,
                $"{target}: {name} could not be started ({ex.Message}).", target, ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            catch (IOException) { }   // the tool exited early (bad device): its stderr says why
            using var reg = ct.Register(() => Kill(process));
            if (!process.WaitForExit(Timeout))
            {
                Kill(process);
                throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError,
                    $"{target}: {name} did not finish within {Timeout.TotalSeconds:0} s and was stopped.", target);
            }
            process.WaitForExit();
            ct.ThrowIfCancellationRequested();
            string output = stdout.GetAwaiter().GetResult();
            string errors = stderr.GetAwaiter().GetResult();
            if (process.ExitCode != 0)
                throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError,
                    $"{target}: {name} failed (exit {process.ExitCode}): {FirstLines(errors + output)}", target);
            LastErrors = errors;
            return output;
        }
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

    public static string FirstLines(string text) =>
        string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3));

    private static void Kill(Process p)
    {
        try { p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        catch (Win32Exception) { }
    }
}
