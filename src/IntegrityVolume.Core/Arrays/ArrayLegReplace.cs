using System.ComponentModel;
using System.Diagnostics;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Operations;

namespace IntegrityVolume.Core.Arrays;

/// <summary>Replace one leg of an md array over dm-integrity legs with a freshly formatted one.</summary>
public sealed record ArrayLegReplaceRequest
{
    /// <summary>/dev/mdN, /dev/md/NAME or mdN.</summary>
    public required string Array { get; init; }
    /// <summary>The member to replace: /dev/mapper/NAME, NAME, dm-N or /dev/dm-N; it may be faulty, or already gone from a degraded array.</summary>
    public required string Leg { get; init; }
    /// <summary>Image file or block device that becomes the new leg (formatted like the others).</summary>
    public required string NewDevice { get; init; }
    /// <summary>Device-mapper name of the new leg's mapping.</summary>
    public required string NewName { get; init; }
    /// <summary>Format <see cref="NewDevice"/> although it carries a file system, LUKS or integrity superblock.</summary>
    public bool Force { get; init; }
    /// <summary>
    /// Key of the legs' keyed internal_hash (hmac-*): device-mapper does not give it back, so it is given, and proven on an
    /// active leg's tags before anything is formatted. Owned by the caller.
    /// </summary>
    public IntegrityKey? Key { get; init; }
    /// <summary>
    /// RAID over per-leg LUKS: the legs' LUKS key file. The new leg gets its own LUKS2 header with it (cryptsetup
    /// luksFormat on its integrity mapping, opened as NEWNAME-crypt, the md member); proven on an active leg's header first.
    /// Pbkdf and IterTimeMs tune the new key slot; Name and CrypttabPath are not used.
    /// </summary>
    public ArrayLuksOptions? Luks { get; init; }
    /// <summary>How often sysfs is read while md recovers (a bound on the wait, never a verdict).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>How long md may leave the new leg an idle spare before the replace is given up (md starts recovery at once when it can).</summary>
    public TimeSpan StartLimit { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>How the new leg entered the array.</summary>
public enum ArrayLegReplaceMode
{
    /// <summary>mdadm --replace OLD --with NEW: md copies onto the new leg while the old one stays active (other legs for its bad blocks).</summary>
    Replace,
    /// <summary>mdadm --remove OLD (faulty or already gone) then --add NEW: md rebuilds the new leg from the other legs.</summary>
    Add,
}

/// <summary>What a leg replacement did.</summary>
public sealed record ArrayLegReplaceResult
{
    /// <summary>Kernel name of the array (md127).</summary>
    public required string Device { get; init; }
    public required string Path { get; init; }
    public string? Name { get; init; }
    public required string Level { get; init; }
    /// <summary>The replaced leg as given or as md named it (/dev/mapper/NAME).</summary>
    public required string OldLeg { get; init; }
    /// <summary>Its kernel name (dm-3); null when it was no longer a member.</summary>
    public string? OldLegDevice { get; init; }
    public required IReadOnlyList<string> OldLegStateBefore { get; init; }
    /// <summary>/dev/mapper/NEWNAME.</summary>
    public required string NewLeg { get; init; }
    public required string NewLegName { get; init; }
    /// <summary>RAID over per-leg LUKS: the new leg's crypt mapping (NEWNAME-crypt, the md member; <see cref="NewLeg"/> is its path) and LUKS UUID.</summary>
    public ArrayLegCryptInfo? NewLegCrypt { get; init; }
    public string? NewLegDevice { get; init; }
    /// <summary>The image or device given; <see cref="NewLegDataDevice"/> is what the mapping runs on (a loop device for an image).</summary>
    public required string NewBackingDevice { get; init; }
    public string? NewLegDataDevice { get; init; }
    public required ArrayLegReplaceMode Mode { get; init; }
    /// <summary>md finished: the new leg is in_sync and no recovery runs.</summary>
    public bool RecoveryCompleted { get; init; }
    /// <summary>md still recovers onto the new leg after this call (only when a cancellation could not stop it: see <see cref="Messages"/>).</summary>
    public bool RecoveryRunning { get; init; }
    /// <summary>Ctrl+C cancelled the replacement: md's recovery was stopped and the new leg taken out again (<see cref="NewLegRemoved"/>, <see cref="NewLegClosed"/>).</summary>
    public bool Cancelled { get; init; }
    /// <summary>Cancelled: the new leg was failed and removed from the array (the array keeps the legs it had before).</summary>
    public bool NewLegRemoved { get; init; }
    /// <summary>Cancelled: the new leg's mapping was closed (and its loop device detached).</summary>
    public bool NewLegClosed { get; init; }
    /// <summary>The old leg left the array (mdadm --remove).</summary>
    public bool OldLegRemoved { get; init; }
    /// <summary>The old leg's mapping was closed (ours, not held by anything after the removal); over per-leg LUKS its crypt mapping, then its integrity mapping.</summary>
    public bool OldLegClosed { get; init; }
    public required IReadOnlyList<string> NewLegState { get; init; }
    public int? NewLegSlot { get; init; }
    public ulong? DegradedBefore { get; init; }
    public ulong? DegradedAfter { get; init; }
    public required string ArrayStateAfter { get; init; }
    public string? SyncActionAfter { get; init; }
    /// <summary>What the front ends tell the user (a kept mapping and why, recovery left running).</summary>
    public required IReadOnlyList<string> Messages { get; init; }
    public TimeSpan Elapsed { get; init; }
}

/// <summary>
/// Replaces a leg: the new device is formatted with the old leg's dm-integrity parameters (its live table, or another
/// leg's when it is gone), opened, and given to md with mdadm; md's recovery is then watched through sysfs
/// (Documentation/admin-guide/md.rst: sync_action, sync_completed, degraded, dev-*/state). The array is never left
/// with less redundancy than before: an active old leg stays until md has copied it (--replace).
/// </summary>
public static class ArrayLegReplace
{
    public static ArrayLegReplaceResult Run(ArrayLegReplaceRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Leg) || string.IsNullOrWhiteSpace(request.NewDevice) || string.IsNullOrWhiteSpace(request.NewName))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "Give the leg to replace (--leg / -Leg), the new device (--device / -NewDevice) and its mapping name (--name / -NewName).");
        var plan = Plan(request, ct);
        MdadmTool.Require(request.Array);
        ct.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();

