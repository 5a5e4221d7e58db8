namespace IntegrityVolume.Core;

/// <summary>
/// Reads key files (-KeyFile, --integrity-key-file, ...) with integritysetup's semantics: raw bytes, no trimming, no
/// hex decoding, at most 4096 bytes; with a key size, exactly that many leading bytes of the file. The key comes back
/// as an <see cref="IntegrityKey"/> the caller disposes; the read buffer is zeroed before this returns.
/// </summary>
public static class KeyFile
{
    /// <summary>Largest key accepted. The kernel's HMAC keys are far shorter; anything bigger is a wrong file.</summary>
    public const int MaxBytes = 4096;

    /// <summary>
    /// Read the key at <paramref name="path"/> (an already-resolved file-system path); <paramref name="option"/> names
    /// the parameter in messages (e.g. "-KeyFile", "--integrity-key-file"). Every failure is an
    /// <see cref="IntegrityVolumeException"/> with id <see cref="ErrorIds.KeyFileInvalid"/>; its kind tells why
    /// (NotFound, PermissionDenied, InvalidData) and its target is the path.
    /// </summary>
    public static IntegrityKey Read(string path, string option, int? size = null)
    {
        string parameterName = option;
        if (size is < 1 or > MaxBytes)
            throw Invalid(ErrorKind.InvalidArgument, $"{option}: key size {size} is out of range (1 to {MaxBytes}).", path);
        if (string.IsNullOrEmpty(path))
            throw Invalid(ErrorKind.InvalidArgument, $"{parameterName}: the key file path is empty.", path);
        if (Directory.Exists(path))
            throw Invalid(ErrorKind.InvalidArgument, $"{parameterName}: '{path}' is a directory, not a key file.", path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.None);
            // Read one byte past the limit instead of trusting Length: /dev/stdin, FIFOs and procfs report 0.
            var buffer = GC.AllocateArray<byte>(MaxBytes + 1, pinned: true);
            int total = 0, n;
            while (total < buffer.Length && (n = fs.Read(buffer, total, buffer.Length - total)) > 0)
                total += n;
            try
            {
                if (total > MaxBytes)
                    throw Invalid(ErrorKind.InvalidData, $"{parameterName}: '{path}' is larger than {MaxBytes} bytes; a key file holds only the raw key.", path);
                if (total == 0)
                    throw Invalid(ErrorKind.InvalidData, $"{parameterName}: '{path}' is empty.", path);
                if (size is int want)
                {
                    if (total < want)
                        throw Invalid(ErrorKind.InvalidData, $"{parameterName}: '{path}' has {total} bytes, fewer than the key size {want}.", path);
                    total = want;
                }
                return new IntegrityKey(buffer.AsSpan(0, total));
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer);
            }
        }
        catch (FileNotFoundException ex)
        {
            throw Invalid(ErrorKind.NotFound, $"{parameterName}: key file '{path}' not found.", path, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw Invalid(ErrorKind.NotFound, $"{parameterName}: key file '{path}' not found.", path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw Invalid(ErrorKind.PermissionDenied, $"{parameterName}: permission denied reading key file '{path}'.", path, ex);
        }
        catch (IOException ex)
        {
            throw Invalid(ErrorKind.DeviceError, $"{parameterName}: cannot read key file '{path}': {ex.Message}", path, ex);
        }
    }

    /// <summary>
    /// A key option as front ends take it: the file (read with <see cref="Read"/>), or nothing; a size without a file
    /// is a usage error (KeyFileInvalid).
    /// </summary>
    public static IntegrityKey? ReadOptional(string? path, int? size, string option)
    {
        if (path is not null) return Read(path, option, size);
        if (size is not null)
            throw Invalid(ErrorKind.InvalidArgument, $"{option}: a key size was given without a key file.", option);
        return null;
    }

    private static IntegrityVolumeException Invalid(ErrorKind kind, string message, string target, Exception? inner = null) =>
        new(ErrorIds.KeyFileInvalid, kind, message, target, inner);
}
