using System.Buffers.Binary;
using System.Text;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// The intent record of an offline write: "sectors [Start, End) are being rewritten". It lives in sector 1 of the
/// 4 KiB superblock area (SB_SECTORS = 8), which the kernel reads and writes back as it is but never interprets: its
/// superblock is the first 64 bytes, and the sb_mac (FIXED_HMAC with a journal_mac) ends at byte 512. The record
/// therefore changes nothing the kernel reads, survives a kernel open/close, and a format (which zeroes the whole area
/// first) removes it. One 512-byte sector write is atomic against kill -9; a CRC32C guards it against anything else.
///
/// Protocol of DataWriter: (1) checks, (2) record written and synced, (3) the blocks, (4) synced, (5) record cleared and
/// synced. With the journal (JournaledWrite, flag Journaled) step (3) goes through the kernel's redo journal and a write
/// killed anywhere between (2) and (5) leaves every block old or new with a valid tag (after the journal's replay); the
/// record then only says which range did not finish. Without it (in place: bitmap-mode leftovers, a journal_mac without
/// its key) a killed write leaves each block old, new, or torn (new data under an old tag); verify and dump report the
/// interrupted range instead of a healthy volume or ordinary corruption. Either way re-running the same write (any
/// write whose range covers the record) makes every block new and clears the record. Outside the range nothing changes.
/// </summary>
internal static class WriteIntent
{
    private static readonly byte[] Magic = "ivolwip\0"u8.ToArray();
    private const int Version = 1;
    private const int RecordBytes = 512;
    private const int AlgorithmBytes = 32;
    // Flags (added after version 1 shipped: a record without them reads as 0, i.e. an in-place write).
    private const int FlagsOffset = 80;
    private const uint FlagJournaled = 1;

    private static uint Check(byte[] record) => ~Crc32C.Update(~0u, record.AsSpan(0, RecordBytes - 4));

    private static long Offset(ulong reservedSectors) => checked((long)reservedSectors * 512 + 512);

    /// <summary>The record, or null when there is none (zeros) or it does not check (treated as none: it never was written whole).</summary>
    public static InterruptedWrite? Read(BlockDevice meta, ulong reservedSectors)
    {
        var s = new byte[RecordBytes];
        if (meta.Length < Offset(reservedSectors) + RecordBytes) return null;
        meta.Read(Offset(reservedSectors), s);
        if (!s.AsSpan(0, 8).SequenceEqual(Magic) || BinaryPrimitives.ReadInt32LittleEndian(s.AsSpan(8)) != Version) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(RecordBytes - 4)) != Check(s)) return null;
        return new InterruptedWrite
        {
            StartSector = BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(16)),
            EndSector = BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(24)),
            InputBytes = BinaryPrimitives.ReadInt64LittleEndian(s.AsSpan(32)),
            StartedUtc = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64LittleEndian(s.AsSpan(40))).UtcDateTime,
            Algorithm = Encoding.ASCII.GetString(s.AsSpan(48, AlgorithmBytes)).TrimEnd('\0'),
            Journaled = (BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(FlagsOffset)) & FlagJournaled) != 0,
        };
    }

    /// <summary>Record the write about to start and make it durable before any data moves.</summary>
    public static void Begin(BlockDevice meta, ulong reservedSectors, ulong start, ulong end, long inputBytes, string algorithm, bool journaled = false) =>
        Write(meta, reservedSectors, start, end, inputBytes, algorithm, journaled, DateTimeOffset.UtcNow);

    /// <summary>Put an earlier record back as it was read (its start time too), e.g. after a repair that left blocks of it bad.</summary>
    public static void Restore(BlockDevice meta, ulong reservedSectors, InterruptedWrite earlier) =>
        Write(meta, reservedSectors, earlier.StartSector, earlier.EndSector, earlier.InputBytes, earlier.Algorithm, earlier.Journaled,
            new DateTimeOffset(DateTime.SpecifyKind(earlier.StartedUtc, DateTimeKind.Utc)));

    private static void Write(BlockDevice meta, ulong reservedSectors, ulong start, ulong end, long inputBytes, string algorithm, bool journaled, DateTimeOffset started)
    {
        var s = new byte[RecordBytes];
        Magic.CopyTo(s, 0);
        BinaryPrimitives.WriteInt32LittleEndian(s.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(16), start);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(24), end);
        BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(32), inputBytes);
        BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(40), started.ToUnixTimeSeconds());
        Encoding.ASCII.GetBytes(algorithm.AsSpan(0, Math.Min(algorithm.Length, AlgorithmBytes)), s.AsSpan(48, AlgorithmBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(FlagsOffset), journaled ? FlagJournaled : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(RecordBytes - 4), Check(s));
        meta.Write(Offset(reservedSectors), s);
        meta.Flush();
    }

    /// <summary>The write is complete and synced: remove the record (the sector reads as zeros again, as after format).</summary>
    public static void End(BlockDevice meta, ulong reservedSectors)
    {
        meta.Write(Offset(reservedSectors), new byte[RecordBytes]);
        meta.Flush();
    }
}
