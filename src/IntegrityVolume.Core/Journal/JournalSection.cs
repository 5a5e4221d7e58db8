using System.Buffers.Binary;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Journal;

/// <summary>The layout rules of one journal section that its writer (format) and its reader (verify) share.</summary>
internal static class JournalSection
{
    /// <summary>Byte offset of entry <paramref name="n"/>: entries fill the first bytes of the section's 8 metadata sectors in turn.</summary>
    public static int EntryOffset(Geometry g, int n) =>
        (n % Geometry.JournalBlockSectors) * 512 + (n / Geometry.JournalBlockSectors) * g.JournalEntrySize;

    /// <summary>journal_mac over [salt ‖ LE64(section)] (FIXED_HMAC only) ‖ the 8-byte sector field of every entry; 64 bytes.</summary>
    public static byte[] Mac(ReadOnlySpan<byte> section, Geometry g, uint sectionIndex, Superblock sb, TagHasher mac)
    {
        byte[] prefix = Array.Empty<byte>();
        if (sb.HasFlag(SuperblockFlags.FixedHmac))
        {
            prefix = new byte[24];
            sb.Salt.CopyTo(prefix, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(prefix.AsSpan(16), sectionIndex);
        }
        var sectors = new byte[g.JournalSectionEntries * 8];
        for (int n = 0; n < g.JournalSectionEntries; n++)
            section.Slice(EntryOffset(g, n), 8).CopyTo(sectors.AsSpan(n * 8));
        var digest = new byte[Math.Max(64, mac.DigestSize)];
        mac.Hash(prefix, sectors, digest);
        var result = new byte[64];
        digest.AsSpan(0, Math.Min(64, mac.DigestSize)).CopyTo(result);
        return result;
    }

}
