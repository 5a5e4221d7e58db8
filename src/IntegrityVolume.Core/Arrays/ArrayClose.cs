using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Arrays;

/// <summary>What CloseArray did: the md device stopped, the integrity legs closed, the legs left alone (not dm-integrity).</summary>
public sealed record ArrayCloseResult
{
    /// <summary>Kernel name of the stopped array (md127).</summary>
    public required string Device { get; init; }
    public string? Name { get; init; }
    /// <summary>Device-mapper names of the dm-integrity legs closed, in slot order.</summary>
    public required IReadOnlyList<string> ClosedLegs { get; init; }
    /// <summary>Legs that are not dm-integrity mappings (left as they are).</summary>
    public required IReadOnlyList<string> OtherLegs { get; init; }
    public required IReadOnlyList<string> DetachedLoopDevices { get; init; }
}

/// <summary>
/// Stop an md array and close its dm-integrity legs: refused (ArrayInUse) while the array or anything above it is
/// mounted or held (holders/ in sysfs), as mdadm --stop would refuse only part of that.
/// </summary>
internal static class ArrayClose
{
    /// <summary>How long md may take to release its legs after mdadm --stop (a hang limit).</summary>
    public static TimeSpan ReleaseLimit { get; set; } = TimeSpan.FromMinutes(1);

    public static ArrayCloseResult Close(string array, CancellationToken ct)
    {
        string kname = MdSysfs.ResolveKernelName(array);
        var info = MdArrays.Read(kname);
        string devPath = "/dev/" + kname;
        foreach (var path in new[] { devPath, info.Name is null ? null : ArrayCreate.MdPath(info.Name) })
            if (path is not null && File.Exists(path) && DeviceUsage.FindUser(path) is { } user)
                throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy,
                    $"{array} is in use ({user}); unmount it and close what sits on it first.", array);
        // holders/ of the md device: dm-crypt, LVM or another md on top. FindUser sees them only for a /dev node it can resolve.
        if (DeviceNodes.Holders(kname) is [var h, ..])
            throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy,
                $"{array} is in use (held by {h}); close what sits on it first.", array);
        ct.ThrowIfCancellationRequested();
        try { MdadmTool.Run(new[] { "--stop", devPath }, array, ct); }
        catch (IntegrityVolumeException e) when (e.ErrorId == ErrorIds.MdadmFailed && (e.Message.Contains("exclusive access", StringComparison.Ordinal) || e.Message.Contains("busy", StringComparison.OrdinalIgnoreCase)))
        {
            // mdadm: "Cannot get exclusive access to /dev/mdN: Perhaps a running process, mounted filesystem or active volume group?",
            // or STOP_ARRAY's EBUSY while another process has it open ("Device or resource busy").
            throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy, $"{array} is in use (open by a process): {e.Message}", array, e);
        }
        var closed = new List<string>();
        var others = new List<string>();
        var loops = new List<string>();
        foreach (var leg in info.Legs.OrderBy(l => l.Slot ?? int.MaxValue))
        {
            if (leg.Integrity is null || leg.MapperName is null || leg.IntegrityUnderLayer) { others.Add(leg.Path); continue; }
            WaitReleased(leg.Device, ct);
            var r = IntegrityMappings.Close(leg.MapperName);
            closed.Add(leg.MapperName);
            loops.AddRange(r.DetachedLoopDevices);
        }
        return new ArrayCloseResult { Device = kname, Name = info.Name, ClosedLegs = closed, OtherLegs = others, DetachedLoopDevices = loops };
    }

    /// <summary>md drops its hold on a leg (holders/mdN) when the array stops; wait for that state, with a hang limit.</summary>
    private static void WaitReleased(string legKernelName, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (DeviceNodes.Holders(legKernelName).Any(h => h.StartsWith("md", StringComparison.Ordinal)) && sw.Elapsed < ReleaseLimit)
        {
            ct.ThrowIfCancellationRequested();
            Thread.Sleep(50);
        }
    }
}
