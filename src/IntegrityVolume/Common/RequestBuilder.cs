using System.Globalization;
using System.Security.Cryptography;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Common;

/// <summary>
/// The intake rules the cmdlets share when they build Core requests, plus the texts ShouldProcess shows. SMA-free so
/// xunit runs it. Requests own their keys: dispose them (or the spec's Key) when done.
/// </summary>
internal static class RequestBuilder
{
    public const string FormatAction = "Format dm-integrity volume";

    /// <summary>
    /// -JournalIntegrity and -JournalIntegrityKeyFile (a resolved path): the trimmed algorithm (null when not given)
    /// and the key. Intake only: Core's requests check that a key has its algorithm (RequestChecks.JournalIntegrity).
    /// </summary>
    public static (TagAlgorithm? Algorithm, IntegrityKey? Key) JournalIntegrity(string? journalIntegrity, string? journalKeyFile) =>
        (string.IsNullOrWhiteSpace(journalIntegrity) ? null : TagAlgorithm.Parse(journalIntegrity.Trim()),
         journalKeyFile is null ? null : KeyFile.Read(journalKeyFile, "-JournalIntegrityKeyFile"));

    /// <summary>New-IntegrityVolume -Size: a positive number of bytes (null when not given).</summary>
    public static long? CreateSize(long? size, string path) => size is long s && s <= 0
        ? throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument, $"-Size {s} must be a positive number of bytes.", path)
        : size;

    /// <summary>An image file to create needs an existing parent folder (checked before ShouldProcess, so -WhatIf says so too).</summary>
    public static void RequireParentFolder(string path)
    {
        string? folder = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound,
                $"Cannot create {path}: the folder {folder} does not exist.", path);
    }

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
