using System.Diagnostics;

namespace IntegrityVolume.Core.Hashing;

/// <summary>What the running kernel's crypto API says of an algorithm name.</summary>
public enum KernelAlgorithmState
{
    /// <summary>Listed in /proc/crypto (after loading its module if needed).</summary>
    Available,
    /// <summary>Not listed, and this kernel's modules are installed but none provides it: the kernel cannot use it.</summary>
    Missing,
    /// <summary>Not listed, and no way to tell (no /proc/crypto, no modules to try): maybe another kernel can.</summary>
    Unknown,
}

/// <summary>
/// The running kernel's crypto API, as integritysetup finds out at format (its crypt_hash_size probe fails for a
/// name the kernel lacks): /proc/crypto lists the loaded algorithms by name and driver; a missing one is loaded by
/// module alias "crypto-NAME" (what crypto_alloc's request_module asks for) when the modules are installed.
/// </summary>
public static class KernelCrypto
{
    public const string ProcCrypto = "/proc/crypto";

    /// <summary>The state of <paramref name="kernelName"/> (kernel spelling; for hmac(x) the hash x is checked).</summary>
    public static KernelAlgorithmState Probe(string kernelName, string procCrypto = ProcCrypto, bool tryLoad = true)
    {
        string name = Inner(kernelName);
        if (!File.Exists(procCrypto)) return KernelAlgorithmState.Unknown;
        if (Listed(name, procCrypto)) return KernelAlgorithmState.Available;
        string release = ReleaseName();
        bool haveModules = release.Length > 0 && (Directory.Exists("/lib/modules/" + release) || Directory.Exists("/usr/lib/modules/" + release));
        // Without modules, or without root to load one (modprobe), an unlisted name may still be available.
        if (!haveModules || !Environment.IsPrivilegedProcess) return KernelAlgorithmState.Unknown;
        if (tryLoad && TryModprobe("crypto-" + name) && Listed(name, procCrypto)) return KernelAlgorithmState.Available;
        return KernelAlgorithmState.Missing;
    }

    /// <summary>
    /// The format check: Missing throws AlgorithmNotInKernel when device-mapper works here (this kernel is the one
    /// that would open the volume) unless <paramref name="anyKernel"/>; otherwise a warning is returned (null = fine).
    /// </summary>
    public static string? CheckForFormat(string kernelName, bool anyKernel, bool deviceMapperHere)
    {
        var state = Probe(kernelName);
        if (state == KernelAlgorithmState.Available) return null;
        string shown = TagAlgorithm.IntegritysetupSpelling(kernelName);
        if (state == KernelAlgorithmState.Missing && deviceMapperHere && !anyKernel)
            throw new IntegrityVolumeException(ErrorIds.AlgorithmNotInKernel, ErrorKind.NotSupported,
                $"The running kernel has no {shown} hash (not in {ProcCrypto}, no module provides it), so it could not open the volume " +
                "(integritysetup refuses it too). To prepare an image for another kernel, add --any-kernel / -AnyKernel.", kernelName);
        return state == KernelAlgorithmState.Missing
            ? $"The running kernel has no {shown} hash; only a kernel that has it can open this volume."
            : $"Cannot tell whether the kernel that opens this volume has {shown} (no {ProcCrypto} or kernel modules here).";
    }

    private static string Inner(string name)
    {
        int open = name.IndexOf('(');
        return open > 0 && name.EndsWith(')') ? Inner(name[(open + 1)..^1]) : name;
    }

    private static bool Listed(string name, string procCrypto)
    {
        try
        {
            foreach (var line in File.ReadLines(procCrypto))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                string key = line[..colon].Trim();
                if ((key == "name" || key == "driver") && line[(colon + 1)..].Trim() == name) return true;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    private static string ReleaseName()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static bool TryModprobe(string alias)
    {
        // The kernel's own helper first (/proc/sys/kernel/modprobe: what crypto_alloc's request_module runs).
        string? helper = null;
        try { helper = File.ReadAllText("/proc/sys/kernel/modprobe").Trim(); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        foreach (var exe in new[] { helper, "/usr/sbin/modprobe", "/sbin/modprobe" })
        {
            if (string.IsNullOrEmpty(exe)) continue;
            if (!File.Exists(exe)) continue;
            try
            {
                var psi = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add("-q");
                psi.ArgumentList.Add(alias);
                using var p = Process.Start(psi);
                if (p is null) return false;
                if (!p.WaitForExit(30_000)) { try { p.Kill(); } catch (InvalidOperationException) { } return false; }
                return p.ExitCode == 0;
            }
            catch (System.ComponentModel.Win32Exception) { return false; }
        }
        return false;
    }
}