        // 1. Format the new device like the other legs (the format's own checks: in use, existing signature unless Force).
        var source = plan.Source;
        var format = new FormatRequest
        {
            Volume = new VolumeLocation { Path = request.NewDevice },
            Integrity = new IntegrityAlgorithmSpec { Algorithm = plan.Algorithm, Key = plan.Source.Keyed ? request.Key : null },
            TagSize = source.TagSize,
            SectorSize = source.SectorSize,
            InterleaveSectors = source.InterleaveSectors == 0 ? null : source.InterleaveSectors,
            LegacyPadding = !source.FixPadding,
            BitmapSectorsPerBit = source.BitmapSectorsPerBit,
            Force = request.Force,
        };
        var planned = VolumeOperations.PlanFormat(format, ct);
        if (planned.Volume.ProvidedDataSectors < plan.RequiredSectors)
            throw new IntegrityVolumeException(ErrorIds.ReplacementTooSmall, ErrorKind.InvalidArgument,
                $"{request.NewDevice} formatted like the other legs provides {planned.Volume.ProvidedDataSectors} sectors; {plan.Array.Path} needs {plan.RequiredSectors} (md data offset + component size).",
                request.NewDevice);
        VolumeOperations.Format(format, progress, ct);
        ct.ThrowIfCancellationRequested();

        // 2. Open it with the same mode and options as the source leg.
        var opened = IntegrityMappings.Open(new IntegrityOpenRequest
        {
            Device = request.NewDevice,
            Name = request.NewName,
            Options = new IntegrityActivationOptions
            {
                Algorithm = plan.Algorithm.IntegritysetupName,
                Key = plan.Source.Keyed ? request.Key : null,
                Mode = source.Mode == IntegrityMode.Recovery ? IntegrityMode.Journal : source.Mode,
                AllowDiscards = source.AllowDiscards,
                BufferSectors = source.BufferSectors == 0 ? null : source.BufferSectors,
                JournalWatermark = source.JournalWatermark,
                CommitTimeMs = source.JournalCommitTimeMs,
                SectorsPerBit = source.Mode == IntegrityMode.Bitmap ? source.BitmapSectorsPerBit : null,
                BitmapFlushIntervalMs = source.Mode == IntegrityMode.Bitmap ? source.BitmapFlushIntervalMs : null,
            },
        }, VolumeOperations.ReadSuperblock(new VolumeLocation { Path = request.NewDevice }), ct);

