using System.Buffers.Binary;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Journal;

/// <summary>What the journal area of a closed volume holds.</summary>
public enum JournalState
{
    /// <summary>Every entry is unused: nothing to replay.</summary>
    Clean,
    /// <summary>Committed entries the kernel would replay on the next activation.</summary>
    Pending,
    /// <summary>DIRTY_BITMAP is set: the area holds a bitmap (bitmap mode, not cleanly closed).</summary>
    DirtyBitmap,
    /// <summary>Commit ids match no sequence: the journal is encrypted (journal_crypt) or corrupt.</summary>
    Unreadable,
}

/// <summary>The kernel's journal ring as replay_journal sees it (JournalInspector.Ring).</summary>
/// <param name="Seqs">Commit sequence of each section; -1 when its sectors carry two (torn).</param>
/// <param name="Walked">Sections the replay walk accepts from <paramref name="WriteStart"/> (all of them: a whole ring).</param>
/// <param name="Want">The sequence after the walk: what the kernel continues committing with at WriteStart.</param>
internal sealed record JournalRing(int[] Seqs, int LastUsed, uint WriteStart, uint Walked, int Want)
{
    public bool Whole => Walked == (uint)Seqs.Length;
}

/// <summary>One committed journal entry the kernel would apply on replay.</summary>
public sealed record JournalEntryInfo(uint Section, int Entry, ulong Sector, bool TagValid, bool AlreadyApplied);

public sealed class JournalReport
{
    public required JournalState State { get; init; }
    public IReadOnlyList<JournalEntryInfo> PendingEntries { get; init; } = Array.Empty<JournalEntryInfo>();
    /// <summary>Section whose commit ids broke the replay run (a torn commit); null when the run is whole.</summary>
    public uint? TornAtSection { get; init; }
    /// <summary>Committed sections whose journal MAC does not verify (checked only when a journal_mac was given).</summary>
    public IReadOnlyList<uint> MacFailedSections { get; init; } = Array.Empty<uint>();
    /// <summary>Committed entries whose tag does not match their block: the kernel's replay fails ("tag mismatch when replaying journal").</summary>
    public IEnumerable<JournalEntryInfo> FailedEntries => PendingEntries.Where(e => !e.TagValid);
    public string? Detail { get; init; }

    /// <summary>
    /// Writers (write, repair, resize) refuse a volume the kernel has not settled: a dirty bitmap (not closed cleanly:
    /// the kernel recalculates its dirty regions on the next activation) or a journal that cannot be read.
    /// </summary>
    public void ThrowIfNotSettled(string path)
    {
        if (State is JournalState.DirtyBitmap)
            throw new IntegrityVolumeException(ErrorIds.VolumeDirty, ErrorKind.InvalidData,
                $"{path}: the volume was not closed cleanly (dirty bitmap); open and close it first.", path);
        if (State is JournalState.Unreadable)
            throw new IntegrityVolumeException(ErrorIds.JournalUnreadable, ErrorKind.InvalidData, $"{path}: {Detail}", path);
    }

    /// <summary>"the journal holds N entries the kernel has not replayed" (the start of every refusal of a pending journal).</summary>
    public string PendingSummary => $"the journal holds {PendingEntries.Count} entries the kernel has not replayed";

    /// <summary>The journal's replay result as block data and tags, last writer wins (for the verifier).</summary>
    internal Dictionary<ulong, (byte[] Data, byte[] Tag)> ReplayImage { get; init; } = new();
}

/// <summary>
/// Reads the journal like replay_journal does (commit ids per sector, first unused sequence, the committed run
/// from write_start) without writing anything. With the tag algorithm it also checks each entry's tag the way
/// do_journal_write checks it on replay.
/// </summary>
public static class JournalInspector
{
    private const int NCommitIds = 4;

    /// <summary>commit_id(i, j, seq) = 0x1111.. * (seq+1) XOR ((i << 32) ^ j) (dm_integrity_commit_id).</summary>
    public static ulong CommitId(uint section, uint sector, int seq) =>
        (0x1111111111111111UL * (ulong)(seq + 1)) ^ (((ulong)section << 32) ^ sector);

    /// <summary>dm_integrity_commit_id with the cipher's bases (journal_crypt with a stream cipher changes them).</summary>
    private static ulong CommitId(uint section, uint sector, int seq, JournalCipher? cipher) =>
        cipher is null ? CommitId(section, sector, seq) : cipher.CommitIdBases[seq] ^ (((ulong)section << 32) ^ sector);

