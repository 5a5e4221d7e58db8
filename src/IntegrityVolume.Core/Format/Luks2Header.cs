using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IntegrityVolume.Core.Format;

/// <summary>Positional read of <paramref name="buffer"/>.Length bytes at byte <paramref name="offset"/>.</summary>
public delegate void ReadAt(long offset, Span<byte> buffer);

/// <summary>The data segment of a LUKS2 header that dm-crypt maps (segments."N" of the JSON area).</summary>
public sealed record Luks2Segment
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    /// <summary>Byte offset of the segment on the device: where dm-integrity's superblock sits with --integrity.</summary>
    public required ulong OffsetBytes { get; init; }
    /// <summary>Segment size in bytes; null for "dynamic" (up to the end of the device).</summary>
    public ulong? SizeBytes { get; init; }
    /// <summary>cryptsetup's cipher spelling ("encryption", e.g. aes-xts-plain64).</summary>
    public required string Encryption { get; init; }
    public required uint SectorSize { get; init; }
    /// <summary>integrity.type (e.g. hmac(sha256), aead, poly1305); null when the segment has no integrity.</summary>
    public string? IntegrityType { get; init; }
    public string? JournalEncryption { get; init; }
    public string? JournalIntegrity { get; init; }
}

/// <summary>
/// A LUKS2 header (cryptsetup lib/luks2): the 4096-byte binary header (big-endian) and its JSON area, primary at 0
/// and secondary at hdr_size. As cryptsetup's hdr_read_disk: magic, version 2, hdr_offset equal to where it was read,
/// hdr_size 16 KiB..4 MiB (bounds the JSON read), the checksum over the whole hdr_size; of two valid copies the
/// higher seqid wins. Only what an integrity reader needs is kept: no keyslot, digest or token is interpreted.
/// </summary>
public sealed record Luks2Header
{
    public const int BinarySize = 4096;                 // LUKS2_HDR_BIN_LEN
    public const ulong MinHeaderSize = 0x4000;          // LUKS2_HDR_16K_LEN
    public const ulong MaxHeaderSize = 0x400000;        // LUKS2_HDR_OFFSET_MAX
    /// <summary>Where cryptsetup looks for the secondary header when the primary is unusable (LUKS2_HDR2_OFFSETS).</summary>
    private static readonly ulong[] SecondaryOffsets = { 0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000 };

    public required ulong HeaderSize { get; init; }
    public required ulong SequenceId { get; init; }
    public required string Uuid { get; init; }
    public required string Label { get; init; }
    /// <summary>True when the secondary copy was used (the primary was damaged or older).</summary>
    public bool FromSecondary { get; init; }
    /// <summary>The crypt segment with the lowest offset (LUKS2_get_data_offset: the minimal segment offset).</summary>
    public required Luks2Segment DataSegment { get; init; }

    /// <summary>"LUKS\xba\xbe" at byte 0: a LUKS header of any version.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 6 && head[..4].SequenceEqual("LUKS"u8) && head[4] == 0xBA && head[5] == 0xBE;

    /// <summary>The version field (big-endian u16 at byte 6) of a header that <see cref="HasMagic"/>.</summary>
    public static int Version(ReadOnlySpan<byte> head) => BinaryPrimitives.ReadUInt16BigEndian(head[6..]);

    /// <summary>
    /// Read and validate the header of a device of <paramref name="deviceBytes"/> bytes. Luks2HeaderInvalid when
    /// neither copy is valid or the JSON lacks a usable crypt segment; never allocates more than 4 MiB.
    /// </summary>
    public static Luks2Header Read(ReadAt read, long deviceBytes, string target)
    {
        string? primaryError = null, secondaryError = null;
        var primary = TryRead(read, deviceBytes, 0, secondary: false, ref primaryError);
        Copy? second = null;
        if (primary is not null)
            second = TryRead(read, deviceBytes, primary.HeaderSize, secondary: true, ref secondaryError);
        else
            foreach (ulong off in SecondaryOffsets)
            {
                string? err = null;
                second = TryRead(read, deviceBytes, off, secondary: true, ref err);
                if (second is not null) break;
                secondaryError ??= err;
            }
        var chosen = primary is not null && (second is null || primary.SequenceId >= second.SequenceId) ? primary : second;
        if (chosen is null)
            throw Invalid($"no valid LUKS2 header: primary: {primaryError}; secondary: {secondaryError ?? "not found"}.", target);
        return Interpret(chosen, target);
    }

