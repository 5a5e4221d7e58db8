namespace IntegrityVolume.Core;

/// <summary>
/// The exit codes of ivol, in one table: integritysetup's spirit (0 success) but 1 means "corruption found", never
/// a usage error. <see cref="ErrorClassifier"/> assigns them to failures; the CLI only returns them.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0, CorruptionFound = 1, UsageError = 2, IoError = 3, PermissionDenied = 4, Busy = 5;
    /// <summary>verify found nothing wrong but could not check everything (VerifyVerdict.Incomplete): neither 0 nor 1.</summary>
    public const int Incomplete = 6;
    /// <summary>An exception no command expected (a bug): EX_SOFTWARE of sysexits.h, never 1.</summary>
    public const int InternalFailure = 70;
    /// <summary>Ctrl+C, SIGTERM, SIGHUP (128 + SIGINT).</summary>
    public const int Cancelled = 130;

    /// <summary>The exit code of a verification verdict: 0 healthy, 1 corrupt, 6 incomplete.</summary>
    public static int Of(VerifyVerdict verdict) => verdict switch
    {
        VerifyVerdict.Healthy => Success,
        VerifyVerdict.Corrupt => CorruptionFound,
        _ => Incomplete,
    };

    /// <summary>The exit code of a failure of this kind.</summary>
    public static int Of(ErrorKind kind) => kind switch
    {
        ErrorKind.DeviceError => IoError,
        ErrorKind.PermissionDenied => PermissionDenied,
        ErrorKind.ResourceBusy => Busy,
        ErrorKind.OperationStopped => Cancelled,
        _ => UsageError,
    };
}

/// <summary>
/// A failure as both front ends report it: the stable id, its kind (the module maps it to an ErrorCategory), the
/// target, and the exception to show (an <see cref="IntegrityVolumeException"/> with our words; a framework
/// exception it replaces is its inner exception).
/// </summary>
public sealed record ClassifiedError(string ErrorId, ErrorKind Kind, string? Target, Exception Exception)
{
    public string Message => Exception.Message;
    /// <summary>What ivol exits with for this failure.</summary>
    public int ExitCode => ExitCodes.Of(Kind);
}

/// <summary>
/// The one classifier of exceptions, used by the module and by ivol: the engine's own errors keep their id, the
/// framework exceptions an operation can meet (cancellation, permissions, missing files, other I/O, numbers too
/// large) get a stable id. Anything else is a bug (or PowerShell's flow control) and is not classified.
/// </summary>
public static class ErrorClassifier
{
    /// <summary>Classify <paramref name="ex"/>; null when it must propagate. <paramref name="fallbackTarget"/> is the item being processed.</summary>
    public static ClassifiedError? Classify(Exception ex, string? fallbackTarget = null) => ex switch
    {
        IntegrityVolumeException ive => new ClassifiedError(ive.ErrorId, ive.Kind, ive.Target ?? fallbackTarget, ive),
        OperationCanceledException => Wrap(ErrorIds.OperationCancelled, ErrorKind.OperationStopped, fallbackTarget, "The operation was cancelled.", ex),
        // .NET's own texts ("Access to the path ... is denied.") are replaced by ours; the original stays the inner exception.
        UnauthorizedAccessException => Wrap(ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied, fallbackTarget,
            About(fallbackTarget, "permission denied (the file system or its permissions refuse access).", ex), ex),
        FileNotFoundException fnf => Wrap(ErrorIds.DeviceNotFound, ErrorKind.NotFound, fnf.FileName ?? fallbackTarget,
            About(fnf.FileName ?? fallbackTarget, "no such device or file.", ex), ex),
        DirectoryNotFoundException => Wrap(ErrorIds.DeviceNotFound, ErrorKind.NotFound, fallbackTarget,
            About(fallbackTarget, "no such device or file (a folder on the path is missing).", ex), ex),
        IOException => Wrap(ErrorIds.IoError, ErrorKind.DeviceError, fallbackTarget, ex.Message, ex),
        // A number on the command line or on disk too large for the arithmetic: an input error, not a crash.
        OverflowException => Wrap(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, fallbackTarget, $"A number is too large ({ex.Message}).", ex),
        _ => null,
    };

    /// <summary>
    /// True when the exception is a cancellation: OperationCanceledException, the engine's OperationCancelled, or an
    /// AggregateException of nothing else. A front end ends quietly when its own token was cancelled too.
    /// </summary>
    public static bool IsCancellation(Exception ex) => ex switch
    {
        OperationCanceledException => true,
        IntegrityVolumeException ive => ive.ErrorId == ErrorIds.OperationCancelled,
        AggregateException ae => ae.Flatten().InnerExceptions.All(IsCancellation),
        _ => false,
    };

    private static ClassifiedError Wrap(string id, ErrorKind kind, string? target, string message, Exception inner) =>
        new(id, kind, target, new IntegrityVolumeException(id, kind, message, target, inner));

    /// <summary>"target: what." when the target is known; otherwise our words and the framework's (which name the path).</summary>
    private static string About(string? target, string what, Exception ex) =>
        target is not null ? $"{target}: {what}" : $"{char.ToUpperInvariant(what[0])}{what[1..^1]}: {ex.Message}";
}
