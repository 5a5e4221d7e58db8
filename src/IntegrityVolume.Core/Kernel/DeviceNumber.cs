using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>A Linux device number (major:minor), as dm tables and sysfs print it.</summary>
public readonly record struct DeviceNumber(uint Major, uint Minor)
{
    public override string ToString() => $"{Major}:{Minor}";

    /// <summary>The kernel's huge_encode_dev() form used in struct dm_ioctl's dev field.</summary>
    public ulong Encoded => ((ulong)(Minor & 0xff)) | ((ulong)Major << 8) | ((ulong)(Minor & ~0xffu) << 12);

    public static DeviceNumber Decode(ulong dev) =>
        new((uint)((dev >> 8) & 0xfff), (uint)((dev & 0xff) | ((dev >> 12) & 0xfff00)));

    public static bool TryParse(string text, out DeviceNumber value)
    {
        bool ok = NativeMethods.TryParseDeviceNumber(text, out uint major, out uint minor);
        value = ok ? new DeviceNumber(major, minor) : default;
        return ok;
    }

    /// <summary>Device number of a block device node or a "major:minor" string; null when neither.</summary>
    public static DeviceNumber? Of(string pathOrNumber)
    {
        if (TryParse(pathOrNumber, out var d)) return d;
        var st = NativeMethods.Stat(pathOrNumber);
        return st is { IsBlockDevice: true } s ? new DeviceNumber(s.RdevMajor, s.RdevMinor) : null;
    }
}