    private sealed record Copy(ulong HeaderSize, ulong SequenceId, string Uuid, string Label, byte[] Json, bool Secondary);

    private static Copy? TryRead(ReadAt read, long deviceBytes, ulong offset, bool secondary, ref string? error)
    {
        if (offset + BinarySize > (ulong)Math.Max(deviceBytes, 0))
        {
            error = $"the device ends before byte {offset + BinarySize}";
            return null;
        }
        var bin = new byte[BinarySize];
        read((long)offset, bin);
        bool magic = secondary
            ? bin.AsSpan(0, 4).SequenceEqual("SKUL"u8) && bin[4] == 0xBA && bin[5] == 0xBE
            : HasMagic(bin);
        if (!magic) { error = $"no {(secondary ? "SKUL" : "LUKS")} magic at byte {offset}"; return null; }
        int version = Version(bin);
        if (version != 2) { error = $"version {version} at byte {offset}, not 2"; return null; }
        ulong hdrSize = BinaryPrimitives.ReadUInt64BigEndian(bin.AsSpan(8));
        ulong seqid = BinaryPrimitives.ReadUInt64BigEndian(bin.AsSpan(16));
        ulong hdrOffset = BinaryPrimitives.ReadUInt64BigEndian(bin.AsSpan(256));
        // hdr_disk_sanity_check_pre: the header says where it is, and its size bounds everything read after it.
        if (hdrOffset != offset) { error = $"hdr_offset {hdrOffset} but read at byte {offset}"; return null; }
        if (hdrSize < MinHeaderSize || hdrSize > MaxHeaderSize) { error = $"hdr_size {hdrSize} is not 16 KiB..4 MiB"; return null; }
        if (secondary && offset != hdrSize) { error = $"secondary header at byte {offset} but hdr_size {hdrSize}"; return null; }
        if (offset + hdrSize > (ulong)deviceBytes) { error = $"hdr_size {hdrSize} at byte {offset} is beyond the end of the device ({deviceBytes} bytes)"; return null; }
        var json = new byte[hdrSize - BinarySize];
        read((long)offset + BinarySize, json);
        string alg = CString(bin.AsSpan(72, 32));
        if (!ChecksumMatches(alg, bin, json, out string? why)) { error = why; return null; }
        return new Copy(hdrSize, seqid, CString(bin.AsSpan(168, 40)), CString(bin.AsSpan(24, 48)), json, secondary);
    }

