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
    /// <summary>The dm-crypt mapping on top of the array closed first (cryptsetup close); null when there was none.</summary>
    public string? ClosedCrypt { get; init; }
    /// <summary>The legs' own dm-crypt mappings (RAID over per-leg LUKS) closed after md and before their integrity mappings, in slot order.</summary>
    public IReadOnlyList<string> ClosedLegCrypts { get; init; } = [];
}

/// <summary>
/// Stop an md array and close its dm-integrity legs: refused (ArrayInUse) while the array or anything above it is
/// mounted or held (holders/ in sysfs), as mdadm --stop would refuse only part of that. A dm-crypt mapping that is the
/// array's only holder and is itself unmounted and unheld is the stack's top layer: closed first (stack order). A leg
/// that is a dm-crypt mapping directly over its integrity mapping (RAID over per-leg LUKS) is closed after md, then
/// its integrity mapping.
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
        // The crypt layer on top (LUKS over RAID): closed first when it is the only holder and nothing uses it; a
        // mounted or held one refuses the close here, before anything is closed. md itself cannot be mounted while
        // dm-crypt claims it, so with a crypt layer the md paths' only user is that holder.
        string? crypt = CryptOnTop(array, kname);
        foreach (var path in new[] { devPath, info.Name is null ? null : ArrayCreate.MdPath(info.Name) })
            if (crypt is null && path is not null && File.Exists(path) && DeviceUsage.FindUser(path) is { } user)
                throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy,
                    $"{array} is in use ({user}); unmount it and close what sits on it first.", array);
        if (crypt is not null)
        {
            ct.ThrowIfCancellationRequested();
            try { ArrayCrypt.Close(crypt, ct); }
            catch (IntegrityVolumeException e) when (e.ErrorId == ErrorIds.CryptsetupFailed && (e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("busy", StringComparison.OrdinalIgnoreCase)))
            {
                // cryptsetup: "Device NAME is still in use." (a process has the mapping open).
                throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy,
                    $"{array} is in use (crypt mapping {crypt} is open by a process): {e.Message}", array, e);
            }
            WaitNoHolder(kname, ct);
        }
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
        var legCrypts = new List<string>();
        foreach (var leg in info.Legs.OrderBy(l => l.Slot ?? int.MaxValue))
        {
            string? legCrypt = ArrayLegCrypt.CryptOverIntegrity(leg);
            if (leg.Integrity is null || leg.MapperName is null || (leg.IntegrityUnderLayer && legCrypt is null)) { others.Add(leg.Path); continue; }
            WaitReleased(leg.Device, ct);
            if (legCrypt is not null)
            {
                ArrayCrypt.Close(legCrypt, ct);
                legCrypts.Add(legCrypt);
            }
            var r = IntegrityMappings.Close(leg.Integrity.Name);
            closed.Add(leg.Integrity.Name);
            loops.AddRange(r.DetachedLoopDevices);
        }
        return new ArrayCloseResult
        {
            Device = kname, Name = info.Name, ClosedLegs = closed, OtherLegs = others, DetachedLoopDevices = loops, ClosedCrypt = crypt,
            ClosedLegCrypts = legCrypts,
        };
    }

    /// <summary>
    /// The dm-crypt mapping to close before the array: the array's only holder, made by cryptsetup (dm uuid CRYPT-),
    /// itself unheld and unmounted; null when the array has no such holder. A crypt mapping that is mounted or held is
    /// ArrayInUse naming it (nothing is closed).
    /// </summary>
    private static string? CryptOnTop(string array, string kname)
    {
        if (DeviceNodes.Holders(kname) is not [var h] || !ArrayCrypt.IsCryptMapping(h)) return null;
        string name = DeviceNodes.MapperNameOf(h) ?? h;
        string? dev = MdSysfs.Read(Path.Combine("/sys/class/block", h), "dev");
        string? user = ArrayCrypt.MountPointOf(dev) is { } mnt ? $"mounted on {mnt}"
            : DeviceNodes.Holders(h) is [var above, ..] ? $"held by {above}"
            : File.Exists(DeviceNodes.MapperPath(name)) ? DeviceUsage.FindUser(DeviceNodes.MapperPath(name)) : null;
        if (user is not null)
            throw new IntegrityVolumeException(ErrorIds.ArrayInUse, ErrorKind.ResourceBusy,
                $"{array} is in use (crypt mapping {name} on it is {user}); unmount it and close what sits on it first.", array);
        return name;
    }

    /// <summary>dm removes the crypt mapping's hold on md when cryptsetup close returns; wait for that state, with a hang limit.</summary>
    private static void WaitNoHolder(string kname, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (DeviceNodes.Holders(kname).Count > 0 && sw.Elapsed < ReleaseLimit)
        {
            ct.ThrowIfCancellationRequested();
            Thread.Sleep(50);
        }
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
