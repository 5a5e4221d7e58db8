namespace IntegrityVolume.Core.Devices;

/// <summary>Is a path in use by the kernel: mounted, backing a loop device, or held (holders/ in sysfs)?</summary>
public static class DeviceUsage
{
    /// <summary>A description of who uses <paramref name="path"/>, or null when nobody does.</summary>
    public static string? FindUser(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        string resolved = ResolveLinks(full);
        try
        {
            if (File.Exists("/proc/self/mounts"))
                foreach (var line in File.ReadLines("/proc/self/mounts"))
                {
                    var parts = line.Split(' ');
                    if (parts.Length > 1 && (parts[0] == full || parts[0] == resolved)) return $"mounted on {parts[1]}";
                }
            if (Directory.Exists("/sys/block"))
                foreach (var dir in Directory.EnumerateDirectories("/sys/block", "loop*"))
                {
                    string backing = System.IO.Path.Combine(dir, "loop", "backing_file");
                    if (File.Exists(backing) && File.ReadAllText(backing).Trim() is var b && (b == full || b == resolved))
                        return $"attached to /dev/{System.IO.Path.GetFileName(dir)}";
                }
            if (resolved.StartsWith("/dev/", StringComparison.Ordinal))
            {
                string name = System.IO.Path.GetFileName(resolved);
                foreach (var holders in new[] { $"/sys/class/block/{name}/holders" })
                    if (Directory.Exists(holders) && Directory.EnumerateFileSystemEntries(holders).FirstOrDefault() is { } h)
                        return $"held by {System.IO.Path.GetFileName(h)}";
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    private static string ResolveLinks(string path)
    {
        try { return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path; }
        catch (IOException) { return path; }
    }
}
