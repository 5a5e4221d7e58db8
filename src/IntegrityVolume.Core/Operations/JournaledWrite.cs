using System.Buffers.Binary;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// An offline write through the kernel's own redo journal, so that a kill after any single device write leaves every
/// block old or new with a valid tag once the journal is replayed (by the kernel on the next activation, by the next
/// ivol write, and in verify's emulation). The ring is driven exactly as the kernel's integrity_commit drives it, and
/// every step relies on replay_journal's rules (drivers/md/dm-integrity.c):
///  R1 every journal sector must carry commit_id(section, sector, seq) for some seq, and at most three of the four
///     seqs may be in use, else "journal commit id(s)" fails the device: every sector we write carries a valid id, and
///     the ring only ever holds the seqs of the current and the previous lap (three during the final re-init);
///  R2 the walk starts after the last section of the newest seq (the oldest section) and accepts sections while all
///     their sectors carry the expected seq (advanced at the wrap): a section is written with a seq that differs from
///     the one it holds on disk (the kernel's continuation seq, which is the next lap's), so a torn section never
///     passes, and the walk stops there;
///  R3 each walked entry's tag is checked against its journal data ("tag mismatch when replaying journal"): entries are
///     only ever written whole, inside sections that are only walked when whole;
///  R4 replay applies walked sections oldest first, last writer wins; it is idempotent for entries already in place.
/// Order per batch: the sections (entries, data, commit ids, MAC) are written and synced BEFORE any of their blocks
/// moves in place (a kill then replays the whole sections: the blocks of the batch become new, the others stay old),
/// then data and tags in place, synced. After the last batch the journal is re-initialised all-unused as the kernel's
/// clean suspend does (dm_integrity_postsuspend: from the ring position with the current seq, the wrapped part with the
/// next), so the kernel replays nothing and continues where it would have.
/// </summary>
internal sealed class JournaledWrite
{
    private const int MaxBatchBytes = 16 << 20;

    private readonly BlockDevice _meta;
    private readonly Geometry _g;
    private readonly Superblock _sb;
    private readonly TagHasher? _mac;
    private uint _next;   // ring position: the next section to commit
    private int _seq;     // and the seq it gets

    public int SectionsPerBatch { get; }
    public int BlocksPerBatch => SectionsPerBatch * _g.JournalSectionEntries;
    /// <summary>Test hook: the ring position, to check the kernel's continuation.</summary>
    internal (uint Section, int Seq) Position => (_next, _seq);

    private JournaledWrite(BlockDevice meta, Geometry g, Superblock sb, TagHasher? mac, uint next, int seq)
    {
        _meta = meta; _g = g; _sb = sb; _mac = mac; _next = next; _seq = seq;
        int sectionBytes = g.JournalSectionSectors * 512;
        SectionsPerBatch = (int)Math.Min(g.JournalSections, (uint)Math.Max(1, MaxBatchBytes / sectionBytes));
    }

    /// <summary>True when the volume's journal can carry a write: a journal area that is a journal (no DIRTY_BITMAP, not
    /// inline), readable commit ids (no journal_crypt), and the journal_mac key when the superblock has one.</summary>
    public static string? WhyNot(Superblock sb, Geometry g, JournalReport journal, bool haveMacKey)
    {
        if (sb.HasFlag(SuperblockFlags.Inline) || g.JournalSections == 0) return "the volume has no journal (inline mode)";
        if (journal.State is JournalState.DirtyBitmap) return "the journal area holds a dirty bitmap";
        if (journal.State is JournalState.Unreadable) return "the journal is unreadable (journal_crypt)";
        if (sb.HasFlag(SuperblockFlags.HaveJournalMac) && !haveMacKey)
            return "the journal carries a journal_mac and no journal integrity algorithm and key were given (--journal-integrity / -JournalIntegrity)";
        return null;
    }

    /// <summary>Take over the ring where the kernel would continue it (replay_journal), or clear it as the kernel would
    /// when its walk is not whole (clear_journal: every section with erase_seq = prev(prev(last_used)), from write_start).
    /// Every entry must already be applied (a pending journal goes through <see cref="ApplyPending"/> first).</summary>
    public static JournaledWrite Open(BlockDevice meta, Geometry g, Superblock sb, TagHasher? mac, CancellationToken ct)
    {
        var ring = JournalInspector.Ring(meta, g, ct) ?? throw new IntegrityVolumeException(ErrorIds.JournalUnreadable, ErrorKind.InvalidData,
            "The journal's commit ids are unreadable (journal_crypt, or corrupt).");
        var w = new JournaledWrite(meta, g, sb, mac, ring.WriteStart, ring.Want);
        if (!ring.Whole || ring.Seqs[ring.WriteStart] == ring.Want)
        {
            int erase = JournalInspector.Prev(JournalInspector.Prev(ring.LastUsed));
            w.InitSections(ring.WriteStart, g.JournalSections, erase, ct);
            meta.Flush();
            w._next = 0;
            w._seq = JournalInspector.Next(erase);
        }
        return w;
    }

