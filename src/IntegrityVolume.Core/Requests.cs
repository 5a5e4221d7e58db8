using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Hashing;

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

    /// <summary>
    /// The guard of every command that writes a closed volume: DeviceInUse when the kernel uses the device or the
    /// data device (mounted, backing a loop device, held by a mapping); <paramref name="refusal"/> ends the message.
    /// </summary>
    public void ThrowIfInUse(string refusal)
    {
        foreach (var path in new[] { Path, DataDevicePath })
            if (path is not null && DeviceUsage.FindUser(path) is { } user)
                throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy, $"{path} is in use ({user}); {refusal}.", path);
    }

    /// <summary>When another ivol/module process holds the device's lock, wait for it instead of failing with DeviceInUse.</summary>
    public bool WaitForLock { get; init; }
}

/// <summary>Algorithm and key of the tags: not stored on disk, so the user supplies them.</summary>
public record IntegrityAlgorithmSpec
{
    public TagAlgorithm Algorithm { get; init; } = TagAlgorithm.Default;
    /// <summary>Key for keyed algorithms (hmac-*); owned by whoever read it (see <see cref="IntegrityKey"/>).</summary>
    public IntegrityKey? Key { get; init; }

    /// <summary>The key rule: KeyRequired / KeyNotAllowed.</summary>
    public void Validate() => Algorithm.ValidateKey(Key);
}

/// <summary>The checks of request fields that every front end shares; each names both front ends' spelling.</summary>
internal static class RequestChecks
{
    public const string JournalKeyOption = "--journal-integrity-key-file / -JournalIntegrityKeyFile";

    /// <summary>journal_mac: a key needs the algorithm (else it would be dropped), and the algorithm's key rule.</summary>
    public static void JournalIntegrity(TagAlgorithm? algorithm, IntegrityKey? key)
    {
        if (algorithm is not null) algorithm.ValidateKey(key, JournalKeyOption);
        else if (key is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"A journal integrity key ({JournalKeyOption}) needs the journal integrity algorithm (--journal-integrity / -JournalIntegrity, e.g. hmac-sha256).");
    }

    /// <summary>Worker threads: 0 means one per core; negative is a mistake, not "automatic".</summary>
    public static void Threads(int threads)
    {
        if (threads < 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Threads {threads} (--threads / -ThrottleLimit) must be 0 (one per core) or more.");
    }
}

/// <summary>Offline verify. Disposing it disposes the keys it carries.</summary>
public sealed record VerifyRequest : IDisposable
{
    public required VolumeLocation Volume { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Worker threads; 0 = one per core.</summary>
    public int Threads { get; init; }
    /// <summary>journal_mac algorithm and key; with FIXED_HMAC the superblock MAC is checked as the kernel does (sb_mac).</summary>
    public TagAlgorithm? JournalIntegrity { get; init; }
    public IntegrityKey? JournalIntegrityKey { get; init; }
    /// <summary>journal_crypt cipher (cbc-aes, ctr-aes, or the kernel's spelling) and key: the journal is decrypted to be checked.</summary>
    public string? JournalCrypt { get; init; }
    public IntegrityKey? JournalCryptKey { get; init; }
    /// <summary>Stop collecting ranges past this many mismatched blocks (counts stay exact).</summary>
    public int MaxReportedRanges { get; init; } = 100_000;

    /// <summary>Every check that needs no device: the key rules, a journal key without its algorithm, the thread count.</summary>
    public void Validate()
    {
        Integrity.Validate();
        RequestChecks.JournalIntegrity(JournalIntegrity, JournalIntegrityKey);
        if ((JournalCrypt is null) != (JournalCryptKey is null))
            throw new IntegrityVolumeException(JournalCrypt is null ? ErrorIds.KeyNotAllowed : ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                JournalCrypt is null ? "A journal cipher key needs its cipher (--journal-crypt / -JournalCrypt)."
                    : $"The journal cipher {JournalCrypt} needs its key (--journal-crypt-key-file / -JournalCryptKeyFile).", JournalCrypt);
        RequestChecks.Threads(Threads);
    }

    public void Dispose() { Integrity.Key?.Dispose(); JournalIntegrityKey?.Dispose(); JournalCryptKey?.Dispose(); }
}

/// <summary>Format. Disposing it disposes the keys it carries.</summary>
public sealed record FormatRequest : IDisposable
{
    public required VolumeLocation Volume { get; init; }
    /// <summary>Create the image file with this size (bytes) first; it must not exist unless <see cref="Force"/>.</summary>
    public long? CreateSizeBytes { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Bytes per tag; null or 0 = the algorithm's digest size (integritysetup's --tag-size 0).</summary>
    public int? TagSize { get; init; }
    /// <summary>The tag size the superblock gets: <see cref="TagSize"/>, or the algorithm's digest size for null or 0.</summary>
    public int ResolvedTagSize => TagSize is int t and not 0 ? t : Integrity.Algorithm.DigestSize;
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
    public TagAlgorithm? JournalIntegrity { get; init; }
    public IntegrityKey? JournalIntegrityKey { get; init; }
    /// <summary>
    /// journal_crypt cipher (integritysetup's cbc-aes or the kernel's cbc(aes)) and its key: the kernel writes the
    /// initial journal encrypted, so only the kernel-side format (KernelFormatter) takes it. Nothing records it.
    /// </summary>
    public string? JournalCrypt { get; init; }
    public IntegrityKey? JournalCryptKey { get; init; }
    /// <summary>Format through the kernel's dm-integrity target (--kernel), as integritysetup does; needs root and device-mapper.</summary>
    public bool ThroughKernel { get; init; }
    /// <summary>Whether the kernel formats: when asked, and always with <see cref="JournalCrypt"/> (init_journal encrypts the
    /// initial journal through journal_crypt; only the kernel writes one).</summary>
    public bool FormatsThroughKernel => ThroughKernel || JournalCrypt is not null;
    /// <summary>journal_watermark: and commit_time: of the format table (integritysetup passes them; nothing stores them).</summary>
    public uint? JournalWatermark { get; init; }
    public uint? CommitTimeMs { get; init; }
    /// <summary>Bitmap granularity in sectors (recorded as log2_blocks_per_bitmap_bit).</summary>
    public ulong? BitmapSectorsPerBit { get; init; }
    /// <summary>Skip tag initialisation; the volume is marked RECALCULATING so the kernel computes the tags.</summary>
    public bool NoWipe { get; init; }
    /// <summary>Overwrite a device that carries a known signature (filesystem, LUKS, integrity superblock, ...).</summary>
    public bool Force { get; init; }
    /// <summary>Salt to use instead of a random one (reproducing an existing image).</summary>
    public byte[]? Salt { get; init; }

