using System.Buffers.Binary;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// An empty journal exactly as the kernel's init_journal writes it at format: payloads zeroed, every sector
/// stamped with commit_id(section, sector, seq 0), every entry unused (sector_hi = 0xFFFFFFFF), and with a
/// journal_mac the section MAC spread over the 8 metadata sectors (section_mac / rw_section_mac).
/// </summary>
internal static class JournalWriter
{
    public static byte[] EmptySection(Geometry g, uint section, Superblock sb, TagHasher? journalMac)
    {
        var buf = new byte[g.JournalSectionSectors * 512];
        for (uint j = 0; j < g.JournalSectionSectors; j++)
            BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan((int)j * 512 + 504), JournalInspector.CommitId(section, j, 0));
        for (int n = 0; n < g.JournalSectionEntries; n++)
        {
            int at = (n % Geometry.JournalBlockSectors) * 512 + (n / Geometry.JournalBlockSectors) * g.JournalEntrySize;
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(at + 4), 0xFFFFFFFFu);
        }
        if (journalMac is not null)
        {
            var mac = SectionMac(buf, g, section, sb, journalMac);
            for (int j = 0; j < Geometry.JournalBlockSectors; j++)
                mac.AsSpan(j * 8, 8).CopyTo(buf.AsSpan(j * 512 + 496));
        }
        return buf;
    }

    /// <summary>journal_mac over [salt ‖ LE64(section)] (FIXED_HMAC only) ‖ the 8-byte sector field of every entry; 64 bytes.</summary>
    private static byte[] SectionMac(byte[] section, Geometry g, uint sectionIndex, Superblock sb, TagHasher mac)
    {
        var message = new List<byte>();
        byte[] prefix = Array.Empty<byte>();
        if (sb.HasFlag(SuperblockFlags.FixedHmac))
        {
            prefix = new byte[24];
            sb.Salt.CopyTo(prefix, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(prefix.AsSpan(16), sectionIndex);
        }
        var sectors = new byte[g.JournalSectionEntries * 8];
        for (int n = 0; n < g.JournalSectionEntries; n++)
        {
            int at = (n % Geometry.JournalBlockSectors) * 512 + (n / Geometry.JournalBlockSectors) * g.JournalEntrySize;
            section.AsSpan(at, 8).CopyTo(sectors.AsSpan(n * 8));
        }
        var digest = new byte[Math.Max(64, mac.DigestSize)];
        mac.Hash(prefix, sectors, digest);
        var result = new byte[64];
        digest.AsSpan(0, Math.Min(64, mac.DigestSize)).CopyTo(result);
        return result;
    }

    /// <summary>sb_mac: journal_mac over sb[0 .. 512 - mac_size) stored at 512 - mac_size (FIXED_HMAC with journal_mac).</summary>
    public static void SignSuperblock(byte[] area, TagHasher mac)
    {
        int size = mac.DigestSize;
        var digest = new byte[size];
        mac.Hash(ReadOnlySpan<byte>.Empty, area.AsSpan(0, 512 - size), digest);
        digest.CopyTo(area, 512 - size);
    }
}
