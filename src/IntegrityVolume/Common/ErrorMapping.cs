using IntegrityVolume.Core;

namespace IntegrityVolume.Common;

/// <summary>
/// The subset of System.Management.Automation.ErrorCategory the module uses, with the same names and numeric
/// values, so this file needs no SMA reference. The cmdlet layer casts it: <c>(ErrorCategory)(int)category</c>.
/// A reflection test compares every member with the real enum.
/// </summary>
internal enum ErrorCategoryName
{
    NotSpecified = 0,
    OpenError = 1,
    DeviceError = 3,
    InvalidArgument = 5,
    InvalidData = 6,
    InvalidOperation = 7,
    NotImplemented = 11,
    NotInstalled = 12,
    ObjectNotFound = 13,
    OperationStopped = 14,
    PermissionDenied = 18,
    ResourceBusy = 19,
    ResourceExists = 20,
    ResourceUnavailable = 21,
    ReadError = 22,
    WriteError = 23,
}

/// <summary>Error ids the module adds to <see cref="ErrorIds"/> (for failures that never reach Core).</summary>
internal static class ModuleErrorIds
{
    /// <summary>A -Path resolved to a provider other than the file system (e.g. Env:, HKLM:).</summary>
    public const string PathNotFileSystem = "PathNotFileSystem";
    /// <summary>A parameter that takes one item matched several (wildcards).</summary>
    public const string PathAmbiguous = "PathAmbiguous";
}

/// <summary>An exception translated into what an ErrorRecord needs.</summary>
internal sealed record MappedError(string ErrorId, ErrorCategoryName Category, string? Target, Exception Exception);

/// <summary>
/// How classified failures become PowerShell errors: Core's <see cref="ErrorClassifier"/> gives the id and kind,
/// this maps the kind (and a few ids) to an ErrorCategory. Pure: no SMA, no I/O.
/// </summary>
internal static class ErrorMapping
{
    /// <summary>ErrorKind → ErrorCategory. Every ErrorKind member must appear (a test enumerates the enum).</summary>
    public static readonly IReadOnlyDictionary<ErrorKind, ErrorCategoryName> KindToCategory = new Dictionary<ErrorKind, ErrorCategoryName>
    {
        [ErrorKind.InvalidArgument] = ErrorCategoryName.InvalidArgument,
        [ErrorKind.InvalidData] = ErrorCategoryName.InvalidData,
        [ErrorKind.NotFound] = ErrorCategoryName.ObjectNotFound,
        [ErrorKind.ResourceExists] = ErrorCategoryName.ResourceExists,
        [ErrorKind.ResourceBusy] = ErrorCategoryName.ResourceBusy,
        [ErrorKind.PermissionDenied] = ErrorCategoryName.PermissionDenied,
        [ErrorKind.NotSupported] = ErrorCategoryName.NotImplemented,
        [ErrorKind.DeviceError] = ErrorCategoryName.DeviceError,
        [ErrorKind.OperationStopped] = ErrorCategoryName.OperationStopped,
    };

    /// <summary>Ids whose category is more precise than their kind's.</summary>
    public static readonly IReadOnlyDictionary<string, ErrorCategoryName> IdOverrides = new Dictionary<string, ErrorCategoryName>(StringComparer.Ordinal)
    {
        [ErrorIds.DeviceReadFailed] = ErrorCategoryName.ReadError,
        [ErrorIds.DeviceWriteFailed] = ErrorCategoryName.WriteError,
        // Kernel layer: a missing facility is not "not implemented" (the kind's category) but unavailable here.
        [ErrorIds.DeviceMapperUnavailable] = ErrorCategoryName.ResourceUnavailable,
        [ErrorIds.LoopDeviceUnavailable] = ErrorCategoryName.ResourceUnavailable,
        [ErrorIds.IntegrityTargetUnavailable] = ErrorCategoryName.NotInstalled,
        [ErrorIds.FileSystemToolMissing] = ErrorCategoryName.NotInstalled,
        [ErrorIds.MdadmMissing] = ErrorCategoryName.NotInstalled,
        [ErrorIds.CryptsetupMissing] = ErrorCategoryName.NotInstalled,
    };

    public static ErrorCategoryName CategoryFor(string errorId, ErrorKind kind) =>
        IdOverrides.TryGetValue(errorId, out var c) ? c
        : KindToCategory.TryGetValue(kind, out c) ? c
        : ErrorCategoryName.NotSpecified;

    /// <summary>
    /// True when the exception ends the operation quietly: the user pressed Ctrl+C (our token is cancelled) and
    /// the engine reacted with a cancellation (<see cref="ErrorClassifier.IsCancellation"/>).
    /// </summary>
    public static bool IsQuietCancellation(Exception ex, bool cancellationRequested) =>
        cancellationRequested && ErrorClassifier.IsCancellation(ex);

    /// <summary>
    /// Translate an exception with Core's classifier (the one both front ends use). Returns null for anything else
    /// (bugs, and PowerShell's own flow-control exceptions such as PipelineStoppedException), which must propagate.
    /// <paramref name="fallbackTarget"/> is the item being processed, used when the exception names none.
    /// </summary>
    public static MappedError? TryMap(Exception ex, string? fallbackTarget) =>
        ErrorClassifier.Classify(ex, fallbackTarget) is { } c ? new MappedError(c.ErrorId, CategoryFor(c.ErrorId, c.Kind), c.Target, c.Exception) : null;
}