    /// <param name="journalMac">With a journal_mac, each committed section's MAC is checked as do_journal_write checks it
    /// on replay (rw_section_mac); a mismatch is listed in <see cref="JournalReport.MacFailedSections"/>.</param>
    /// <param name="cipher">journal_crypt: each section is decrypted as read (the kernel's replay decrypts it too).</param>
    public static JournalReport Inspect(IBlockReader meta, Superblock sb, Geometry g, TagComputer? tags = null,
        IBlockReader? data = null, CancellationToken ct = default, TagHasher? journalMac = null, JournalCipher? cipher = null)
    {
        if (sb.HasFlag(SuperblockFlags.DirtyBitmap))
            return new JournalReport { State = JournalState.DirtyBitmap, Detail = "The volume was not closed cleanly in bitmap mode." };

        int sectionBytes = g.JournalSectionSectors * 512;
        var section = new byte[sectionBytes];
        var used = new bool[NCommitIds];
        var maxSection = new uint[NCommitIds];
        bool empty = true;
        for (uint i = 0; i < g.JournalSections; i++)
        {
            ct.ThrowIfCancellationRequested();
            ReadSection(meta, g, i, section, cipher);
            for (uint j = 0; j < g.JournalSectionSectors; j++)
            {
                int k = FindSeq(section, i, j, cipher);
                if (k < 0)
                    return new JournalReport { State = JournalState.Unreadable,
                        Detail = cipher is null
                            ? $"Journal section {i} sector {j} carries no valid commit id: the journal is encrypted or corrupt."
                            : $"Journal section {i} sector {j} carries no valid commit id once decrypted: the journal cipher or its key is wrong, or the journal is corrupt." };
                used[k] = true;
                maxSection[k] = i;
            }
            if (empty)
                for (int e = 0; e < g.JournalSectionEntries && empty; e++)
                    if (!IsUnused(section, g, e)) empty = false;
        }
        if (empty) return new JournalReport { State = JournalState.Clean };

        int unused = FirstUnusedSequence(used);
        if (unused < 0)
            return new JournalReport { State = JournalState.Unreadable, Detail = "All four commit sequences are in use: the journal is corrupt." };
        int lastUsed = Prev(unused);
        int want = Prev(lastUsed);
        if (!used[want] && used[Prev(want)]) return new JournalReport { State = JournalState.Clean };

        uint writeStart = maxSection[lastUsed] + 1;
        if (writeStart >= g.JournalSections) { want = Next(want); writeStart -= g.JournalSections; }

        var entries = new List<JournalEntryInfo>();
        var macFailed = new List<uint>();
        var image = new Dictionary<ulong, (byte[], byte[])>();
        uint? torn = null;
        uint s = writeStart;
        var block = new byte[g.BlockSize];
        var tag = new byte[g.TagSize];
        var current = new byte[g.BlockSize];
        var currentTag = new byte[g.TagSize];
        for (uint n = 0; n < g.JournalSections; n++)
        {
            ct.ThrowIfCancellationRequested();
            ReadSection(meta, g, s, section, cipher);
            bool whole = true;
            for (uint j = 0; j < g.JournalSectionSectors && whole; j++)
                whole = BinaryPrimitives.ReadUInt64LittleEndian(section.AsSpan((int)j * 512 + 504)) == CommitId(s, j, want, cipher);
            if (!whole) { torn = s; break; }
            if (journalMac is not null && !MacMatches(section, g, s, sb, journalMac)) macFailed.Add(s);
            for (int e = 0; e < g.JournalSectionEntries; e++)
            {
                if (IsUnused(section, g, e)) continue;
                var entry = EntrySpan(section, g, e);
                ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(entry);
                // do_journal_write(from_replay): entries beyond the device (and in-progress markers) are dropped.
                if (sector >= g.ProvidedDataSectors) continue;
                sector &= ~(ulong)(g.SectorsPerBlock - 1);
                // Reconstruct the block: 504 bytes per journal sector, the last 8 from last_bytes[k].
                for (int k = 0; k < g.SectorsPerBlock; k++)
                {
                    var src = section.AsSpan((Geometry.JournalBlockSectors + e * g.SectorsPerBlock + k) * 512, 504);
                    src.CopyTo(block.AsSpan(k * 512));
                    entry.Slice(8 + 8 * k, 8).CopyTo(block.AsSpan(k * 512 + 504));
                }
                entry.Slice(8 + 8 * g.SectorsPerBlock, g.TagSize).CopyTo(tag);
                bool tagValid = tags is null || tags.Matches(sector, block, tag);
                bool applied = false;
                if (data is not null)
                {
                    data.Read((long)g.DataSector(sector) * 512, current);
                    meta.Read((long)g.TagOffset(sector), currentTag);
                    applied = current.AsSpan().SequenceEqual(block) && currentTag.AsSpan().SequenceEqual(tag);
                }
                entries.Add(new JournalEntryInfo(s, e, sector, tagValid, applied));
                image[sector] = ((byte[])block.Clone(), (byte[])tag.Clone());
            }
            if (++s >= g.JournalSections) { s = 0; want = Next(want); }
        }
        return new JournalReport
        {
            State = entries.Count == 0 ? JournalState.Clean : JournalState.Pending,
            PendingEntries = entries, TornAtSection = torn, ReplayImage = image, MacFailedSections = macFailed,
        };
    }

