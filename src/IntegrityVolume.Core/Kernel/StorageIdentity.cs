using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// Whether two paths reach the same storage, whatever they are called: the same file (device and inode, so symlinks
/// and hard links count), the same block device (its device number), or a loop device and the file it is attached to
/// (/sys/block/loopN/loop/backing_file).
/// </summary>
public static class StorageIdentity
{
    public static bool Same(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal)
        || (Of(a, followLoop: true) is { } x && x == Of(b, followLoop: true));

    private static string? Of(string path, bool followLoop)
    {
        if (NativeMethods.Stat(path) is not { } node) return null;
        if (node.IsBlockDevice)
            return followLoop && LoopDevice.GetBackingFile(path) is { } backing && Of(backing, followLoop: false) is { } file
                ? file
                : $"block {node.RdevMajor}:{node.RdevMinor}";
        if (node.IsCharDevice) return null;
        // By path: opening the file would take .NET's own flock, which a volume this process has locked refuses.
        return NativeMethods.PathId(path) is { } id ? $"file {id.DevMajor}:{id.DevMinor}:{id.Inode}" : null;
    }
}
