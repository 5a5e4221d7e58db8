using System.Globalization;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Engine;

/// <summary>New-IntegrityVolume's parameters after path resolution (every path is a file-system path).</summary>
internal sealed record FormatParameters
{
    public required string Path { get; init; }
    public long? Size { get; init; }
    public string Algorithm { get; init; } = RequestBuilder.DefaultAlgorithm;
    public string? KeyFile { get; init; }
    public int? TagSize { get; init; }
    public int SectorSize { get; init; } = 512;
    public long? JournalSize { get; init; }
    public ulong? InterleaveSectors { get; init; }
    public bool LegacyPadding { get; init; }
    public bool LegacyHmac { get; init; }
    public string? JournalIntegrity { get; init; }
    public string? JournalIntegrityKeyFile { get; init; }
    public ulong? BitmapSectorsPerBit { get; init; }
    public string? DataDevice { get; init; }
    public ulong ReservedSectors { get; init; }
    public bool NoWipe { get; init; }
    public bool Force { get; init; }
}

/// <summary>Get-IntegrityVolume's and Test-IntegrityVolume's per-volume parameters after path resolution.</summary>
internal sealed record VolumeParameters
{
    public required string Path { get; init; }
    public string? DataDevice { get; init; }
    public ulong ReservedSectors { get; init; }
    public string Algorithm { get; init; } = RequestBuilder.DefaultAlgorithm;
    public string? KeyFile { get; init; }
    /// <summary>Test-IntegrityVolume -JournalIntegrity: journal_mac algorithm; checks the superblock MAC (sb_mac).</summary>
    public string? JournalIntegrity { get; init; }
    public string? JournalIntegrityKeyFile { get; init; }
    /// <summary>Test-IntegrityVolume -ThrottleLimit: worker threads, 0 = one per core.</summary>
    public int ThrottleLimit { get; init; }
}

/// <summary>Write-IntegrityVolumeData's parameters after path resolution.</summary>
internal sealed record WriteParameters
{
    public required string Path { get; init; }
    public required string InputPath { get; init; }
    public ulong OffsetSector { get; init; }
    public string? DataDevice { get; init; }
    public ulong ReservedSectors { get; init; }
    public string Algorithm { get; init; } = RequestBuilder.DefaultAlgorithm;
    public string? KeyFile { get; init; }
}

/// <summary>
/// Parameter → Core request mapping for every cmdlet, plus the texts ShouldProcess shows. SMA-free so xunit
/// runs it. Requests built here carry keys: dispose the request when done.
/// </summary>
internal static class RequestBuilder
{
    public const string DefaultAlgorithm = TagAlgorithm.DefaultName;
    public const string FormatAction = "Format dm-integrity volume";

    public static VolumeLocation Location(string path, string? dataDevice, ulong reservedSectors) => new()
    {
        Path = path,
        DataDevicePath = string.IsNullOrEmpty(dataDevice) ? null : dataDevice,
        ReservedSectors = reservedSectors,
    };

    public static IntegrityAlgorithmSpec Integrity(string? algorithm, string? keyFile, string keyParameter = "KeyFile") => new()
    {
        Algorithm = TagAlgorithm.ParseOrDefault(algorithm),
        Key = keyFile is null ? null : KeyFile.Read(keyFile, "-" + keyParameter),
    };