    /// <summary>
    /// Apply a pending journal as the kernel's replay would (do_journal_write from_replay): the caller has checked every
    /// entry's tag and, with a journal_mac, every section's MAC. Data and tags are synced before the journal is touched.
    /// </summary>
    public static void ApplyPending(BlockDevice meta, BlockDevice data, Geometry g, JournalReport journal)
    {
        foreach (var (sector, (block, tag)) in journal.ReplayImage)
        {
            data.Write(checked((long)g.DataSector(sector) * 512), block);
            meta.Write(checked((long)g.TagOffset(sector)), tag);
        }
        data.Flush();
        if (!ReferenceEquals(data, meta)) meta.Flush();
    }

    /// <summary>
    /// Commit one batch: <paramref name="count"/> consecutive blocks from <paramref name="firstSector"/>, with their tags.
    /// Written to the ring and synced; the caller then writes them in place and syncs before the next batch.
    /// </summary>
    public void Commit(ulong firstSector, ReadOnlySpan<byte> blocks, ReadOnlySpan<byte> tags, int count, CancellationToken ct)
    {
        int e = _g.JournalSectionEntries, spb = _g.SectorsPerBlock, sectionBytes = _g.JournalSectionSectors * 512;
        int sections = (count + e - 1) / e;
        if (sections > SectionsPerBatch) throw new ArgumentOutOfRangeException(nameof(count));
        var buffer = new byte[sections * sectionBytes];
        for (int s = 0; s < sections; s++)
        {
            var section = buffer.AsSpan(s * sectionBytes, sectionBytes);
            for (int n = 0; n < e; n++)
            {
                int b = s * e + n;
                var entry = section.Slice(JournalSection.EntryOffset(_g, n), _g.JournalEntrySize);
                if (b >= count) { BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], 0xFFFFFFFFu); continue; }
                var block = blocks.Slice(b * _g.BlockSize, _g.BlockSize);
                BinaryPrimitives.WriteUInt64LittleEndian(entry, firstSector + ((ulong)b << _g.Log2SectorsPerBlock));
                for (int k = 0; k < spb; k++)
                {
                    // Journal data sector: bytes 0..503 of the user sector; its last 8 bytes go to last_bytes[k].
                    block.Slice(k * 512, Geometry.JournalSectorData).CopyTo(section[((Geometry.JournalBlockSectors + n * spb + k) * 512)..]);
                    block.Slice(k * 512 + Geometry.JournalSectorData, 8).CopyTo(entry[(8 + 8 * k)..]);
                }
                tags.Slice(b * _g.TagSize, _g.TagSize).CopyTo(entry[(8 + 8 * spb)..]);
            }
        }
        WriteRing(buffer, sections, ct);
        _meta.Flush();
    }

    /// <summary>The kernel's clean suspend: every section unused, from the ring position with the current seq, the
    /// sections before it with the next one; synced. The kernel's replay then finds an empty journal and continues at
    /// the same position with a seq that differs from the one on disk there.</summary>
    public void Finish(CancellationToken ct)
    {
        uint n = _g.JournalSections;
        InitSections(_next, n - _next, _seq, ct);
        if (_next > 0) InitSections(0, _next, JournalInspector.Next(_seq), ct);
        _meta.Flush();
    }

    /// <summary>Sections [start, start + count) (wrapping) all-unused with <paramref name="seq"/>, as init_journal writes them.</summary>
    private void InitSections(uint start, uint count, int seq, CancellationToken ct) =>
        JournalWriter.WriteUnused(_meta, _g, _sb, _mac, start, count, seq, ct);

    /// <summary>Stamp and write filled sections at the ring position, advancing it (and the seq at the wrap) as integrity_commit does.</summary>
    private void WriteRing(byte[] buffer, int sections, CancellationToken ct)
    {
        int sectionBytes = _g.JournalSectionSectors * 512;
        for (int done = 0; done < sections;)
        {
            ct.ThrowIfCancellationRequested();
            int k = (int)Math.Min((uint)(sections - done), _g.JournalSections - _next);
            for (int s = 0; s < k; s++)
                JournalWriter.Stamp(buffer.AsSpan((done + s) * sectionBytes, sectionBytes), _g, _next + (uint)s, _seq, _sb, _mac);
            _meta.Write(SectionOffset(_next), buffer.AsSpan(done * sectionBytes, k * sectionBytes));
            done += k;
            _next += (uint)k;
            if (_next >= _g.JournalSections) { _next = 0; _seq = JournalInspector.Next(_seq); }
        }
    }

    private long SectionOffset(uint section) => checked((long)(_g.JournalStartSector + (ulong)section * (ulong)_g.JournalSectionSectors) * 512);
}
