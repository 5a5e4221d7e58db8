using System.Buffers.Binary;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Recognises what a device already holds, so a format never silently destroys data: the magic numbers blkid
/// looks for (filesystems, LUKS, md, swap, partition tables) and our own superblock.
/// </summary>
public static class SignatureProbe
{
    internal static ReadOnlySpan<byte> LuksMagic => new byte[] { (byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE };

    /// <summary>The name of the first signature found ("ext4", "LUKS", "dm-integrity", ...), or null.</summary>
    public static string? Detect(IBlockReader device, ulong offsetSectors = 0)
    {
        long baseOffset = (long)offsetSectors * 512;
        long avail = device.Length - baseOffset;
        if (avail <= 0) return null;
        var head = new byte[(int)Math.Min(avail, 68 * 1024)];
        device.Read(baseOffset, head);
        var h = head.AsSpan();

        if (h.Length >= 8 && h[..8].SequenceEqual("integrt\0"u8)) return "dm-integrity";
        if (h.Length >= 6 && h[..6].SequenceEqual(LuksMagic)) return "LUKS";
        if (h.Length >= 4 && h[..4].SequenceEqual("XFSB"u8)) return "xfs";
        if (h.Length >= 1082 && BinaryPrimitives.ReadUInt16LittleEndian(h[1080..]) == 0xEF53) return "ext2/3/4";
        if (h.Length >= 65608 && h.Slice(65600, 8).SequenceEqual("_BHRfS_M"u8)) return "btrfs";
        if (h.Length >= 4100 && BinaryPrimitives.ReadUInt32LittleEndian(h[4096..]) == 0xA92B4EFC) return "linux_raid_member (md 1.2)";
        if (h.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(h) == 0xA92B4EFC) return "linux_raid_member (md 1.1)";
        if (h.Length >= 4096 && (h.Slice(4086, 10).SequenceEqual("SWAPSPACE2"u8) || h.Slice(4086, 10).SequenceEqual("SWAP-SPACE"u8))) return "swap";
        if (h.Length >= 520 && h.Slice(512, 8).SequenceEqual("EFI PART"u8)) return "gpt partition table";
        if (h.Length >= 512 && h[510] == 0x55 && h[511] == 0xAA && HasMbrPartition(h)) return "dos partition table";
        if (h.Length >= 32768 + 6 && h.Slice(32769, 5).SequenceEqual("CD001"u8)) return "iso9660";
        // md 0.90 / 1.0 keep their superblock near the end of the device.
        if (avail >= 128 * 1024)
        {
            var tail = new byte[8192];
            long md090 = ((avail & ~65535L) - 65536) + baseOffset;
            device.Read(md090, tail.AsSpan(0, 4));
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail) == 0xA92B4EFC) return "linux_raid_member (md 0.90)";
            long md10 = ((avail - 8192) & ~4095L) + baseOffset;
            device.Read(md10, tail.AsSpan(0, 4));
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail) == 0xA92B4EFC) return "linux_raid_member (md 1.0)";
        }
        return null;
    }

    private static bool HasMbrPartition(ReadOnlySpan<byte> h)
    {
        for (int p = 0; p < 4; p++)
        {
            var e = h.Slice(446 + p * 16, 16);
            if (e[4] != 0 && BinaryPrimitives.ReadUInt32LittleEndian(e[12..]) != 0) return true;
        }
        return false;
    }
}
