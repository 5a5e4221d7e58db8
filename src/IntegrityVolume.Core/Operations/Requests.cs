namespace IntegrityVolume.Core;

/// <summary>Where a volume lives: the device or image holding the superblock, and an optional separate data device.</summary>
public record VolumeLocation
{
    /// <summary>The device or image file that holds superblock, journal and tags (integritysetup's positional device).</summary>
    public required string Path { get; init; }
    /// <summary>Separate data device (integritysetup --data-device); tags then live on <see cref="Path"/>.</summary>
    public string? DataDevicePath { get; init; }
    /// <summary>Sectors reserved before the superblock (the table's offset argument; LUKS2 data offset).</summary>
    public ulong ReservedSectors { get; init; }
}

/// <summary>Algorithm and key of the tags: not stored on disk, so the user supplies them.</summary>
public record IntegrityAlgorithmSpec
{
    public string Algorithm { get; init; } = "crc32c";
    /// <summary>Key for keyed algorithms (hmac-*).</summary>
    public byte[]? Key { get; init; }
}

public sealed record VerifyRequest
{
    public required VolumeLocation Volume { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Worker threads; 0 = one per core.</summary>
    public int Threads { get; init; }
    /// <summary>journal_mac algorithm and key; with FIXED_HMAC the superblock MAC is checked as the kernel does (sb_mac).</summary>
    public string? JournalIntegrity { get; init; }
    public byte[]? JournalIntegrityKey { get; init; }
    /// <summary>Stop collecting ranges past this many mismatched blocks (counts stay exact).</summary>
    public int MaxReportedRanges { get; init; } = 100_000;
}

public sealed record FormatRequest
{
    public required VolumeLocation Volume { get; init; }
    /// <summary>Create the image file with this size (bytes) first; it must not exist unless <see cref="Force"/>.</summary>
    public long? CreateSizeBytes { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Bytes per tag; null = the algorithm's digest size.</summary>
    public int? TagSize { get; init; }
    /// <summary>512, 1024, 2048 or 4096.</summary>
    public int SectorSize { get; init; } = 512;
    /// <summary>Journal size in bytes; null = the kernel default min(64 MiB, device/128).</summary>
    public long? JournalSizeBytes { get; init; }
    public ulong? InterleaveSectors { get; init; }
    /// <summary>128 KiB metadata padding (omit fix_padding) for old kernels.</summary>
    public bool LegacyPadding { get; init; }
    /// <summary>No salt (omit fix_hmac) for old kernels.</summary>
    public bool LegacyHmac { get; init; }
    /// <summary>journal_mac algorithm (e.g. hmac-sha256); sets HAVE_JOURNAL_MAC.</summary>
    public string? JournalIntegrity { get; init; }
    public byte[]? JournalIntegrityKey { get; init; }
    /// <summary>Bitmap granularity in sectors (recorded as log2_blocks_per_bitmap_bit).</summary>
    public ulong? BitmapSectorsPerBit { get; init; }
    /// <summary>Skip tag initialisation; the volume is marked RECALCULATING so the kernel computes the tags.</summary>
    public bool NoWipe { get; init; }
    /// <summary>Overwrite a device that carries a known signature (filesystem, LUKS, integrity superblock, ...).</summary>
    public bool Force { get; init; }
    /// <summary>Salt to use instead of a random one (reproducing an existing image).</summary>
    public byte[]? Salt { get; init; }
}

public sealed record WriteRequest
{
    public required VolumeLocation Volume { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Plain file whose bytes become the volume's logical content.</summary>
    public required string InputPath { get; init; }
    /// <summary>First logical 512-byte sector to write at; must be block aligned.</summary>
    public ulong OffsetSectors { get; init; }
}

public sealed class WriteResult
{
    public required string Path { get; init; }
    public required ulong StartSector { get; init; }
    public required ulong SectorsWritten { get; init; }
    public required ulong BlocksWritten { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Tag algorithm the tags were written with, when the caller records it.</summary>
    public string? Algorithm { get; private set; }
    /// <summary>Path of the key file of a keyed algorithm, when the caller knows it (never the key itself).</summary>
    public string? KeyFile { get; private set; }

    /// <summary>This result with the algorithm and key file used, so the next command can bind them by property name.</summary>
    public WriteResult WithAlgorithm(string? algorithm, string? keyFile)
    {
        var copy = (WriteResult)MemberwiseClone();
        copy.Algorithm = algorithm;
        copy.KeyFile = keyFile;
        return copy;
    }
}

/// <summary>Outcome of a format: the new volume and how its tags were initialised.</summary>
public sealed class FormatResult
{
    public required VolumeInfo Volume { get; init; }
    /// <summary>"tags-only" (data area read as zeros), "full" (data area zeroed), "none" (no-wipe: kernel recalculates).</summary>
    public required string TagInitialization { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>True when the result only predicts the format (nothing written, -WhatIf).</summary>
    public bool WhatIf { get; init; }
}
