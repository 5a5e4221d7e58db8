using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace IntegrityVolume.Core;

/// <summary>What a child process said and how it ended.</summary>
internal sealed record ToolRun(int ExitCode, string Output, string Errors);

/// <summary>
/// Runs another program (debugfs, xfs_db, mdadm) as a child process: arguments as a list (no shell), optional stdin,
/// LC_ALL=C (the tools' own words, which callers parse), a timeout and the caller's cancellation (the child is killed).
/// Callers turn its failures into their own error ids.
/// </summary>
internal static class ToolProcess
{
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

    /// <summary>
    /// Run <paramref name="exe"/>; throws Win32Exception when it cannot start, TimeoutException when it ran longer than
    /// <paramref name="timeout"/> (it is killed), OperationCanceledException on cancellation (it is killed).
    /// </summary>
    public static ToolRun Run(string exe, IEnumerable<string> args, string? stdin, TimeSpan timeout, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        using var process = Process.Start(psi) ?? throw new Win32Exception();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (stdin is not null) process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        catch (IOException) { }   // the tool exited early: its stderr says why
        using (ct.Register(() => Kill(process)))
        {
            if (!process.WaitForExit(timeout))
            {
                Kill(process);
                process.WaitForExit();
                throw new TimeoutException($"{Path.GetFileName(exe)} did not finish within {timeout.TotalSeconds:0} s and was stopped.");
            }
            process.WaitForExit();
        }
        ct.ThrowIfCancellationRequested();
        return new ToolRun(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
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
