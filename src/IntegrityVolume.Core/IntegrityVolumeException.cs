namespace IntegrityVolume.Core;

/// <summary>What kind of failure an <see cref="IntegrityVolumeException"/> is; the module maps it to an ErrorCategory.</summary>
public enum ErrorKind
{
    InvalidArgument,
    InvalidData,
    NotFound,
    ResourceExists,
    ResourceBusy,
    PermissionDenied,
    NotSupported,
    DeviceError,
    OperationStopped,
}

/// <summary>
/// Every failure the engine reports. <see cref="ErrorId"/> is stable (tests and scripts match on it);
/// the message is for people.
/// </summary>
public class IntegrityVolumeException : Exception
{
    public IntegrityVolumeException(string errorId, ErrorKind kind, string message, string? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public ErrorKind Kind { get; }
    /// <summary>The device, file or volume name the error is about.</summary>
    public string? Target { get; }
}

/// <summary>The stable error ids of the engine. Never rename one: scripts match on them.</summary>
public static class ErrorIds
{
    // Superblock validation (kernel rules in dm_integrity_ctr).
    public const string SuperblockBadMagic = "SuperblockBadMagic";
    public const string SuperblockUnknownVersion = "SuperblockUnknownVersion";
    public const string SuperblockBadTagSize = "SuperblockBadTagSize";
    public const string SuperblockBadBlockSize = "SuperblockBadBlockSize";
    public const string SuperblockBadInterleave = "SuperblockBadInterleave";
    /// <summary>A data device given for an interleaved volume, or none for a volume formatted with one (the superblock is fine).</summary>
    public const string DataDeviceMismatch = "DataDeviceMismatch";
    public const string SuperblockBadJournalSections = "SuperblockBadJournalSections";
    public const string SuperblockUnknownFlags = "SuperblockUnknownFlags";
    public const string SuperblockProvidedSectorsTooLarge = "SuperblockProvidedSectorsTooLarge";
    public const string SuperblockBadProvidedSectors = "SuperblockBadProvidedSectors";
    public const string SuperblockMacMismatch = "SuperblockMacMismatch";
    public const string InlineModeNotSupported = "InlineModeNotSupported";

    // Devices and files.
    public const string DeviceNotFound = "DeviceNotFound";
    public const string DeviceTooSmall = "DeviceTooSmall";
    public const string DeviceTruncated = "DeviceTruncated";
    public const string DeviceReadFailed = "DeviceReadFailed";
    public const string DeviceWriteFailed = "DeviceWriteFailed";
    public const string DeviceInUse = "DeviceInUse";
    public const string DeviceAccessDenied = "DeviceAccessDenied";
    public const string ExistingSignature = "ExistingSignature";
    public const string FileExists = "FileExists";

    // Algorithms and keys.
    public const string UnknownAlgorithm = "UnknownAlgorithm";
    public const string KeyRequired = "KeyRequired";
    public const string KeyNotAllowed = "KeyNotAllowed";
    public const string KeyFileInvalid = "KeyFileInvalid";
    public const string TagSizeMismatch = "TagSizeMismatch";
    public const string AlgorithmMismatch = "AlgorithmMismatch";

    // Parameters.
    public const string InvalidParameter = "InvalidParameter";
    public const string InvalidSize = "InvalidSize";

    // Journal and state.
    public const string JournalPending = "JournalPending";
    public const string JournalUnreadable = "JournalUnreadable";
    public const string JournalMacMismatch = "JournalMacMismatch";
    public const string VolumeDirty = "VolumeDirty";

    public const string OperationCancelled = "OperationCancelled";

    // Bad paths and last-resort failures (issue 12 defect 8).
    public const string PathIsDirectory = "PathIsDirectory";
    public const string IoError = "IoError";
    public const string InternalError = "InternalError";
    // Writes: bounds, proof of algorithm and key, interrupted writes (issue 12).
    public const string OffsetOutOfRange = "OffsetOutOfRange";
    public const string KeyMismatch = "KeyMismatch";
    public const string WriteInterrupted = "WriteInterrupted";
}
