using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol array replace: format and open a new leg like the array's other dm-integrity legs, hand it to md (mdadm --replace
/// while the old leg is active, --remove/--add when it is faulty or gone) and wait for md's recovery.
/// </summary>
internal static class ArrayReplaceCommand
{
    public static Command Create()
    {
        var array = new Argument<string>("md") { Description = "/dev/mdN, /dev/md/NAME or mdN." };
        var leg = new Option<string>("--leg") { Description = "The leg to replace: /dev/mapper/NAME, NAME or dm-N (it may be faulty, or already gone from a degraded array).", Required = true };
        var device = new Option<string>("--device") { Description = "Image file or block device that becomes the new leg (formatted like the other legs).", Required = true };
        var name = new Option<string>("--name") { Description = "Device-mapper name of the new leg (/dev/mapper/<name>).", Required = true };
        var force = new Option<bool>("--force") { Description = "Format the new device although it holds a file system, LUKS or an integrity superblock." };
        var keyFile = new Option<string?>("--integrity-key-file") { Description = "Key file of the legs' keyed algorithm (hmac-*): device-mapper does not give the key back. Proven on an active leg's tags first." };
        var keySize = new Option<int?>("--integrity-key-size") { Description = $"Bytes to read from the --integrity-key-file (default: the whole file, at most {KeyFile.MaxBytes})." };
        var luksKey = new Option<string?>("--luks-key-file") { Description = "RAID over per-leg LUKS: the legs' LUKS key file; the new leg gets its own LUKS2 header with it, opened as <name>-crypt (the md member). It must open an active leg's header." };
        var luksPbkdf = new Option<string?>("--luks-pbkdf") { Description = "cryptsetup --pbkdf of the new leg's key slot: argon2id, argon2i or pbkdf2 (default cryptsetup's)." };
        var luksIterTime = new Option<int?>("--luks-iter-time") { Description = "cryptsetup --iter-time of the new leg's key slot in ms (default cryptsetup's)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("replace", "Replace a leg: format + open NEW like the other legs, mdadm --replace (old leg active) or --remove/--add (faulty or gone), " +
            "wait for md's recovery; the old mapping is closed when it is ours and no longer held. Exit 0 recovered, 130 cancelled (Ctrl+C: md's recovery stopped, the new leg removed and closed).")
        { array, leg, device, name, force, keyFile, keySize, luksKey, luksPbkdf, luksIterTime, json, progressJson };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            using var key = KeyFile.ReadOptional(p.GetValue(keyFile), p.GetValue(keySize), keyFile.Name);
            if (p.GetValue(luksKey) is null && (p.GetValue(luksPbkdf) is not null || p.GetValue(luksIterTime) is not null))
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "--luks-pbkdf and --luks-iter-time need --luks-key-file.");
            var r = VolumeOperations.ReplaceArrayLeg(new ArrayLegReplaceRequest
            {
                Array = p.GetValue(array)!,
                Leg = p.GetValue(leg)!,
                NewDevice = p.GetValue(device)!,
                NewName = p.GetValue(name)!,
                Force = p.GetValue(force),
                Key = key,
                Luks = p.GetValue(luksKey) is { } lk ? new ArrayLuksOptions
                {
                    KeyFilePath = Path.GetFullPath(lk), Pbkdf = p.GetValue(luksPbkdf), IterTimeMs = p.GetValue(luksIterTime),
                } : null,
            }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
            if (p.GetValue(json)) CliOutput.WriteJson(r);
            else Print(r);
            return r.Cancelled ? ExitCodes.Cancelled : ExitCodes.Success;
        }));
        return cmd;
    }

    private static void Print(ArrayLegReplaceResult r)
    {
        string how = r.Mode == ArrayLegReplaceMode.Replace ? "mdadm --replace" : "mdadm --remove/--add";
        Console.WriteLine($"{r.Path}: {r.OldLeg} -> {r.NewLeg} ({r.NewBackingDevice}) by {how}: " +
            (r.RecoveryCompleted ? $"recovered in {r.Elapsed.TotalSeconds:0.#} s"
                : r.Cancelled ? (r.NewLegRemoved ? "cancelled, the new leg taken out again" : "cancelled") + (r.RecoveryRunning ? "; recovery still running in the kernel" : "")
                : "recovery still running in the kernel"));
        if (r.NewLegCrypt is { } c) Console.WriteLine($"  new leg's crypt layer: {c.Path} over /dev/mapper/{r.NewLegName} (LUKS2, UUID {c.LuksUuid})");
        Console.WriteLine($"  new leg: {r.NewLegDevice} slot {r.NewLegSlot?.ToString() ?? "-"}, {string.Join(',', r.NewLegState)}{(r.NewLegClosed ? ", mapping closed" : "")}");
        Console.WriteLine($"  old leg: {(r.OldLegRemoved ? "removed from the array" : "still listed")}{(r.OldLegClosed ? ", mapping closed" : "")}");
        Console.WriteLine($"  array: {r.ArrayStateAfter}, degraded {r.DegradedBefore} -> {r.DegradedAfter}, sync action {r.SyncActionAfter ?? "(none)"}");
        foreach (var m in r.Messages) Console.WriteLine($"  note: {m}");
    }
}
