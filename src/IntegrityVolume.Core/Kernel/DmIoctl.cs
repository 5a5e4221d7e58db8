using System.Runtime.InteropServices;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>struct dm_ioctl (include/uapi/linux/dm-ioctl.h): the header of every device-mapper ioctl buffer. 312 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DmIoctlHeader
{
    public const int NameLength = 128;   // DM_NAME_LEN
    public const int UuidLength = 129;   // DM_UUID_LEN
    public const int Size = 312;

    public fixed uint Version[3];
    public uint DataSize;        // total buffer size, header included
    public uint DataStart;       // payload offset from the header start
    public uint TargetCount;
    public int OpenCount;
    public uint Flags;
    public uint EventNr;         // event number, or the udev cookie on input
    public uint Padding;
    public ulong Dev;            // huge_encode_dev()
    public fixed byte Name[NameLength];
    public fixed byte Uuid[UuidLength];
    public fixed byte Data[7];   // padding up to 312; the payload starts at DataStart
}

/// <summary>struct dm_target_spec: one table line in TABLE_LOAD / TABLE_STATUS. 40 bytes, params string follows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DmTargetSpec
{
    public const int Size = 40;
    public const int TypeLength = 16;  // DM_MAX_TYPE_NAME

    public ulong SectorStart;
    public ulong Length;
    public int Status;
    /// <summary>TABLE_LOAD: bytes from this spec to the next. TABLE_STATUS output: offset of the next spec from the first.</summary>
    public uint Next;
    public fixed byte TargetType[TypeLength];
}

/// <summary>Command numbers and flags of the device-mapper ioctl interface (version 4).</summary>
internal static class Dm
{
    public const uint Magic = 0xfd;
    public const uint VersionMajor = 4;

    public const uint VERSION = 0, REMOVE_ALL = 1, LIST_DEVICES = 2, DEV_CREATE = 3, DEV_REMOVE = 4, DEV_RENAME = 5,
        DEV_SUSPEND = 6, DEV_STATUS = 7, DEV_WAIT = 8, TABLE_LOAD = 9, TABLE_CLEAR = 10, TABLE_DEPS = 11,
        TABLE_STATUS = 12, LIST_VERSIONS = 13, TARGET_MSG = 14, DEV_SET_GEOMETRY = 15, DEV_ARM_POLL = 16,
        GET_TARGET_VERSION = 17;

    public const uint READONLY_FLAG = 1 << 0, SUSPEND_FLAG = 1 << 1, PERSISTENT_DEV_FLAG = 1 << 3,
        STATUS_TABLE_FLAG = 1 << 4, ACTIVE_PRESENT_FLAG = 1 << 5, INACTIVE_PRESENT_FLAG = 1 << 6,
        BUFFER_FULL_FLAG = 1 << 8, SKIP_BDGET_FLAG = 1 << 9, SKIP_LOCKFS_FLAG = 1 << 10, NOFLUSH_FLAG = 1 << 11,
        QUERY_INACTIVE_TABLE_FLAG = 1 << 12, UEVENT_GENERATED_FLAG = 1 << 13, UUID_FLAG = 1 << 14,
        SECURE_DATA_FLAG = 1 << 15, DATA_OUT_FLAG = 1 << 16, DEFERRED_REMOVE = 1 << 17, INTERNAL_SUSPEND_FLAG = 1 << 18;

    public const uint NAME_LIST_FLAG_HAS_UUID = 1, NAME_LIST_FLAG_DOESNT_HAVE_UUID = 2;

    // udev cookie flags (libdevmapper's DM_UDEV_* values), carried in the high 16 bits of event_nr.
    public const uint UDEV_FLAGS_SHIFT = 16;
    public const uint UDEV_DISABLE_SUBSYSTEM_RULES_FLAG = 0x02, UDEV_DISABLE_DISK_RULES_FLAG = 0x04,
        UDEV_DISABLE_OTHER_RULES_FLAG = 0x08, UDEV_DISABLE_LIBRARY_FALLBACK = 0x20, UDEV_PRIMARY_SOURCE_FLAG = 0x40;

    /// <summary>_IOWR(0xfd, nr, struct dm_ioctl).</summary>
    public static nuint Command(uint nr) =>
        NativeMethods.IoctlNumber(NativeMethods.IocRead | NativeMethods.IocWrite, Magic, nr, (uint)DmIoctlHeader.Size);

    public static string CommandName(uint nr) => nr switch
    {
        VERSION => "DM_VERSION", REMOVE_ALL => "DM_REMOVE_ALL", LIST_DEVICES => "DM_LIST_DEVICES",
        DEV_CREATE => "DM_DEV_CREATE", DEV_REMOVE => "DM_DEV_REMOVE", DEV_RENAME => "DM_DEV_RENAME",
        DEV_SUSPEND => "DM_DEV_SUSPEND", DEV_STATUS => "DM_DEV_STATUS", DEV_WAIT => "DM_DEV_WAIT",
        TABLE_LOAD => "DM_TABLE_LOAD", TABLE_CLEAR => "DM_TABLE_CLEAR", TABLE_DEPS => "DM_TABLE_DEPS",
        TABLE_STATUS => "DM_TABLE_STATUS", LIST_VERSIONS => "DM_LIST_VERSIONS", TARGET_MSG => "DM_TARGET_MSG",
        GET_TARGET_VERSION => "DM_GET_TARGET_VERSION", _ => $"DM ioctl {nr}",
    };
}
