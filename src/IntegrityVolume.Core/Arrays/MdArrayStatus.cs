using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Arrays;

/// <summary>An md array as /sys/block/mdX/md shows it, with its legs; each leg that is a dm-integrity mapping carries its status.</summary>
public sealed record MdArrayInfo
{
    /// <summary>Kernel name (md127).</summary>
    public required string Device { get; init; }
    /// <summary>/dev/mdN.</summary>
    public required string Path { get; init; }
    /// <summary>mdadm's name (/dev/md/NAME link), null when there is no link.</summary>
    public string? Name { get; init; }
    /// <summary>raid1, raid5, ... (empty while the array is being assembled).</summary>
    public required string Level { get; init; }
    /// <summary>clear, inactive, readonly, read-auto, clean, active, write-pending, active-idle, broken.</summary>
    public required string ArrayState { get; init; }
    /// <summary>idle, frozen, resync, recover, check, repair, reshape; null for levels without redundancy (raid0, linear).</summary>
    public string? SyncAction { get; init; }
    /// <summary>What md did last (check, repair, resync, ...), null when the kernel has no such attribute.</summary>
    public string? LastSyncAction { get; init; }
    /// <summary>sync_completed, in sectors.</summary>
    public required MdSyncCompleted SyncCompleted { get; init; }
    /// <summary>Where the next check starts (md sets it where a stopped check ended).</summary>
    public ulong? SyncMin { get; init; }
    public ulong? Degraded { get; init; }
    /// <summary>Sectors the last check/repair found different between legs (or rewrote).</summary>
    public ulong? MismatchCount { get; init; }
    public ulong? RaidDisks { get; init; }
    /// <summary>Bytes (0 for raid1).</summary>
    public ulong? ChunkSize { get; init; }
    /// <summary>Corrected read errors a leg may have before md fails it.</summary>
    public ulong? MaxReadErrors { get; init; }
    /// <summary>Array size in 512-byte sectors (/sys/block/mdX/size).</summary>
    public ulong SizeSectors { get; init; }
    public required IReadOnlyList<MdLegInfo> Legs { get; init; }
    /// <summary>The dm-crypt mapping directly on top of the array (LUKS over RAID; holders/ in sysfs); null when there is none.</summary>
    public string? CryptName { get; init; }
    /// <summary>True when a sync, recovery, check or reshape runs (sync_action neither idle nor absent).</summary>
    public bool SyncRunning => SyncAction is not null && SyncAction != "idle";
}

/// <summary>One member of an md array (dev-*/ in sysfs) and, when it is a dm-integrity mapping, that mapping's status.</summary>
public sealed record MdLegInfo
{
    /// <summary>Kernel name (dm-3, loop0, sdb1).</summary>
    public required string Device { get; init; }
    /// <summary>/dev/mapper/NAME for a device-mapper leg, else /dev/KNAME.</summary>
    public required string Path { get; init; }
    public string? DeviceNumber { get; init; }
    /// <summary>Device-mapper name (/sys/block/dm-N/dm/name), null for other devices.</summary>
    public string? MapperName { get; init; }
    /// <summary>The state flags (in_sync, faulty, write_mostly, blocked, spare, write_error, want_replacement, replacement, ...).</summary>
    public required IReadOnlyList<string> State { get; init; }
    /// <summary>Corrected read errors md counts for the leg.</summary>
    public ulong? Errors { get; init; }
    /// <summary>Role in the array, null for a spare or failed leg.</summary>
    public int? Slot { get; init; }
    /// <summary>Where the array's data starts on the leg (sectors).</summary>
    public ulong? DataOffset { get; init; }
    /// <summary>The leg's dm-integrity mapping, itself or under its crypt/linear mapping (per-leg LUKS); null when it has none.</summary>
    public IntegrityMappingInfo? Integrity { get; init; }
    /// <summary>md's bad-block log of the leg (dev-*/bad_blocks), in leg sectors: pages md could not rebuild from the other legs (data lost there). Empty when none.</summary>
    public IReadOnlyList<SectorRange> BadBlocks { get; init; } = [];
    /// <summary>The integrity mapping sits under another mapping of the leg (RAID over per-leg LUKS): the leg itself is not ours to close or copy.</summary>
    public bool IntegrityUnderLayer => Integrity is not null && Integrity.Name != MapperName;
    /// <summary>dm-integrity's mismatch counter (blocks whose tag failed since the mapping was opened); null when not an integrity leg.</summary>
    public ulong? IntegrityMismatches => Integrity?.Failures;
    public bool Faulty => State.Contains("faulty");
    public bool InSync => State.Contains("in_sync");
}

/// <summary>Reads md arrays from sysfs and their integrity legs from device-mapper.</summary>
public static class MdArrays
{
    /// <summary>The array given as /dev/mdN, /dev/md/NAME or mdN.</summary>
    public static MdArrayInfo Get(string array) => Read(MdSysfs.ResolveKernelName(array));