    private static void RequireJournalAlgorithm(string? journalIntegrity, string? journalKeyFile)
    {
        if (journalKeyFile is not null && string.IsNullOrWhiteSpace(journalIntegrity))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "-JournalIntegrityKeyFile needs -JournalIntegrity (the journal MAC algorithm, e.g. hmac-sha256).", journalKeyFile);
    }

    public static FormatRequest Format(FormatParameters p)
    {
        RequireJournalAlgorithm(p.JournalIntegrity, p.JournalIntegrityKeyFile);
        if (p.Size is long size && size <= 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"-Size {size} must be a positive number of bytes.", p.Path);
        var journalAlgorithm = string.IsNullOrWhiteSpace(p.JournalIntegrity) ? null : TagAlgorithm.Parse(p.JournalIntegrity);
        var integrity = Integrity(p.Algorithm, p.KeyFile);
        IntegrityKey? journalKey = null;
        try
        {
            journalKey = p.JournalIntegrityKeyFile is null ? null : KeyFile.Read(p.JournalIntegrityKeyFile, "-JournalIntegrityKeyFile");
        }
        catch
        {
            integrity.Key?.Dispose();
            throw;
        }
        return new FormatRequest
        {
            Volume = Location(p.Path, p.DataDevice, p.ReservedSectors),
            CreateSizeBytes = p.Size,
            Integrity = integrity,
            TagSize = p.TagSize,
            SectorSize = p.SectorSize,
            JournalSizeBytes = p.JournalSize,
            InterleaveSectors = p.InterleaveSectors,
            LegacyPadding = p.LegacyPadding,
            LegacyHmac = p.LegacyHmac,
            JournalIntegrity = journalAlgorithm,
            JournalIntegrityKey = journalKey,
            BitmapSectorsPerBit = p.BitmapSectorsPerBit,
            NoWipe = p.NoWipe,
            Force = p.Force,
        };
    }

    public static VolumeLocation Inspect(VolumeParameters p) => Location(p.Path, p.DataDevice, p.ReservedSectors);

    public static VerifyRequest Verify(VolumeParameters p)
    {
        if (p.ThrottleLimit < 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"-ThrottleLimit {p.ThrottleLimit} must be 0 (one thread per processor) or more.");
        RequireJournalAlgorithm(p.JournalIntegrity, p.JournalIntegrityKeyFile);
        var journalAlgorithm = string.IsNullOrWhiteSpace(p.JournalIntegrity) ? null : TagAlgorithm.Parse(p.JournalIntegrity);
        var integrity = Integrity(p.Algorithm, p.KeyFile);
        try
        {
            return new VerifyRequest
            {
                Volume = Location(p.Path, p.DataDevice, p.ReservedSectors),
                Integrity = integrity,
                Threads = p.ThrottleLimit,
                JournalIntegrity = journalAlgorithm,
                JournalIntegrityKey = p.JournalIntegrityKeyFile is null ? null : KeyFile.Read(p.JournalIntegrityKeyFile, "-JournalIntegrityKeyFile"),
            };
        }
        catch
        {
            integrity.Key?.Dispose();
            throw;
        }
    }

    public static WriteRequest Write(WriteParameters p) => new()
    {
        Volume = Location(p.Path, p.DataDevice, p.ReservedSectors),
        Integrity = Integrity(p.Algorithm, p.KeyFile),
        InputPath = p.InputPath,
        OffsetSectors = p.OffsetSector,
    };

    /// <summary>ShouldProcess target of New-IntegrityVolume: "path (N bytes)" [+ data device].</summary>
    public static string FormatTarget(FormatRequest request, VolumeInfo planned)
    {
        string target = string.Create(CultureInfo.InvariantCulture, $"{request.Volume.Path} ({planned.DeviceBytes} bytes)");
        return request.Volume.DataDevicePath is { } data ? $"{target} with data device {data}" : target;
    }

    /// <summary>ShouldProcess action of Write-IntegrityVolumeData; the target is the volume path.</summary>
    public static string WriteAction(WriteRequest request)
    {
        long length = File.Exists(request.InputPath) ? new FileInfo(request.InputPath).Length : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"Write {length} bytes from '{request.InputPath}' at sector {request.OffsetSectors} (data and tags)");
    }
}

/// <summary>The three strings of ShouldProcess(description, warning, caption, out reason), worded like PowerShell's own.</summary>
internal sealed record ShouldProcessText(string Description, string Warning, string Caption)
{
    public static ShouldProcessText For(string target, string action)
    {
        string description = $"Performing the operation \"{action}\" on target \"{target}\".";
        return new ShouldProcessText(description, "Are you sure you want to perform this action?" + Environment.NewLine + description, "Confirm");
    }
}