    /// <summary>hdr_checksum_check: the hash of the binary header (csum field zeroed) and the whole JSON area.</summary>
    private static bool ChecksumMatches(string alg, byte[] bin, byte[] json, out string? error)
    {
        HashAlgorithmName name = alg switch
        {
            "sha256" => HashAlgorithmName.SHA256,
            "sha1" => HashAlgorithmName.SHA1,
            "sha512" => HashAlgorithmName.SHA512,
            "sha384" => HashAlgorithmName.SHA384,
            _ => default,
        };
        if (name == default) { error = $"checksum algorithm \"{alg}\" is not supported"; return false; }
        using var h = IncrementalHash.CreateHash(name);
        var zeroed = (byte[])bin.Clone();
        zeroed.AsSpan(448, 64).Clear();
        h.AppendData(zeroed);
        h.AppendData(json);
        var digest = h.GetHashAndReset();
        error = bin.AsSpan(448, digest.Length).SequenceEqual(digest) ? null : $"{alg} checksum mismatch";
        return error is null;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        int nul = field.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul < 0 ? field : field[..nul]);
    }

    private static Luks2Header Interpret(Copy c, string target)
    {
        // The JSON text ends at the first NUL (cryptsetup parses at most the area).
        int end = Array.IndexOf(c.Json, (byte)0);
        var text = c.Json.AsMemory(0, end < 0 ? c.Json.Length : end);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 32 }); }
        catch (JsonException ex) { throw Invalid($"the JSON area does not parse ({ex.Message}).", target); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("segments", out var segments) || segments.ValueKind != JsonValueKind.Object)
                throw Invalid("the JSON area has no \"segments\" object.", target);
            Luks2Segment? data = null;
            foreach (var s in segments.EnumerateObject())
            {
                if (!uint.TryParse(s.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    throw Invalid($"segment id \"{s.Name}\" is not a number.", target);
                var seg = Segment(s.Name, s.Value, target);
                if (seg.Type != "crypt") continue;
                if (data is null || seg.OffsetBytes < data.OffsetBytes) data = seg;
            }
            if (data is null) throw Invalid("the JSON area has no crypt segment.", target);
            return new Luks2Header
            {
                HeaderSize = c.HeaderSize, SequenceId = c.SequenceId, Uuid = c.Uuid, Label = c.Label,
                FromSecondary = c.Secondary, DataSegment = data,
            };
        }
    }

    private static Luks2Segment Segment(string id, JsonElement e, string target)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Invalid($"segment {id} is not an object.", target);
        string type = Str(e, "type", id, target);
        if (type != "crypt")
            return new Luks2Segment { Id = id, Type = type, OffsetBytes = U64(e, "offset", id, target), Encryption = "", SectorSize = 0 };
        // hdr_validate_crypt_segment: offset and size are decimal strings, sector_size a 512-multiple uint32.
        ulong offset = U64(e, "offset", id, target);
        string size = Str(e, "size", id, target);
        ulong? sizeBytes = size == "dynamic" ? null
            : ulong.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var sz) ? sz
            : throw Invalid($"segment {id}: \"size\" is \"{Clip(size)}\", neither \"dynamic\" nor a number.", target);
        if (!e.TryGetProperty("sector_size", out var ss) || ss.ValueKind != JsonValueKind.Number || !ss.TryGetUInt32(out uint sectorSize) ||
            sectorSize == 0 || sectorSize % 512 != 0)
            throw Invalid($"segment {id}: \"sector_size\" is missing or not a non-zero multiple of 512.", target);
        if (offset % 512 != 0) throw Invalid($"segment {id}: \"offset\" {offset} is not a multiple of 512.", target);
        string? itype = null, jenc = null, jint = null;
        if (e.TryGetProperty("integrity", out var integ))
        {
            if (integ.ValueKind != JsonValueKind.Object) throw Invalid($"segment {id}: \"integrity\" is not an object.", target);
            itype = Str(integ, "type", id, target);
            jenc = Str(integ, "journal_encryption", id, target);
            jint = Str(integ, "journal_integrity", id, target);
        }
        return new Luks2Segment
        {
            Id = id, Type = type, OffsetBytes = offset, SizeBytes = sizeBytes, Encryption = Str(e, "encryption", id, target),
            SectorSize = sectorSize, IntegrityType = itype, JournalEncryption = jenc, JournalIntegrity = jint,
        };
    }

    private static string Str(JsonElement e, string field, string id, string target) =>
        e.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw Invalid($"segment {id}: \"{field}\" is missing or not a string.", target);

    private static ulong U64(JsonElement e, string field, string id, string target)
    {
        string s = Str(e, field, id, target);
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
            : throw Invalid($"segment {id}: \"{field}\" is \"{Clip(s)}\", not a decimal number.", target);
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static IntegrityVolumeException Invalid(string what, string target) =>
        new(ErrorIds.Luks2HeaderInvalid, ErrorKind.InvalidData, $"{target}: invalid LUKS2 header: {what}", target);
}
