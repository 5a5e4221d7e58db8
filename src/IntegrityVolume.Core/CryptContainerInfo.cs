using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Core;

/// <summary>
/// The LUKS2 container around a dm-integrity volume (cryptsetup luksFormat --integrity): its dm-integrity superblock
/// sits at the data segment's offset and its tags are dm-crypt's (AEAD or HMAC with the volume key, "tags provided
/// by the layer above"), so only the crypt mapping can check them. No key material is ever read.
/// </summary>
public sealed record CryptContainerInfo
{
    /// <summary>"LUKS2".</summary>
    public required string Container { get; init; }
    public required string Uuid { get; init; }
    public string? Label { get; init; }
    /// <summary>The binary header + JSON area size (hdr_size); the keyslot area follows.</summary>
    public required ulong HeaderSizeBytes { get; init; }
    public required ulong SequenceId { get; init; }
    /// <summary>True when the primary header was unusable or older and the secondary copy was read.</summary>
    public bool FromSecondaryHeader { get; init; }
    public required string SegmentId { get; init; }
    /// <summary>Byte offset of the data segment: where the dm-integrity superblock is (the _dif table's offset).</summary>
    public required ulong DataOffsetBytes { get; init; }
    public ulong DataOffsetSectors => DataOffsetBytes / 512;
    /// <summary>Segment size in bytes; null for "dynamic" (to the end of the device).</summary>
    public ulong? DataSizeBytes { get; init; }
    /// <summary>The segment's cipher, as cryptsetup spells it (aes-xts-plain64, aes-gcm-random, ...).</summary>
    public required string Cipher { get; init; }
    /// <summary>dm-crypt's sector size (the segment's sector_size).</summary>
    public required uint CryptSectorSize { get; init; }
    /// <summary>The segment's integrity type: hmac(sha256), aead, poly1305, ...</summary>
    public required string Integrity { get; init; }
    public string? JournalEncryption { get; init; }
    public string? JournalIntegrity { get; init; }

    internal static CryptContainerInfo From(Luks2Header h) => new()
    {
        Container = "LUKS2", Uuid = h.Uuid, Label = h.Label.Length == 0 ? null : h.Label, HeaderSizeBytes = h.HeaderSize,
        SequenceId = h.SequenceId, FromSecondaryHeader = h.FromSecondary, SegmentId = h.DataSegment.Id,
        DataOffsetBytes = h.DataSegment.OffsetBytes, DataSizeBytes = h.DataSegment.SizeBytes, Cipher = h.DataSegment.Encryption,
        CryptSectorSize = h.DataSegment.SectorSize, Integrity = h.DataSegment.IntegrityType!,
        JournalEncryption = h.DataSegment.JournalEncryption, JournalIntegrity = h.DataSegment.JournalIntegrity,
    };
}
