using System.Globalization;

namespace IntegrityVolume.Core.Arrays;

/// <summary>
/// The words md writes in /sys/block/mdX/md (drivers/md/md.c, the *_show functions of kernel 6.1) and where an array
/// lives there. Parsing is separate from reading so the kernel's texts can be checked without a kernel.
/// </summary>
public static class MdSysfs
{
    /// <summary>Root of the block class in sysfs.</summary>
    public const string BlockRoot = "/sys/block";

    /// <summary>
    /// The kernel name (mdN) of an array given as /dev/mdN, /dev/md/NAME (mdadm's link), mdN or NAME (under /dev/md/).
    /// Throws ArrayNotFound when nothing of that name exists, NotAnMdArray when it is a block device but not md.
    /// </summary>
    public static string ResolveKernelName(string array)
    {
        if (string.IsNullOrWhiteSpace(array))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "No md array given.");
        string spec = array.Trim();
        string? kname = null;
        if (spec.StartsWith('/'))
        {
            if (!File.Exists(spec) && !Directory.Exists(spec))
                throw NotFound(array);
            // /dev/md/NAME is a link to ../mdN (mdadm makes it without udev too); a block node is named by its number.
            string target = new FileInfo(spec).ResolveLinkTarget(true)?.FullName ?? spec;
            kname = Path.GetFileName(target);
            if (!Directory.Exists(Path.Combine(BlockRoot, kname)))
            {
                // A link left by a stopped array (without udev nobody removes /dev/md/NAME or a node mdadm made):
                // dangling, or a node whose device number the kernel no longer has. No array, not another device.
                if (!File.Exists(target) || (Kernel.DeviceNumber.Of(target) is { } stale && !Directory.Exists($"/sys/dev/block/{stale}")))
                    throw NotFound(array);
                kname = KernelNameOfNode(target) ?? throw NotMd(array);
            }
        }
        else if (!spec.Contains('/'))
        {
            kname = spec;
            if (!Directory.Exists(Path.Combine(BlockRoot, kname)))
            {
                string link = Path.Combine("/dev/md", spec);
                if (File.Exists(link)) return ResolveKernelName(link);
                throw NotFound(array);
            }
        }
        else throw NotFound(array);
        if (!Directory.Exists(Path.Combine(BlockRoot, kname, "md")))
            throw NotMd(array);
        return kname;
    }

    /// <summary>Kernel names of every md device that has an md directory (active or being assembled).</summary>
    public static IReadOnlyList<string> ListKernelNames()
    {
        if (!Directory.Exists(BlockRoot)) return Array.Empty<string>();
        return Directory.EnumerateDirectories(BlockRoot, "md*")
            .Select(Path.GetFileName).OfType<string>()
            .Where(n => Directory.Exists(Path.Combine(BlockRoot, n, "md")))
            .OrderBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>The mdadm name of an array: the /dev/md/NAME link that points at it, null when none exists.</summary>
    public static string? ArrayNameOf(string kernelName)
    {
        if (!Directory.Exists("/dev/md")) return null;
        foreach (var link in Directory.EnumerateFileSystemEntries("/dev/md"))
        {
            try
            {
                var target = new FileInfo(link).ResolveLinkTarget(true);
                if (target is not null && Path.GetFileName(target.FullName) == kernelName) return Path.GetFileName(link);
            }
            catch (IOException) { }
        }
        return null;
    }

    /// <summary>One attribute's text without the trailing newline; null when the file does not exist (the personality has none).</summary>
    public static string? Read(string directory, string attribute)
    {
        string path = Path.Combine(directory, attribute);
        try
        {
            if (!File.Exists(path)) return null;
            // One read from offset 0: sysfs builds the text anew for a read (show()), so a value read in two calls tears
            // when md changes it between them (CI saw sync_completed "0 / 30208" followed by "08" of "1808 / 30208").
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            var buffer = new byte[8192];   // a sysfs attribute is at most one page
            int n = RandomAccess.Read(handle, buffer, 0);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, n).TrimEnd('\n');
        }
        catch (NotSupportedException) { return File.ReadAllText(path).TrimEnd('\n'); }   // not seekable: not sysfs
        catch (IOException) { return null; }   // md returns an error for some attributes in some states
    }

    /// <summary>
    /// Writes one attribute (sync_action, a leg's state, ...). md answers a request it will not take with an errno
    /// (EBUSY while a recovery runs, EINVAL for a word it does not know): ArrayBusy with md's words, the attribute's path
    /// and the value; a write refused by permissions is DeviceAccessDenied. <paramref name="target"/> names the array
    /// in the error as the user gave it (default: the md device of <paramref name="directory"/>).
    /// </summary>
    public static void Write(string directory, string attribute, string value, string? target = null)
    {
        string path = Path.Combine(directory, attribute);
        string array = target ?? ArrayOf(path);
        try { File.WriteAllText(path, value); }
        catch (UnauthorizedAccessException e)
        {
            throw new IntegrityVolumeException(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied,
                $"{array}: writing '{value}' to {path} was refused: permission denied (md's sysfs attributes are written as root).", array, e);
        }
        catch (IOException e)
        {
            throw new IntegrityVolumeException(ErrorIds.ArrayBusy, ErrorKind.ResourceBusy,
                $"{array}: md refused '{value}' ({path}): {e.Message}", array, e);
        }
    }

    // /sys/block/md127/md/dev-dm-3/state → md127 (the error's target when the caller names none).
    private static string ArrayOf(string path)
    {
        string root = BlockRoot + "/";
        if (!path.StartsWith(root, StringComparison.Ordinal)) return path;
        int slash = path.IndexOf('/', root.Length);
        return slash < 0 ? path[root.Length..] : path[root.Length..slash];
    }

    /// <summary>
    /// sync_completed: "none" when no sync runs, "delayed" while it waits for another array on the same disks,
    /// otherwise "DONE / TOTAL" in sectors (md.c sync_completed_show).
    /// </summary>
    public static MdSyncCompleted ParseSyncCompleted(string? text)
    {
        string t = (text ?? "").Trim();
        if (t.Length == 0 || t == "none") return MdSyncCompleted.None;
        if (t == "delayed") return new MdSyncCompleted(true, true, 0, 0);
        var parts = t.Split('/', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && TryU64(parts[0], out ulong done) && TryU64(parts[1], out ulong total))
            return new MdSyncCompleted(true, false, done, total);
        throw new FormatException($"Not an md sync_completed value: '{text}'.");
    }

    /// <summary>A leg's state: comma-separated flags ("in_sync", "faulty,write_error", "spare", ...; md.c state_show).</summary>
    public static IReadOnlyList<string> ParseLegState(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A leg's slot: its role number, or null for "none" (a spare or a faulty leg; md.c slot_show).</summary>
    public static int? ParseSlot(string? text)
    {
        string t = (text ?? "").Trim();
        if (t.Length == 0 || t == "none") return null;
        return int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int slot) ? slot
            : throw new FormatException($"Not an md slot value: '{text}'.");
    }

    /// <summary>
    /// A leg's bad-block log (dev-*/bad_blocks): one "SECTOR LENGTH" line per entry, in sectors of the leg device (md
    /// adds the leg's data offset before recording; md.c rdev_set_badblocks, badblocks_show). md records there the pages
    /// it could not rebuild from the other legs: data lost. Empty text: none.
    /// </summary>
    public static IReadOnlyList<SectorRange> ParseBadBlocks(string? text)
    {
        var ranges = new List<SectorRange>();
        foreach (var line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 2 || !TryU64(f[0], out ulong start) || !TryU64(f[1], out ulong length) || length == 0)
                throw new FormatException($"Not an md bad_blocks line: '{line}'.");
            ranges.Add(new SectorRange(start, length));
        }
        return ranges;
    }

    /// <summary>A decimal counter; the first token of it (raid_disks reads "3 (2)" while a reshape changes the count).</summary>
    public static ulong? ParseNumber(string? text)
    {
        string t = (text ?? "").Trim();
        int space = t.IndexOf(' ');
        if (space > 0) t = t[..space];
        return TryU64(t, out ulong v) ? v : null;
    }

    /// <summary>The kernel name of a leg directory: "dev-dm-3" → "dm-3" (md.c names it "dev-%s" of the bdev).</summary>
    public static string? LegKernelName(string directoryName) =>
        directoryName.StartsWith("dev-", StringComparison.Ordinal) && directoryName.Length > 4 ? directoryName[4..] : null;

    private static string? KernelNameOfNode(string node)
    {
        var dev = Kernel.DeviceNumber.Of(node);
        if (dev is null) return null;
        string link = $"/sys/dev/block/{dev}";
        if (!Directory.Exists(link)) return null;
        var target = new DirectoryInfo(link).ResolveLinkTarget(true);
        return target is null ? null : Path.GetFileName(target.FullName);
    }

    private static bool TryU64(string s, out ulong v) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);

    private static IntegrityVolumeException NotFound(string array) =>
        new(ErrorIds.ArrayNotFound, ErrorKind.NotFound, $"{array}: no such md array (give /dev/mdN, /dev/md/NAME or mdN).", array);

    private static IntegrityVolumeException NotMd(string array) =>
        new(ErrorIds.NotAnMdArray, ErrorKind.InvalidArgument, $"{array} is not an md array (no md directory in sysfs).", array);
}

/// <summary>md's sync_completed: whether a sync/check runs (or waits: <see cref="Delayed"/>), and how far it is in sectors.</summary>
public sealed record MdSyncCompleted(bool Running, bool Delayed, ulong DoneSectors, ulong TotalSectors)
{
    public static readonly MdSyncCompleted None = new(false, false, 0, 0);

    /// <summary>Progress of a running (not delayed) sync with a known total, in bytes; null otherwise.</summary>
    public OperationProgress? Progress(string activity, string action, TimeSpan elapsed) =>
        Running && !Delayed && TotalSectors > 0
            ? new OperationProgress(activity, $"{action}: sector {DoneSectors} of {TotalSectors}", (long)DoneSectors * 512, (long)TotalSectors * 512, elapsed)
            : null;
}