    /// <summary>Every md array with at least one dm-integrity leg.</summary>
    public static IReadOnlyList<MdArrayInfo> ListWithIntegrityLegs() =>
        MdSysfs.ListKernelNames().Select(Read).Where(a => a.Legs.Any(l => l.Integrity is not null)).ToList();

    /// <summary>The array of kernel name <paramref name="kernelName"/> (md127).</summary>
    public static MdArrayInfo Read(string kernelName)
    {
        string block = System.IO.Path.Combine(MdSysfs.BlockRoot, kernelName);
        string md = System.IO.Path.Combine(block, "md");
        if (!Directory.Exists(md))
            throw new IntegrityVolumeException(ErrorIds.ArrayNotFound, ErrorKind.NotFound, $"{kernelName}: the md array is gone.", kernelName);
        var legs = new List<MdLegInfo>();
        foreach (var dir in Directory.EnumerateDirectories(md, "dev-*").OrderBy(d => d, StringComparer.Ordinal))
            if (ReadLeg(dir) is { } leg) legs.Add(leg);
        return new MdArrayInfo
        {
            Device = kernelName,
            Path = "/dev/" + kernelName,
            Name = MdSysfs.ArrayNameOf(kernelName),
            Level = MdSysfs.Read(md, "level") ?? "",
            ArrayState = MdSysfs.Read(md, "array_state") ?? "",
            SyncAction = MdSysfs.Read(md, "sync_action"),
            LastSyncAction = MdSysfs.Read(md, "last_sync_action"),
            SyncCompleted = MdSysfs.ParseSyncCompleted(MdSysfs.Read(md, "sync_completed")),
            SyncMin = MdSysfs.ParseNumber(MdSysfs.Read(md, "sync_min")),
            Degraded = MdSysfs.ParseNumber(MdSysfs.Read(md, "degraded")),
            MismatchCount = MdSysfs.ParseNumber(MdSysfs.Read(md, "mismatch_cnt")),
            RaidDisks = MdSysfs.ParseNumber(MdSysfs.Read(md, "raid_disks")),
            ChunkSize = MdSysfs.ParseNumber(MdSysfs.Read(md, "chunk_size")),
            MaxReadErrors = MdSysfs.ParseNumber(MdSysfs.Read(md, "max_read_errors")),
            SizeSectors = MdSysfs.ParseNumber(MdSysfs.Read(block, "size")) ?? 0,
            Legs = legs,
            CryptName = DeviceNodes.Holders(kernelName).Where(ArrayCrypt.IsCryptMapping).Select(DeviceNodes.MapperNameOf).FirstOrDefault(n => n is not null),
        };
    }

    private static MdLegInfo? ReadLeg(string dir)
    {
        string? kname = MdSysfs.LegKernelName(System.IO.Path.GetFileName(dir));
        if (kname is null) return null;
        string cls = System.IO.Path.Combine("/sys/class/block", kname);
        string? mapper = MdSysfs.Read(System.IO.Path.Combine(cls, "dm"), "name");
        return new MdLegInfo
        {
            Device = kname,
            Path = mapper is not null ? DeviceNodes.MapperPath(mapper) : "/dev/" + kname,
            DeviceNumber = MdSysfs.Read(cls, "dev"),
            MapperName = mapper,
            State = MdSysfs.ParseLegState(MdSysfs.Read(dir, "state")),
            Errors = MdSysfs.ParseNumber(MdSysfs.Read(dir, "errors")),
            Slot = MdSysfs.ParseSlot(MdSysfs.Read(dir, "slot")),
            DataOffset = MdSysfs.ParseNumber(MdSysfs.Read(dir, "offset")),
            Integrity = mapper is null ? null : IntegrityUnder(kname, mapper),
            BadBlocks = MdSysfs.ParseBadBlocks(MdSysfs.Read(dir, "bad_blocks")),
        };
    }

    /// <summary>
    /// The leg's dm-integrity mapping: the leg itself, or the one under a chain of single-device mappings (RAID over
    /// per-leg LUKS: md → crypt → integrity); null when there is none or it was removed meanwhile.
    /// </summary>
    private static IntegrityMappingInfo? IntegrityUnder(string kernelName, string mapper)
    {
        for (int depth = 0; depth < 8; depth++)
        {
            try { return IntegrityMappings.Status(mapper); }
            catch (IntegrityVolumeException e) when (e.ErrorId is ErrorIds.NotAnIntegrityDevice or ErrorIds.InvalidMapperName) { }
            if (DeviceNodes.Slaves(kernelName) is not [var below] || DeviceNodes.MapperNameOf(below) is not { } belowMapper) return null;
            (kernelName, mapper) = (below, belowMapper);
        }
        return null;
    }
}
