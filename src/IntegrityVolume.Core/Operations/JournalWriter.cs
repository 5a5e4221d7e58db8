using System.Buffers.Binary;
using IntegrityVolume.Core.Devices;
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
    private const int BytesPerWrite = 1 << 20;

    /// <summary>The whole empty journal (format, commit seq 0).</summary>
    public static void WriteEmpty(BlockDevice meta, Geometry g, Superblock sb, TagHasher? journalMac, CancellationToken ct) =>
        WriteUnused(meta, g, sb, journalMac, 0, g.JournalSections, 0, ct);

    /// <summary>
    /// Sections [start, start + count) (wrapping at journal_sections) all-unused with commit seq <paramref name="seq"/>,
    /// as init_journal writes them; built in one reused buffer and written a few sections at a time.
    /// </summary>
    public static void WriteUnused(BlockDevice meta, Geometry g, Superblock sb, TagHasher? journalMac, uint start, uint count, int seq, CancellationToken ct)
    {
        int sectionBytes = g.JournalSectionSectors * 512;
        int perWrite = (int)Math.Min(Math.Max(1, BytesPerWrite / sectionBytes), Math.Max(1u, count));
        var buffer = new byte[perWrite * sectionBytes];
        for (int k = 0; k < perWrite; k++) MarkEntriesUnused(buffer.AsSpan(k * sectionBytes, sectionBytes), g);
        for (uint done = 0; done < count;)
        {
            ct.ThrowIfCancellationRequested();
            uint first = (start + done) % g.JournalSections;
            int n = (int)Math.Min(Math.Min((uint)perWrite, count - done), g.JournalSections - first);
            for (int k = 0; k < n; k++) Stamp(buffer.AsSpan(k * sectionBytes, sectionBytes), g, first + (uint)k, seq, sb, journalMac);
            meta.Write((long)(g.JournalStartSector + first * (ulong)g.JournalSectionSectors) * 512, buffer.AsSpan(0, n * sectionBytes));
            done += (uint)n;
        }
    }

    /// <summary>Every entry unused (sector_hi = 0xFFFFFFFF); payloads stay zero.</summary>
    internal static void MarkEntriesUnused(Span<byte> section, Geometry g)
    {
        for (int n = 0; n < g.JournalSectionEntries; n++)
            BinaryPrimitives.WriteUInt32LittleEndian(section[(JournalSection.EntryOffset(g, n) + 4)..], 0xFFFFFFFFu);
    }

    /// <summary>commit_id(section, sector, seq) at offset 504 of every sector, and the section MAC when there is a journal_mac.</summary>
    internal static void Stamp(Span<byte> section, Geometry g, uint index, int seq, Superblock sb, TagHasher? journalMac)
    {
        for (uint j = 0; j < g.JournalSectionSectors; j++)
            BinaryPrimitives.WriteUInt64LittleEndian(section[((int)j * 512 + 504)..], JournalInspector.CommitId(index, j, seq));
        if (journalMac is null) return;
        var mac = JournalSection.Mac(section, g, index, sb, journalMac);
        for (int j = 0; j < Geometry.JournalBlockSectors; j++)
            mac.AsSpan(j * 8, 8).CopyTo(section[(j * 512 + 496)..]);
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