        // 2b. RAID over per-leg LUKS: the new leg's own LUKS2 header (the legs' key file), opened as NEWNAME-crypt: the md member.
        string md = plan.Array.Path, newPath = opened.Path;
        string mdDir = System.IO.Path.Combine(MdSysfs.BlockRoot, plan.Array.Device, "md");
        var messages = new List<string>();
        bool oldRemoved = false;
        ArrayLegCryptInfo? newCrypt = null;
        string member = request.NewName;
        try
        {
            if (plan.LegCrypt)
            {
                ArrayCrypt.Format(opened.Path, request.Luks!, ct);
                newCrypt = ArrayLegCrypt.Open(request.NewName, request.Luks!.KeyFilePath, new List<string>(), ct);
                member = newCrypt.Name;
                newPath = newCrypt.Path;
                messages.Add($"{newCrypt.Name} has LUKS UUID {newCrypt.LuksUuid}: a crypttab line for the old leg names another UUID (\"{ArrayCrypt.CrypttabLine(newCrypt.Name, newCrypt.LuksUuid, request.Luks.KeyFilePath)}\").");
            }
            ct.ThrowIfCancellationRequested();
            if (plan.Mode == ArrayLegReplaceMode.Replace)
            {
                // mdadm --replace --with needs the new device as a spare first; md does not use a spare on a whole array.
                Mdadm(md, "--add", newPath);
                try { Mdadm(md, "--replace", plan.OldLeg!.Path, "--with", newPath); }
                catch
                {
                    try { Mdadm(md, "--remove", newPath); } catch (IntegrityVolumeException) { }
                    throw;
                }
            }
            else
            {
                if (plan.OldLeg is { } old)
                {
                    Mdadm(md, "--remove", old.Path);
                    oldRemoved = true;
                }
                Mdadm(md, "--add", newPath);
            }
        }
        catch
        {
            if (newCrypt is not null) try { ArrayCrypt.Close(newCrypt.Name, CancellationToken.None); } catch (IntegrityVolumeException) { }
            try { IntegrityMappings.Close(request.NewName); } catch (IntegrityVolumeException) { }
            throw;
        }

        // 4. Watch md's recovery until the new leg is in_sync (and, with --replace, the old one faulty or gone).
        string activity = $"md recovery of {plan.Array.Name ?? plan.Array.Device} onto {request.NewName}";
        bool cancelled = false, completed = false, newRemoved = false, newClosed = false;
        var idleSince = Stopwatch.StartNew();
        MdArrayInfo now;
        while (true)
        {
            now = MdArrays.Read(plan.Array.Device);
            var fresh = now.Legs.FirstOrDefault(l => l.MapperName == member);
            if (fresh is null || fresh.Faulty)
                throw new IntegrityVolumeException(ErrorIds.MdadmFailed, ErrorKind.DeviceError,
                    $"{md}: md {(fresh is null ? "dropped" : "failed")} the new leg {newPath} during recovery (see the kernel log).", request.Array);
            var oldNow = plan.OldLeg is null ? null : now.Legs.FirstOrDefault(l => l.Device == plan.OldLeg.Device);
            bool oldDone = plan.Mode == ArrayLegReplaceMode.Add || oldNow is null || oldNow.Faulty;
            if (!now.SyncRunning && fresh.InSync && oldDone) { completed = true; break; }
            if (now.SyncRunning || fresh.InSync) idleSince.Restart();
            else if (idleSince.Elapsed > request.StartLimit)
                throw new IntegrityVolumeException(ErrorIds.MdadmFailed, ErrorKind.DeviceError,
                    $"{md}: md did not start recovery onto {newPath} (still a spare, sync_action {now.SyncAction}); it stays in the array as a spare.", request.Array);
            if (now.SyncCompleted.Progress(activity, now.SyncAction ?? "", clock.Elapsed) is { } p) progress?.Report(p);
            if (ct.IsCancellationRequested)
            {
                // Ctrl+C cancels the replacement, as a cancelled scrub stops md's check: md had finished (done), or the
                // new leg goes out again and the array keeps what it had before.
                if (CancelRecovery(plan, request, member, mdDir, newPath, messages) is var (done, removed, closed) && done) { completed = true; break; }
                cancelled = true; newRemoved = removed; newClosed = closed;
                break;
            }
            ct.WaitHandle.WaitOne(request.PollInterval);
        }

