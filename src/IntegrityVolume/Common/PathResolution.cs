using IntegrityVolume.Core;

namespace IntegrityVolume.Common;

/// <summary>
/// The PowerShell path operations the resolver needs. The cmdlet layer implements it over
/// SessionState.Path (GetUnresolvedProviderPathFromPSPath / GetResolvedProviderPathFromPSPath); tests use a fake.
/// Implementations translate PowerShell's "not found" exceptions (ItemNotFound, DriveNotFound, ProviderNotFound)
/// into <see cref="IntegrityVolumeException"/>s with <see cref="ErrorIds.DeviceNotFound"/>.
/// </summary>
internal interface IProviderPathHost
{
    /// <summary>The provider path for <paramref name="path"/> relative to the current location, without globbing.</summary>
    string GetUnresolvedProviderPath(string path, out string providerName);

    /// <summary>Every provider path the (wildcard) <paramref name="path"/> matches; empty when none does.</summary>
    IReadOnlyList<string> GetResolvedProviderPaths(string path, out string providerName);

    /// <summary>What exists at the provider path.</summary>
    PathItemKind GetItemKind(string providerPath);
}

/// <summary>What a provider path names.</summary>
internal enum PathItemKind
{
    None,
    /// <summary>A regular file, block device, or other non-directory item.</summary>
    File,
    Directory,
}

/// <summary>
/// How the cmdlets turn user-typed paths into file-system paths. Rules (documented in about_IntegrityVolume):
/// <list type="number">
/// <item>Paths are relative to PowerShell's current location ($PWD), not the process's working directory.</item>
/// <item>Only the FileSystem provider is accepted (PathNotFileSystem otherwise).</item>
/// <item>-Path of Get/Test/Write: an item that exists under the literal name wins, so names containing
/// <c>[</c> or <c>]</c> work when piped from Get-ChildItem; otherwise wildcards are expanded (directories
/// among the matches are skipped); no match is DeviceNotFound; a literal directory is InvalidParameter.</item>
/// <item>-Path of New and every secondary path (-KeyFile, -InputPath, -DataDevice, ...) are literal.</item>
/// </list>
/// </summary>
internal sealed class PathResolver
{
    public const string FileSystemProvider = "FileSystem";
    private readonly IProviderPathHost _host;

    public PathResolver(IProviderPathHost host) => _host = host;

    /// <summary>True when the text holds PowerShell wildcard characters that are not backtick-escaped.</summary>
    public static bool HasWildcards(string path)
    {
        for (int i = 0; i < path.Length; i++)
        {
            char c = path[i];
            if (c == '`') { i++; continue; }
            if (c is '*' or '?' or '[' or ']') return true;
        }
        return false;
    }

    /// <summary>Existing items for a -Path value (literal name first, then wildcard expansion).</summary>
    public IReadOnlyList<string> ResolveExisting(string path, string parameterName = "Path")
    {
        RequireText(path, parameterName);
        string literal = _host.GetUnresolvedProviderPath(path, out var provider);
        RequireFileSystem(provider, path, parameterName);
        switch (_host.GetItemKind(literal))
        {
            case PathItemKind.File:
                return new[] { literal };
            case PathItemKind.Directory:
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    $"-{parameterName}: {literal} is a directory; give a block device or an image file.", literal);
        }
        if (HasWildcards(path))
        {
            var matches = _host.GetResolvedProviderPaths(path, out provider);
            RequireFileSystem(provider, path, parameterName);
            var files = matches.Where(m => _host.GetItemKind(m) != PathItemKind.Directory).ToArray();
            if (files.Length > 0)
                return files;
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound,
                $"-{parameterName}: nothing matches '{path}'.", path);
        }
        throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound,
            $"{literal}: no such device or file.", literal);
    }

    /// <summary>The existing item a -LiteralPath value names (no wildcard expansion; a directory is refused).</summary>
    public IReadOnlyList<string> ResolveExistingLiteral(string path, string parameterName = "LiteralPath")
    {
        string literal = ResolveLiteral(path, parameterName);
        return _host.GetItemKind(literal) switch
        {
            PathItemKind.File => new[] { literal },
            PathItemKind.Directory => throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"-{parameterName}: {literal} is a directory; give a block device or an image file.", literal),
            _ => throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{literal}: no such device or file.", literal),
        };
    }

    /// <summary>Exactly one existing item (wildcards allowed if they match one item).</summary>
    public string ResolveSingleExisting(string path, string parameterName = "Path")
    {
        var all = ResolveExisting(path, parameterName);
        if (all.Count != 1)
            throw new IntegrityVolumeException(ModuleErrorIds.PathAmbiguous, ErrorKind.InvalidArgument,
                $"-{parameterName}: '{path}' matches {all.Count} items ({string.Join(", ", all.Take(3))}{(all.Count > 3 ? ", ..." : "")}); give one.", path);
        return all[0];
    }

    /// <summary>A literal file-system path that may not exist yet (New -Path, key files, input files, data devices).</summary>
    public string ResolveLiteral(string path, string parameterName)
    {
        RequireText(path, parameterName);
        string literal = _host.GetUnresolvedProviderPath(path, out var provider);
        RequireFileSystem(provider, path, parameterName);
        return literal;
    }

    /// <summary><see cref="ResolveLiteral"/> for optional parameters: null or empty stays null.</summary>
    public string? ResolveOptionalLiteral(string? path, string parameterName) =>
        string.IsNullOrEmpty(path) ? null : ResolveLiteral(path, parameterName);

    private static void RequireText(string path, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"-{parameterName} is empty.", path);
    }

    private static void RequireFileSystem(string provider, string path, string parameterName)
    {
        if (!string.Equals(provider, FileSystemProvider, StringComparison.OrdinalIgnoreCase))
            throw new IntegrityVolumeException(ModuleErrorIds.PathNotFileSystem, ErrorKind.InvalidArgument,
                $"-{parameterName}: '{path}' is on the {provider} provider; give a file-system path (a device node or an image file).", path);
    }
}
