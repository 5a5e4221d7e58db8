using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace IntegrityVolume.Core;

/// <summary>What a child process said and how it ended.</summary>
internal sealed record ToolRun(int ExitCode, string Output, string Errors);

/// <summary>
/// Runs another program (debugfs, xfs_db, mdadm) as a child process: arguments as a list (no shell), optional stdin,
/// LC_ALL=C (the tools' own words, which callers parse), a timeout and the caller's cancellation (the child is killed).
/// The one runner of Core's child processes (FileSystems/ and Arrays/): <see cref="Run"/> gives the exit code to callers
/// that read it; <see cref="RunChecked"/> turns a tool that cannot start, times out or fails into the caller's error ids.
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

    /// <summary>
    /// Run <paramref name="exe"/>; stdout and stderr of a run that exited 0. A tool that cannot start is
    /// <paramref name="missingId"/>; one that times out or exits non-zero is <paramref name="failedId"/> with its words.
    /// </summary>
    public static (string Output, string Errors) RunChecked(string exe, IEnumerable<string> args, string? stdin, string target, TimeSpan timeout,
        CancellationToken ct, string missingId, string failedId)
    {
        string name = Path.GetFileName(exe);
        ToolRun run;
        try { run = Run(exe, args, stdin, timeout, ct); }
        catch (Win32Exception ex)
        {
            throw new IntegrityVolumeException(missingId, ErrorKind.NotSupported, $"{target}: {name} could not be started ({ex.Message}).", target, ex);
        }
        catch (TimeoutException ex)
        {
            throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError, $"{target}: {ex.Message}", target);
        }
        if (run.ExitCode != 0)
            throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError,
                $"{target}: {name} failed (exit {run.ExitCode}): {FirstLines(run.Errors + run.Output)}", target);
        return (run.Output, run.Errors);
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