        // 5. The old leg out of the array (md marked it faulty after copying), then its mapping closed when ours and unheld.
        bool oldClosed = false;
        if (completed && plan.OldLeg is { } gone)
        {
            if (!oldRemoved) oldRemoved = RemoveFaulty(plan, request, messages, ct);
            if (oldRemoved && ArrayLegCrypt.CryptOverIntegrity(gone) is { } oldCrypt)
                oldClosed = CloseLegCrypt(oldCrypt, messages) && CloseIfOurs(gone.Integrity!.Name, messages);
            else if (oldRemoved && gone.MapperName is { } oldName) oldClosed = CloseIfOurs(oldName, messages);
        }

        var after = MdArrays.Read(plan.Array.Device);
        var newAfter = after.Legs.FirstOrDefault(l => l.MapperName == member);
        if (cancelled)
            messages.Insert(0, newRemoved
                ? $"Cancelled: md's recovery onto {newPath} was stopped and {newPath} removed from the array{(newClosed ? " and closed" : "")}; " +
                  (plan.Mode == ArrayLegReplaceMode.Replace
                      ? $"{plan.OldLeg!.Path} stays active, the array keeps its redundancy (degraded {after.Degraded})."
                      : $"the array stays degraded ({after.Degraded} missing), as before the replace; run it again to rebuild.") +
                  $" {request.NewDevice} holds a partial copy: formatting it again needs --force / -Force."
                : $"Cancelled, but {newPath} could not be taken out of the array: {(after.SyncRunning ? $"md's {after.SyncAction} continues in the kernel (watch {mdDir}/sync_completed)" : $"it is {string.Join(',', newAfter?.State ?? ["gone"])}")}.");
        return new ArrayLegReplaceResult
        {
            Device = plan.Array.Device,
            Path = plan.Array.Path,
            Name = plan.Array.Name,
            Level = plan.Array.Level,
            OldLeg = plan.OldLeg?.Path ?? request.Leg,
            OldLegDevice = plan.OldLeg?.Device,
            OldLegStateBefore = plan.OldLeg?.State ?? new[] { "missing" },
            NewLeg = newPath,
            NewLegName = request.NewName,
            NewLegCrypt = newCrypt,
            NewLegDevice = newAfter?.Device,
            NewBackingDevice = request.NewDevice,
            NewLegDataDevice = opened.DataDevice,
            Mode = plan.Mode,
            RecoveryCompleted = completed,
            RecoveryRunning = !completed && newAfter is { Faulty: false } && after.SyncRunning,
            Cancelled = cancelled,
            NewLegRemoved = newRemoved,
            NewLegClosed = newClosed,
            OldLegRemoved = oldRemoved,
            OldLegClosed = oldClosed,
            NewLegState = newAfter?.State ?? new[] { "removed" },
            NewLegSlot = newAfter?.Slot,
            DegradedBefore = plan.Array.Degraded,
            DegradedAfter = after.Degraded,
            ArrayStateAfter = after.ArrayState,
            SyncActionAfter = after.SyncAction,
            Messages = messages,
            Elapsed = clock.Elapsed,
        };
    }

    /// <param name="LegCrypt">RAID over per-leg LUKS: every layered leg is a dm-crypt mapping over its integrity mapping; the new one gets that layer too.</param>
    private sealed record ReplacePlan(MdArrayInfo Array, MdLegInfo? OldLeg, ArrayLegReplaceMode Mode, IntegrityMappingInfo Source,
        TagAlgorithm Algorithm, ulong RequiredSectors, bool LegCrypt);