    /// <summary>
    /// Where the kernel's ring stands, by replay_journal's rules: the commit sequence of every section (-1 when its sectors
    /// carry two sequences: a torn commit), the section the walk starts at (write_start, the oldest), how many sections it
    /// walks before a torn one, and the sequence the kernel would continue with (want after the walk). Null when a sector
    /// carries no valid commit id or all four sequences are in use (the kernel fails the device).
    /// </summary>
    internal static JournalRing? Ring(IBlockReader meta, Geometry g, CancellationToken ct = default)
    {
        uint n = g.JournalSections;
        var seqs = new int[n];
        var used = new bool[NCommitIds];
        var maxSection = new uint[NCommitIds];
        var section = new byte[g.JournalSectionSectors * 512];
        for (uint i = 0; i < n; i++)
        {
            ct.ThrowIfCancellationRequested();
            ReadSection(meta, g, i, section);
            int first = -2;
            for (uint j = 0; j < g.JournalSectionSectors; j++)
            {
                int k = FindSeq(section, i, j);
                if (k < 0) return null;
                used[k] = true;
                maxSection[k] = i;
                first = first == -2 ? k : first == k ? k : -1;
            }
            seqs[i] = first;
        }
        int unused = FirstUnusedSequence(used);
        if (unused < 0) return null;
        int lastUsed = Prev(unused);
        int want = Prev(lastUsed);
        uint writeStart = maxSection[lastUsed] + 1;
        if (writeStart >= n) { want = Next(want); writeStart -= n; }
        uint walked = 0;
        for (uint s = writeStart; walked < n; walked++)
        {
            if (seqs[s] != want) break;
            if (++s >= n) { s = 0; want = Next(want); }
        }
        return new JournalRing(seqs, lastUsed, writeStart, walked, want);
    }

    /// <summary>
    /// Whether the journal was written unencrypted: every sector of section 0 carries a plain commit id. An encrypted
    /// journal (journal_crypt: sections encrypted, or XORed with a stream cipher's keystream) never does, so opening
    /// a plain one with journal_crypt would decrypt it into bad commit ids and fail the device.
    /// </summary>
    public static bool HasPlainCommitIds(IBlockReader meta, Geometry g)
    {
        if (g.JournalSections == 0) return false;
        var section = new byte[g.JournalSectionSectors * 512];
        ReadSection(meta, g, 0, section);
        for (uint j = 0; j < g.JournalSectionSectors; j++)
            if (FindSeq(section, 0, j) < 0) return false;
        return true;
    }

    /// <summary>rw_section_mac (read): the 64-byte section MAC, 8 bytes at offset 496 of each of the 8 metadata sectors.</summary>
    internal static bool MacMatches(byte[] section, Geometry g, uint index, Superblock sb, TagHasher journalMac)
    {
        var mac = JournalSection.Mac(section, g, index, sb, journalMac);
        for (int j = 0; j < Geometry.JournalBlockSectors; j++)
            if (!section.AsSpan(j * 512 + 496, Geometry.JournalMacPerSector).SequenceEqual(mac.AsSpan(j * 8, 8))) return false;
        return true;
    }

    internal static void ReadSection(IBlockReader meta, Geometry g, uint section, byte[] buffer, JournalCipher? cipher = null)
    {
        meta.Read((long)(g.JournalStartSector + (ulong)section * (ulong)g.JournalSectionSectors) * 512, buffer);
        cipher?.Decrypt(section, buffer);
    }

    private static int FindSeq(byte[] section, uint i, uint j, JournalCipher? cipher = null)
    {
        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(section.AsSpan((int)j * 512 + 504));
        for (int k = 0; k < NCommitIds; k++)
            if (CommitId(i, j, k, cipher) == id) return k;
        return -1;
    }

    /// <summary>Entry n lives in metadata sector n % 8 at byte (n / 8) * journal_entry_size.</summary>
    private static Span<byte> EntrySpan(byte[] section, Geometry g, int n) =>
        section.AsSpan(JournalSection.EntryOffset(g, n), g.JournalEntrySize);

    /// <summary>journal_entry_is_unused: sector_hi == 0xFFFFFFFF.</summary>
    private static bool IsUnused(byte[] section, Geometry g, int n) =>
        BinaryPrimitives.ReadUInt32LittleEndian(EntrySpan(section, g, n)[4..]) == 0xFFFFFFFFu;

    /// <summary>The first unused commit sequence as replay_journal picks it (when seq 3 is unused, walk down while the
    /// predecessor is unused too); -1 when all four are in use (the kernel fails the device).</summary>
    private static int FirstUnusedSequence(bool[] used)
    {
        int unused;
        if (!used[NCommitIds - 1])
        {
            unused = NCommitIds - 1;
            while (unused > 0 && !used[unused - 1]) unused--;
            return unused;
        }
        for (unused = 0; unused < NCommitIds && used[unused]; unused++) { }
        return unused == NCommitIds ? -1 : unused;
    }

    internal static int Prev(int seq) => (seq + NCommitIds - 1) % NCommitIds;
    internal static int Next(int seq) => (seq + 1) % NCommitIds;
}
