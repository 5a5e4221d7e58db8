using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core;

/// <summary>Offline resize of a closed volume (Resize-IntegrityVolume, ivol resize). Disposing it disposes the keys it carries.</summary>
public sealed record ResizeRequest : IDisposable
{
    public required VolumeLocation Volume { get; init; }
    /// <summary>Algorithm and key of the tags: the new tail gets zero-block tags, the cut tail is checked with them.</summary>
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>New size in bytes of the device that holds the data (the image; with a separate data device, that one).
    /// An image file is grown or truncated to it; a block device keeps its size (a smaller size shrinks the volume inside it).
    /// Null: the device's current size (a block device that grew, an image extended by other means).</summary>
    public long? DeviceSizeBytes { get; init; }
    /// <summary>Wanted data size in 512-byte sectors (integritysetup --size): the image is sized to the smallest one that
    /// provides at least this many sectors.</summary>
    public ulong? SizeSectors { get; init; }
    /// <summary>The volume's journal_mac: with FIXED_HMAC the superblock carries its MAC, which must be signed again.</summary>
    public TagAlgorithm? JournalIntegrity { get; init; }
    public IntegrityKey? JournalIntegrityKey { get; init; }
    /// <summary>Shrink although the cut tail holds written blocks (they are listed). Never overrides a wrong algorithm or key.</summary>
    public bool Force { get; init; }

    /// <summary>Every check that needs no device: the key rules, one size at most, sizes in range.</summary>
    public void Validate()
    {
        Integrity.Validate();
        RequestChecks.JournalIntegrity(JournalIntegrity, JournalIntegrityKey);
        if (DeviceSizeBytes is not null && SizeSectors is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "Give the new size once: either the device size in bytes (--device-size / -Size) or the data size in sectors (--size / -SizeSectors).", Volume.Path);
        if (DeviceSizeBytes is long b && (b <= 0 || b % 512 != 0))
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"The device size {b} (--device-size / -Size) must be a positive multiple of 512 bytes.", Volume.Path);
        // A device's length is a 64-bit signed byte count: no size at or past 2^63 bytes exists.
        if (SizeSectors is ulong s && (s == 0 || s > (ulong)long.MaxValue / 512))
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"The data size {s} sectors (--size / -SizeSectors) must be positive and below 2^63 bytes.", Volume.Path);
    }

    public void Dispose() { Integrity.Key?.Dispose(); JournalIntegrityKey?.Dispose(); }
}

/// <summary>Online resize of an active mapping (integritysetup resize).</summary>
public sealed record OnlineResizeRequest
{
    /// <summary>The mapping's name (/dev/mapper/NAME).</summary>
    public required string Name { get; init; }
    /// <summary>New size in 512-byte sectors; null: the most the (grown) device provides.</summary>
    public ulong? SizeSectors { get; init; }
    /// <summary>Write zeros over a grown tail through the mapping, so the kernel computes its tags (integritysetup --wipe).
    /// False: reload with "recalculate" (the kernel recalculates from recalc_sector, the whole device when not recalculating).</summary>
    public bool Wipe { get; init; } = true;
    /// <summary>Shrink even when the cut tail holds data (non-zero or unreadable blocks read through the mapping).</summary>
    public bool Force { get; init; }
}

/// <summary>Outcome of a resize: the old and new data size and what was cut.</summary>
public sealed class ResizeResult
{
    public required string Path { get; init; }
    public string? DataDevicePath { get; init; }
    /// <summary>The active mapping resized online; null offline.</summary>
    public string? Name { get; init; }
    public required ulong OldProvidedDataSectors { get; init; }
    public required ulong NewProvidedDataSectors { get; init; }
    /// <summary>Size in bytes of the device that holds the data, before and after.</summary>
    public required long OldDeviceBytes { get; init; }
    public required long NewDeviceBytes { get; init; }
    /// <summary>"grow", "shrink" or "unchanged".</summary>
    public required string Action { get; init; }
    /// <summary>How the new tail got its tags: "tags-only" (read as zeros), "full" (zeroed), "wipe" (zeros written through the
    /// kernel), "recalculate" (the kernel recalculates), "none".</summary>
    public required string TagInitialization { get; init; }
    /// <summary>Ranges of the cut tail that hold written blocks (non-zero data, or a tag other than the zero block's).</summary>
    public SectorRange[] CutRanges { get; init; } = [];
    public ulong CutBlocks { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>True when nothing was written (-WhatIf, --dry-run).</summary>
    public bool WhatIf { get; init; }
    /// <summary>Online, unchanged size: the failing end of the mapping (a grow killed while wiping), reported, not written.</summary>
    public SectorRange? UnreadableTail { get; init; }
    public string[] Warnings { get; init; } = [];
}
