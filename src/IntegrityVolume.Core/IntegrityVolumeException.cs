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
