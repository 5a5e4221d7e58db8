using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace IntegrityVolume.Core;

/// <summary>
/// The one runner of Core's child processes (debugfs and xfs_db for FileSystems/, mdadm for Arrays/): arguments as a
/// list, input on stdin, LC_ALL=C (the tools' own words, which callers parse), a timeout, and the caller's cancellation
/// (the child is killed). The caller names the error ids of a tool that cannot start and of one that fails.
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

    /// <summary>Run <paramref name="exe"/>; stdout and stderr of a run that exited 0, else <paramref name="failedId"/> with its words.</summary>
    public static (string Output, string Errors) Run(string exe, IEnumerable<string> args, string stdin, string target, TimeSpan timeout,
        CancellationToken ct, string missingId, string failedId)
    {
        ct.ThrowIfCancellationRequested();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
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
            if (!process.WaitForExit(timeout))
            {
                Kill(process);
                throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError,
                    $"{target}: {name} did not finish within {timeout.TotalSeconds:0} s and was stopped.", target);
            }
            process.WaitForExit();
            ct.ThrowIfCancellationRequested();
            string output = stdout.GetAwaiter().GetResult();
            string errors = stderr.GetAwaiter().GetResult();
            if (process.ExitCode != 0)
                throw new IntegrityVolumeException(failedId, ErrorKind.DeviceError,
                    $"{target}: {name} failed (exit {process.ExitCode}): {FirstLines(errors + output)}", target);
            return (output, errors);
        }
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
