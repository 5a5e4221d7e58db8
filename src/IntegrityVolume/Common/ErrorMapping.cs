using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;

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
    /// <summary>An I/O or access failure the engine did not wrap itself.</summary>
    public const string FileSystemError = "FileSystemError";
}

/// <summary>An exception translated into what an ErrorRecord needs.</summary>
internal sealed record MappedError(string ErrorId, ErrorCategoryName Category, string? Target, Exception Exception);

/// <summary>
/// The one place that decides how failures become PowerShell errors. Pure: no SMA, no I/O.
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
        [KernelErrorIds.DeviceMapperUnavailable] = ErrorCategoryName.ResourceUnavailable,
        [KernelErrorIds.LoopDeviceUnavailable] = ErrorCategoryName.ResourceUnavailable,
        [KernelErrorIds.IntegrityTargetUnavailable] = ErrorCategoryName.NotInstalled,
    };

    public static ErrorCategoryName CategoryFor(IntegrityVolumeException ex) =>
        IdOverrides.TryGetValue(ex.ErrorId, out var c) ? c
        : KindToCategory.TryGetValue(ex.Kind, out c) ? c
        : ErrorCategoryName.NotSpecified;

    /// <summary>
    /// True when the exception ends the operation quietly: the user pressed Ctrl+C (our token is cancelled) and
    /// the engine reacted with OperationCanceledException or its own OperationCancelled error.
    /// </summary>
    public static bool IsQuietCancellation(Exception ex, bool cancellationRequested) =>
        cancellationRequested && ex switch
        {
            OperationCanceledException => true,
            IntegrityVolumeException ive => ive.ErrorId == ErrorIds.OperationCancelled,
            AggregateException ae => ae.Flatten().InnerExceptions.All(e => IsQuietCancellation(e, true)),
            _ => false,
        };

    /// <summary>
    /// Translate an exception the module knows how to report. Returns null for anything else (bugs, and
    /// PowerShell's own flow-control exceptions such as PipelineStoppedException), which must propagate.
    /// <paramref name="fallbackTarget"/> is the item being processed, used when the exception names none.
    /// </summary>
    private static MappedError Wrap(string id, ErrorKind kind, string? target, string message, Exception inner)
    {
        var wrapped = new IntegrityVolumeException(id, kind, message, target, inner);
        return new MappedError(id, CategoryFor(wrapped), target, wrapped);
    }

    public static MappedError? TryMap(Exception ex, string? fallbackTarget) => ex switch
    {
        IntegrityVolumeException ive => new MappedError(ive.ErrorId, CategoryFor(ive), ive.Target ?? fallbackTarget, ive),
        OperationCanceledException => new MappedError(ErrorIds.OperationCancelled, ErrorCategoryName.OperationStopped, fallbackTarget, ex),
        // .NET's own texts ("Access to the path ... is denied.") are replaced by ours; the original stays the inner exception.
        UnauthorizedAccessException => Wrap(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied, fallbackTarget,
            $"{fallbackTarget}: permission denied (the file system or its permissions refuse access).", ex),
        FileNotFoundException fnf => Wrap(ErrorIds.DeviceNotFound, ErrorKind.NotFound, fnf.FileName ?? fallbackTarget,
            $"{fnf.FileName ?? fallbackTarget}: no such device or file.", ex),
        DirectoryNotFoundException => Wrap(ErrorIds.DeviceNotFound, ErrorKind.NotFound, fallbackTarget,
            $"{fallbackTarget}: no such device or file (a folder on the path is missing).", ex),
        IOException => new MappedError(ModuleErrorIds.FileSystemError, ErrorCategoryName.DeviceError, fallbackTarget, ex),
        _ => null,
    };
}
