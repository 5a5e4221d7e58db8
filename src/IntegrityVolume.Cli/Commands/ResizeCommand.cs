using System.CommandLine;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol resize: grow or shrink a closed volume (image or device), or an active mapping (--name, integritysetup resize).</summary>
internal static class ResizeCommand
{
    public static Command Create()
    {
        var device = new Argument<string?>("device") { Description = "Closed volume: device or image file holding the superblock, journal and tags.", Arity = ArgumentArity.ZeroOrOne };
        var dataDevice = CommonOptions.DataDevice();
        var reserved = CommonOptions.ReservedSectors();
        var wait = new Option<bool>("--wait") { Description = "When another ivol process holds the device (exit 5, DeviceInUse), wait for it instead of failing." };
        var name = new Option<string?>("--name") { Description = "Resize the active mapping /dev/mapper/NAME through the kernel (integritysetup resize) instead of a closed volume." };
        var algorithm = CommonOptions.AlgorithmOptions.Integrity();
        var journalIntegrity = CommonOptions.AlgorithmOptions.JournalIntegrity();
        var size = new Option<ulong?>("--size", "-b") { Description = "New data size in 512-byte sectors (integritysetup --size); an image grows to the smallest size that provides it." };
        var deviceSize = new Option<string?>("--device-size") { Description = "New size of the device or image holding the data, in bytes (e.g. 2G; integritysetup --device-size; 0: the whole device, as integritysetup). Default: the device's current size." };
        var force = new Option<bool>("--force") { Description = "Shrink although the cut tail holds written blocks (they are listed); a wrong algorithm or key is always refused." };
        var noWipe = new Option<bool>("--no-wipe") { Description = "With --name: reload with recalculate instead of wiping the grown tail (the kernel recalculates from recalc_sector, the whole device when not recalculating)." };
        var wipe = new Option<bool>("--wipe") { Description = "With --name: wipe the grown tail through the kernel (integritysetup resize --wipe); ivol's default." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check everything and print the new size and what a shrink would cut; write nothing." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("resize", "Grow or shrink a volume: a closed image or device offline (only the new tail gets tags), or an active mapping with --name.")
        {
            device, dataDevice, reserved, wait, name, size, deviceSize, force, noWipe, wipe, dryRun, json, progressJson,
        };
        algorithm.AddTo(cmd);
        journalIntegrity.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
            {
                string? path = p.GetValue(device), mapping = p.GetValue(name);
                if ((path is null) == (mapping is null))
                    throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                        "Give either a closed volume's device or image, or --name of an active mapping.");
                if (p.GetValue(wipe) && p.GetValue(noWipe))
                    throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "--wipe and --no-wipe exclude each other.");
                // integritysetup: --device-size 0 is the whole device, as no size at all.
                long? deviceBytes = p.GetValue(deviceSize) is { } ds && ds.Trim() != "0" ? CommonOptions.ParseSize(ds) : null;
                ResizeResult r;
                if (mapping is not null)
                {
                    if (p.GetValue(dryRun))
                        throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "--dry-run is for closed volumes; an active mapping is resized by the kernel.");
                    if (deviceBytes is long b && b % 512 != 0)
                        throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument, $"--device-size {b} is not a multiple of 512 bytes.");
                    r = VolumeOperations.ResizeActive(new OnlineResizeRequest
                    {
                        Name = mapping, SizeSectors = p.GetValue(size) ?? (deviceBytes is long db ? (ulong)db / 512 : null), Wipe = !p.GetValue(noWipe), Force = p.GetValue(force),
                    }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                }
                else
                {
                    using var key = algorithm.ReadKey(p);
                    using var journalKey = journalIntegrity.ReadKey(p);
                    var request = new ResizeRequest
                    {
                        Volume = new VolumeLocation { Path = path!, DataDevicePath = p.GetValue(dataDevice), ReservedSectors = p.GetValue(reserved), WaitForLock = p.GetValue(wait) },
                        Integrity = new IntegrityAlgorithmSpec { Algorithm = algorithm.Parse(p)!, Key = key },
                        JournalIntegrity = journalIntegrity.Parse(p), JournalIntegrityKey = journalKey,
                        SizeSectors = p.GetValue(size), DeviceSizeBytes = deviceBytes, Force = p.GetValue(force),
                    };
                    r = p.GetValue(dryRun)
                        ? VolumeOperations.PlanResize(request, Program.Cancellation)
                        : VolumeOperations.Resize(request, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                }
                foreach (var w in r.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
                if (p.GetValue(json)) CliOutput.WriteJson(r);
                else Print(r);
                return ExitCodes.Success;
            }));
        return cmd;
    }

    private static void Print(ResizeResult r)
    {
        string what = r.Name ?? r.Path;
        string verb = r.WhatIf ? "Would resize" : "Resized";
        Console.WriteLine(r.Action == "unchanged"
            ? $"{what}: size unchanged ({r.NewProvidedDataSectors} sectors{(r.Name is null ? "" : $" provided, mapping {r.NewDeviceBytes / 512} sectors")})."
            : $"{verb} {what} ({r.Action}): {r.OldProvidedDataSectors} -> {r.NewProvidedDataSectors} data sectors" +
              (r.Name is null ? $", device {r.OldDeviceBytes} -> {r.NewDeviceBytes} bytes" : $", mapping {r.OldDeviceBytes / 512} -> {r.NewDeviceBytes / 512} sectors") +
              (r.TagInitialization == "none" ? "." : $"; new tail: {r.TagInitialization}."));
        if (r.CutBlocks > 0)
            Console.WriteLine($"{(r.WhatIf ? "Would cut" : "Cut")} {r.CutBlocks} written blocks at sectors {string.Join(", ", r.CutRanges.Select(c => c.ToString()))}.");
    }
}