    /// <summary>
    /// Every check that needs no device: the key rule of the tags (not with NoWipe: no tag is computed, the kernel
    /// recalculates), the journal MAC's, a journal key without its algorithm, a size that is not positive.
    /// </summary>
    public void Validate()
    {
        if (!NoWipe) Integrity.Validate();
        RequestChecks.JournalIntegrity(JournalIntegrity, JournalIntegrityKey);
        if (JournalCrypt is null && JournalCryptKey is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "A journal encryption key (--journal-crypt-key-file / -JournalCryptKeyFile) needs the journal cipher (--journal-crypt / -JournalCrypt, e.g. cbc-aes).");
        if (JournalCrypt is not null && JournalCryptKey is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"The journal cipher {JournalCrypt} needs its key (--journal-crypt-key-file / -JournalCryptKeyFile).", JournalCrypt);
        if (JournalCrypt is not null) TagAlgorithm.ToKernelName(JournalCrypt);
        if (JournalWatermark > 100)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"The journal watermark {JournalWatermark} (--journal-watermark) is a percentage (0 to 100).");
        if (CreateSizeBytes is long size && size <= 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"The image size {size} (--size / -Size) must be a positive number of bytes.", Volume.Path);
    }

    public void Dispose() { Integrity.Key?.Dispose(); JournalIntegrityKey?.Dispose(); JournalCryptKey?.Dispose(); }
}

/// <summary>Offline write. Disposing it disposes the key it carries.</summary>
public sealed record WriteRequest : IDisposable
{
    public required VolumeLocation Volume { get; init; }
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Plain file whose bytes become the volume's logical content.</summary>
    public required string InputPath { get; init; }
    /// <summary>First logical 512-byte sector to write at; must be block aligned.</summary>
    public ulong OffsetSectors { get; init; }
    /// <summary>The volume's journal_mac (HAVE_JOURNAL_MAC): needed to write through the journal, whose sections carry its MAC.</summary>
    public TagAlgorithm? JournalIntegrity { get; init; }
    public IntegrityKey? JournalIntegrityKey { get; init; }

    /// <summary>Every check that needs no device: the key rules.</summary>
    public void Validate()
    {
        Integrity.Validate();
        RequestChecks.JournalIntegrity(JournalIntegrity, JournalIntegrityKey);
    }

    public void Dispose() { Integrity.Key?.Dispose(); JournalIntegrityKey?.Dispose(); }

    /// <summary>Write although the algorithm or key could not be proven on the volume, or another write was interrupted (warns).</summary>
    public bool Force { get; init; }
}

public sealed class WriteResult
{
    public required string Path { get; init; }
    public required ulong StartSector { get; init; }
    public required ulong SectorsWritten { get; init; }
    public required ulong BlocksWritten { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>What --force overrode, and interrupted writes this one finished.</summary>
    public string[] Warnings { get; init; } = [];
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