    /// <summary>Every check that writes nothing: the array can take a new leg, which leg goes, and the format to copy.</summary>
    private static ReplacePlan Plan(ArrayLegReplaceRequest request, CancellationToken ct)
    {
        string kname = MdSysfs.ResolveKernelName(request.Array);
        var array = MdArrays.Read(kname);
        string md = System.IO.Path.Combine(MdSysfs.BlockRoot, kname, "md");
        if (array.SyncAction is null || array.Level is "raid0" or "linear" || array.Level.Length == 0)
            throw Refused(request.Array, $"{array.Path} ({(array.Level.Length == 0 ? "no level" : array.Level)}) has no redundancy to rebuild a leg from.");
        if (array.ArrayState is "inactive" or "clear" or "readonly" or "broken" or "suspended")
            throw Refused(request.Array, $"{array.Path} is not running read-write (array_state {array.ArrayState}).");
        if (array.SyncRunning)
            throw new IntegrityVolumeException(ErrorIds.ArrayBusy, ErrorKind.ResourceBusy,
                $"{array.Path}: md is busy ({array.SyncAction}); a leg is replaced only when sync_action is idle.", request.Array);
        if (array.Legs.FirstOrDefault(l => l.State.Contains("want_replacement") || l.State.Contains("replacement")) is { } pending)
            throw new IntegrityVolumeException(ErrorIds.ArrayBusy, ErrorKind.ResourceBusy,
                $"{array.Path}: a replacement is already pending ({pending.Path}: {string.Join(',', pending.State)}).", request.Array);
        if (array.Legs.FirstOrDefault(l => l.MapperName == request.NewName) is { } taken)
            throw new IntegrityVolumeException(ErrorIds.MapperNameTaken, ErrorKind.ResourceExists,
                $"{taken.Path} is already a member of {array.Path}.", request.NewName);

        ulong degraded = array.Degraded ?? 0;
        ulong tolerated = Tolerated(array);
        if (degraded > tolerated)
            throw Refused(request.Array, $"{array.Path} ({array.Level}) has lost {degraded} legs, more than it tolerates ({tolerated}): nothing left to rebuild a leg from.");

        var old = FindLeg(array, request.Leg);
        ArrayLegReplaceMode mode;
        if (old is null)
        {
            // Gone from the array already: only a degraded array has its slot free.
            if (degraded == 0)
                throw new IntegrityVolumeException(ErrorIds.LegNotInArray, ErrorKind.NotFound,
                    $"{request.Leg} is not a member of {array.Path} and the array is not degraded (members: {string.Join(", ", array.Legs.Select(l => l.Path))}).", request.Leg);
            mode = ArrayLegReplaceMode.Add;
        }
        else if (old.Faulty) mode = ArrayLegReplaceMode.Add;
        else if (old.Slot is null || !old.InSync)
            throw new IntegrityVolumeException(ErrorIds.LegNotInArray, ErrorKind.InvalidArgument,
                $"{old.Path} is no active member of {array.Path} ({string.Join(',', old.State)}): a spare holds no data to replace.", request.Leg);
        else
        {
            // md gives a spare to a missing slot before a replacement: the new leg would not replace this one.
            if (degraded > 0)
                throw Refused(request.Array, $"{array.Path} is degraded ({degraded} missing): md would rebuild the missing leg onto the new one, not replace {old.Path}. Replace the missing leg first (--leg of the gone member).");
            mode = ArrayLegReplaceMode.Replace;
        }

        // A leg that is a crypt mapping over its integrity mapping (RAID over per-leg LUKS) needs that layer on the new leg
        // too: a bare integrity leg would put a plaintext leg into the array. Other layers are not ours to build.
        bool legCrypt = array.Legs.Any(l => l.IntegrityUnderLayer);
        if (array.Legs.FirstOrDefault(l => l.IntegrityUnderLayer && ArrayLegCrypt.CryptOverIntegrity(l) is null) is { } layered)
            throw Refused(request.Array, $"{layered.Path} is a mapping over the integrity mapping {layered.Integrity!.Name} other than a dm-crypt mapping made by cryptsetup: " +
                "format and open the new leg with that layer yourself, then use mdadm --replace.");
        if (legCrypt) CheckLegLuks(array, old, request, ct);
        else if (request.Luks is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"{array.Path}'s legs have no LUKS layer of their own: --luks-key-file / -LuksKeyFile is for arrays over per-leg LUKS.", request.Array);
        // The format to copy: the old leg's live table, else another integrity leg's (in_sync first).
        var source = old?.Integrity
            ?? array.Legs.Where(l => l.Integrity is not null && l.Device != old?.Device).OrderByDescending(l => l.InSync).FirstOrDefault()?.Integrity
            ?? (old is null ? MappingOf(request.Leg) : null)
            ?? throw new IntegrityVolumeException(ErrorIds.LegParametersUnknown, ErrorKind.InvalidArgument,
                $"{array.Path} has no dm-integrity leg to copy the format from.", request.Array);
        if (source.Algorithm is null)
            throw Unknown(request.Array, $"{source.Path} has no internal_hash (its tags come from dm-crypt above it): not a leg this command formats.");
        if (source.JournalIntegrity is not null || source.JournalCrypt is not null)
            throw Unknown(request.Array, $"{source.Path} uses a journal key ({source.JournalIntegrity ?? source.JournalCrypt}) that device-mapper does not give back: format and open the new leg yourself, then use mdadm.");
        if (source.Keyed && request.Key is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{source.Path} uses the keyed {source.Algorithm}, whose key device-mapper does not give back: give the legs' key file (--integrity-key-file / -IntegrityKeyFile).", request.Array);
        if (!source.Keyed && request.Key is not null)
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                $"{source.Path} uses {source.Algorithm ?? "no internal_hash"}, which takes no key.", request.Array);
        if (source.MetadataDevice is not null)
            throw Unknown(request.Array, $"{source.Path} keeps its metadata on a separate device: format and open the new leg yourself, then use mdadm.");
        TagAlgorithm algorithm;
        try { algorithm = TagAlgorithm.Parse(TagAlgorithm.IntegritysetupSpelling(source.Algorithm)); }
        catch (IntegrityVolumeException e) { throw Unknown(request.Array, $"{source.Path}: tag algorithm {source.Algorithm} is not one ivol formats ({e.Message})."); }
        if (source.Keyed) ProveKey(source, algorithm, request.Key!, ct);

        // md needs data_offset + component_size on the new member (component_size is in KiB).
        ulong component = (MdSysfs.ParseNumber(MdSysfs.Read(md, "component_size")) ?? 0) * 2;
        ulong offset = array.Legs.Where(l => !l.Faulty && l.DataOffset is not null).Select(l => l.DataOffset!.Value).DefaultIfEmpty(0UL).Max();
        // Over per-leg LUKS the new member is the crypt mapping: its LUKS2 header (16 MiB) comes off the integrity leg first.
        ulong required = component + offset + (legCrypt ? LegLuksPayloadSectors(array) : 0);
        return new ReplacePlan(array, old, mode, source, algorithm, required, legCrypt);
    }

