using System.Text;

namespace IntegrityVolume.Core.Boot;

/// <summary>The boot configuration files ivol writes (integritytab, mdadm.conf): replaced whole, never half written.</summary>
internal static class BootFile
{
    /// <summary>
    /// Write atomically: a temporary file beside the target (through a symlink, beside its final target), flushed to
    /// disk, given the old file's mode (0644 for a new one), then renamed over it, so a reader or a crash never sees
    /// half a file. Failures are <paramref name="errorId"/> (the caller's file: integritytab, mdadm.conf).
    /// </summary>
#pragma warning disable CA1416 // Unix file modes: these boot files exist on Linux only.
    public static void WriteAtomically(string path, string text, string errorId)
    {
        string target = path;
        string? tmp = null;
        try
        {
            if (new FileInfo(path).LinkTarget is not null && File.ResolveLinkTarget(path, returnFinalTarget: true) is { } final)
                target = final.FullName;
            string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(target))!;
            if (!Directory.Exists(dir))
                throw new IntegrityVolumeException(errorId, ErrorKind.NotFound, $"{path}: directory {dir} does not exist.", path);
            tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            var mode = File.Exists(target) ? File.GetUnixFileMode(target)
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            var bytes = new UTF8Encoding(false).GetBytes(text);
            using (var fs = new FileStream(tmp, new FileStreamOptions
                   { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(tmp, mode); // the umask may have narrowed it
            File.Move(tmp, target, overwrite: true);
            tmp = null;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IntegrityVolumeException(errorId, ErrorKind.PermissionDenied, $"{path}: {ex.Message}", path, ex);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(errorId, ErrorKind.DeviceError, $"{path}: {ex.Message}", path, ex);
        }
        finally
        {
            if (tmp is not null) try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

#pragma warning restore CA1416
}
