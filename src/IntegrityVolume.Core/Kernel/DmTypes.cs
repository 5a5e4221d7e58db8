namespace IntegrityVolume.Core.Kernel;

/// <summary>Stable error ids of the kernel layer (device-mapper, loop devices, device nodes). Never rename one.</summary>
public static class KernelErrorIds
{
    /// <summary>No device-mapper: /dev/mapper/control missing or not a device-mapper node, dm-mod not loaded.</summary>
    public const string DeviceMapperUnavailable = "DeviceMapperUnavailable";
    /// <summary>The caller lacks CAP_SYS_ADMIN (not root).</summary>
    public const string NotRoot = "NotRoot";
    /// <summary>A device-mapper device of that name (or uuid) exists already.</summary>
    public const string MapperNameTaken = "MapperNameTaken";
    /// <summary>No device-mapper device of that name.</summary>
    public const string MapperDeviceNotFound = "MapperDeviceNotFound";
    /// <summary>The name is not usable for a device-mapper device (empty, too long, contains '/').</summary>
    public const string InvalidMapperName = "InvalidMapperName";
    /// <summary>The device is open (mounted, used by a program or another mapping).</summary>
    public const string DeviceBusy = "DeviceBusy";
    /// <summary>The kernel refused the table (its constructor failed); the message carries errno and the kernel's reason.</summary>
    public const string TableLoadRejected = "TableLoadRejected";
    /// <summary>Any other failing device-mapper ioctl; the message carries the command and errno.</summary>
    public const string DeviceMapperIoctlFailed = "DeviceMapperIoctlFailed";
    /// <summary>The kernel has no dm-integrity target (module missing).</summary>
    public const string IntegrityTargetUnavailable = "IntegrityTargetUnavailable";
    /// <summary>No free loop device, or loop-control missing.</summary>
    public const string LoopDeviceUnavailable = "LoopDeviceUnavailable";
    /// <summary>Attaching or detaching a loop device failed.</summary>
    public const string LoopDeviceFailed = "LoopDeviceFailed";
    /// <summary>The /dev/mapper node could not be created.</summary>
    public const string DeviceNodeFailed = "DeviceNodeFailed";
    /// <summary>The device is not an active dm-integrity mapping (other target type).</summary>
    public const string NotAnIntegrityDevice = "NotAnIntegrityDevice";
}

/// <summary>The device-mapper driver's interface version (4.x.y).</summary>
public readonly record struct DmVersion(uint Major, uint Minor, uint Patch) : IComparable<DmVersion>
{
    public override string ToString() => $"{Major}.{Minor}.{Patch}";
    public int CompareTo(DmVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major) : Minor != other.Minor ? Minor.CompareTo(other.Minor) : Patch.CompareTo(other.Patch);
    public static bool operator >=(DmVersion a, DmVersion b) => a.CompareTo(b) >= 0;
    public static bool operator <=(DmVersion a, DmVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >(DmVersion a, DmVersion b) => a.CompareTo(b) > 0;
    public static bool operator <(DmVersion a, DmVersion b) => a.CompareTo(b) < 0;
}

/// <summary>A target type the kernel has loaded (dmsetup targets).</summary>
public sealed record DmTargetVersion(string Name, DmVersion Version);

/// <summary>One device-mapper device (dmsetup info).</summary>
public sealed record DmDeviceInfo
{
    public required string Name { get; init; }
    public string? Uuid { get; init; }
    public required DeviceNumber Device { get; init; }
    public int OpenCount { get; init; }
    public uint TargetCount { get; init; }
    public uint EventNumber { get; init; }
    public bool Suspended { get; init; }
    public bool ReadOnly { get; init; }
    public bool LiveTablePresent { get; init; }
    public bool InactiveTablePresent { get; init; }
    /// <summary>The kernel generated a uevent for this operation (udev will act on it).</summary>
    internal bool UeventGenerated { get; init; }
    public string NodePath => DeviceNodes.MapperPath(Name);
}

/// <summary>One line of a table or status: start and length in 512-byte sectors, target type, parameters.</summary>
public sealed record DmTarget(ulong Start, ulong Length, string TargetType, string Parameters)
{
    /// <summary>As dmsetup prints it: "start length type params".</summary>
    public override string ToString() => Parameters.Length == 0 ? $"{Start} {Length} {TargetType}" : $"{Start} {Length} {TargetType} {Parameters}";
}