    /// <summary>
    /// Per-leg LUKS: the key file given (KeyRequired otherwise), its options valid, the new crypt mapping's name free, and the
    /// key opening an active leg's LUKS header (cryptsetup open --test-passphrase; KeyMismatch otherwise): a new leg with
    /// another key would not open at boot with the others' crypttab key.
    /// </summary>
    private static void CheckLegLuks(MdArrayInfo array, MdLegInfo? old, ArrayLegReplaceRequest request, CancellationToken ct)
    {
        if (request.Luks is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{array.Path} is RAID over per-leg LUKS: the new leg needs its own LUKS layer, made with the legs' key file (--luks-key-file / -LuksKeyFile).", request.Array);
        ArrayCrypt.CheckOptions(request.Luks with { Name = ArrayLegCrypt.MapperName(request.NewName), CrypttabPath = null }, array.Name ?? array.Device, [request.NewName]);
        ArrayLegCrypt.CheckSystem(array.Path, [request.NewName]);
        var witness = array.Legs.Where(l => l.InSync && !l.Faulty && l.Device != old?.Device && l.Integrity is not null).Select(l => l.Integrity!.Path).FirstOrDefault()
            ?? throw Refused(request.Array, $"{array.Path} has no active leg whose LUKS header could prove the key.");
        if (!ArrayCrypt.KeyOpens(witness, request.Luks.KeyFilePath, ct))
            throw new IntegrityVolumeException(ErrorIds.KeyMismatch, ErrorKind.InvalidArgument,
                $"{request.Luks.KeyFilePath} opens no key slot of {witness}'s LUKS header: not the legs' key.", request.Luks.KeyFilePath);
    }

    /// <summary>Sectors before the crypt payload on an active leg (cryptsetup's table offset): what the new leg's header takes.</summary>
    private static ulong LegLuksPayloadSectors(MdArrayInfo array) =>
        array.Legs.Where(l => l.IntegrityUnderLayer && !l.Faulty && l.Integrity is not null && l.MapperName is not null)
            .Select(l => CryptLayers.PayloadOffset(l.MapperName!)).FirstOrDefault(o => o is not null) ?? (ulong)(ArrayCrypt.Luks2HeaderBytes / 512);

    /// <summary>
    /// A new leg formatted with another key would hold tags no integritytab line of the array opens: the key is proven on
    /// the source leg's own tags first (AlgorithmProof, read-only from its data device while it is active).
    /// </summary>
    private static void ProveKey(IntegrityMappingInfo source, TagAlgorithm algorithm, IntegrityKey key, CancellationToken ct)
    {
        string device = source.DataDevice ?? throw Unknown(source.Name, $"{source.Path}: no data device in its table.");
        using var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = device, ReservedSectors = source.Offset }, write: false, ct);
        var (outcome, error) = AlgorithmProof.Check(v, source.Path, algorithm, key, 0, null, forceOverrides: false);
        if (outcome == AlgorithmProof.Outcome.Refuted) throw error!;
        if (outcome == AlgorithmProof.Outcome.NoEvidence)
            throw new IntegrityVolumeException(ErrorIds.KeyMismatch, ErrorKind.InvalidArgument,
                $"{source.Path}: no sampled block of {device} can prove the key (discarded or recalculating): a new leg with a wrong key would fail every read.", source.Path);
    }

    private static MdLegInfo? FindLeg(MdArrayInfo array, string spec)
    {
        string s = spec.Trim();
        string name = s.StartsWith(DeviceNodes.MapperDirectory + "/", StringComparison.Ordinal) ? s[(DeviceNodes.MapperDirectory.Length + 1)..]
            : s.StartsWith("/dev/", StringComparison.Ordinal) ? s[5..] : s;
        // Over per-leg LUKS the leg may be named by its integrity mapping under the crypt member.
        return array.Legs.FirstOrDefault(l => l.MapperName == name || l.Device == name || l.Path == s)
            ?? array.Legs.FirstOrDefault(l => l.IntegrityUnderLayer && l.Integrity!.Name == name);
    }

    // A leg no longer in the array but still open: its table says how it was formatted.
    private static IntegrityMappingInfo? MappingOf(string spec)
    {
        string name = spec.Trim();
        if (name.StartsWith(DeviceNodes.MapperDirectory + "/", StringComparison.Ordinal)) name = name[(DeviceNodes.MapperDirectory.Length + 1)..];
        if (name.Contains('/') || name.StartsWith("dm-", StringComparison.Ordinal)) return null;
        try { return IntegrityMappings.Status(name); }
        catch (IntegrityVolumeException) { return null; }
    }

    /// <summary>Legs md can lose and still serve every block (raid10 and others: its own degraded check decides).</summary>
    private static ulong Tolerated(MdArrayInfo a) => a.Level switch
    {
        "raid1" => (a.RaidDisks ?? 1) - 1,
        "raid4" or "raid5" => 1,
        "raid6" => 2,
        _ => ulong.MaxValue,
    };

    /// <summary>
    /// Ctrl+C during the recovery: "frozen" in sync_action stops md's sync thread (md.c action_store reaps it before the
    /// write returns) and keeps md from starting it again; if md had finished by then the replace is complete (Done).
    /// Otherwise the new leg is failed (a leg that is not in_sync or a replacement holds no data the array needs),
    /// removed and its mapping closed; with --replace, the old leg's want_replacement is cleared so md does not copy it
    /// onto the next spare by itself. "idle" then lets md run as before. Best effort: what could not be undone is a message.
    /// </summary>
    private static (bool Done, bool Removed, bool Closed) CancelRecovery(ReplacePlan plan, ArrayLegReplaceRequest request, string member, string mdDir, string newPath, List<string> messages)
    {
        // Best effort: a write md refuses becomes a message (its path, the value and md's words), not an error.
        bool Write(string dir, string attribute, string value)
        {
            try { MdSysfs.Write(dir, attribute, value, request.Array); return true; }
            catch (IntegrityVolumeException e)
            {
                messages.Add(e.Message);
                return false;
            }
        }
        MdLegInfo? Fresh(MdArrayInfo a) => a.Legs.FirstOrDefault(l => l.MapperName == member);
        var limit = Stopwatch.StartNew();

        Write(mdDir, "sync_action", "frozen");
        var now = MdArrays.Read(plan.Array.Device);
        var fresh = Fresh(now);
        var oldNow = plan.OldLeg is null ? null : now.Legs.FirstOrDefault(l => l.Device == plan.OldLeg.Device);
        if (fresh is { InSync: true } && (plan.Mode == ArrayLegReplaceMode.Add || oldNow is null || oldNow.Faulty))
        {
            Write(mdDir, "sync_action", "idle");
            return (true, false, false);
        }

        bool removed = fresh is null;
        if (!removed)
        {
            try
            {
                if (!fresh!.Faulty) Mdadm(plan.Array.Path, "--fail", newPath);
                // md frees the slot of a failed leg once no I/O is pending on it; --remove is refused (EBUSY) until then.
                while (!removed)
                {
                    try { Mdadm(plan.Array.Path, "--remove", newPath); removed = true; }
                    catch (IntegrityVolumeException) when (limit.Elapsed < request.StartLimit) { Thread.Sleep(request.PollInterval); }
                }
            }
            catch (IntegrityVolumeException e) { messages.Add($"{newPath} could not be taken out of {plan.Array.Path}: {e.Message}"); }
        }
        if (removed && plan.Mode == ArrayLegReplaceMode.Replace && plan.OldLeg is { } old)
            Write(System.IO.Path.Combine(mdDir, "dev-" + old.Device), "state", "-want_replacement");
        Write(mdDir, "sync_action", "idle");
        if (!removed) return (false, false, false);

        // Over per-leg LUKS the new crypt mapping goes first (md released it with the removal).
        if (member != request.NewName && !CloseLegCrypt(member, messages)) return (false, true, false);
        // The mapping: md's last reference goes with the removal; wait for its open count to drop before closing.
        while (true)
        {
            try { IntegrityMappings.Close(request.NewName); return (false, true, true); }
            catch (IntegrityVolumeException e)
            {
                if (limit.Elapsed >= request.StartLimit || e.ErrorId == ErrorIds.MapperDeviceNotFound)
                {
                    messages.Add($"{newPath} was left open: {e.Message}");
                    return (false, true, e.ErrorId == ErrorIds.MapperDeviceNotFound);
                }
                Thread.Sleep(request.PollInterval);
            }
        }
    }

    /// <summary>After --replace md marks the old leg faulty and frees its slot; then it can be removed.</summary>
    private static bool RemoveFaulty(ReplacePlan plan, ArrayLegReplaceRequest request, List<string> messages, CancellationToken ct)
    {
        var old = plan.OldLeg!;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var leg = MdArrays.Read(plan.Array.Device).Legs.FirstOrDefault(l => l.Device == old.Device);
            if (leg is null) return true;   // md let it go already
            if (leg.Slot is null) break;
            if (ct.IsCancellationRequested || clock.Elapsed > request.StartLimit)
            {
                messages.Add($"{old.Path} is still in slot {leg.Slot} ({string.Join(',', leg.State)}): not removed; remove it later with mdadm {plan.Array.Path} --remove {old.Path}.");
                return false;
            }
            ct.WaitHandle.WaitOne(request.PollInterval);
        }
        try
        {
            Mdadm(plan.Array.Path, "--remove", old.Path);
            return true;
        }
        catch (IntegrityVolumeException e)
        {
            messages.Add($"{old.Path} stays in the array as a faulty member: {e.Message}");
            return false;
        }
    }

    /// <summary>cryptsetup close of a leg's crypt mapping md no longer holds; a failure is a message.</summary>
    private static bool CloseLegCrypt(string name, List<string> messages)
    {
        try { ArrayCrypt.Close(name, CancellationToken.None); return true; }
        catch (IntegrityVolumeException e)
        {
            messages.Add($"{DeviceNodes.MapperPath(name)} was left open: {e.Message}");
            return false;
        }
    }

    private static bool CloseIfOurs(string name, List<string> messages)
    {
        IntegrityMappingInfo? m;
        try { m = IntegrityMappings.Status(name); }
        catch (IntegrityVolumeException) { return false; }
        if (m is null) return false;
        if (m.Type != "INTEGRITY")
        {
            messages.Add($"{m.Path} was left open: it was not opened by ivol or integritysetup (uuid {m.Uuid ?? "none"}).");
            return false;
        }
        if (m.OpenCount > 0 || (DeviceNumber.TryParse(m.DeviceNumber, out var dev) && DeviceNodes.Holders(dev).Count > 0))
        {
            messages.Add($"{m.Path} was left open: it is still held (open count {m.OpenCount}).");
            return false;
        }
        try { IntegrityMappings.Close(name); return true; }
        catch (IntegrityVolumeException e)
        {
            messages.Add($"{m.Path} was left open: {e.Message}");
            return false;
        }
    }

    private static void Mdadm(string md, params string[] args) => MdadmTool.Run(new[] { md }.Concat(args), md, CancellationToken.None);

    private static IntegrityVolumeException Refused(string array, string message) =>
        new(ErrorIds.ArrayReplaceRefused, ErrorKind.InvalidArgument, message, array);

    private static IntegrityVolumeException Unknown(string array, string message) =>
        new(ErrorIds.LegParametersUnknown, ErrorKind.InvalidArgument, message, array);
}
