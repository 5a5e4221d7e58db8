using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Common;

namespace IntegrityVolume.Host;

/// <summary><see cref="IProviderPathHost"/> over the runspace's SessionState.Path (relative to $PWD, not the process cwd).</summary>
internal sealed class ProviderPathHost : IProviderPathHost
{
    private readonly PathIntrinsics _paths;

    public ProviderPathHost(PathIntrinsics paths) => _paths = paths;

    public string GetUnresolvedProviderPath(string path, out string providerName)
    {
        try
        {
            string result = _paths.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
            providerName = provider.Name;
            return result;
        }
        catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException)
        {
            throw NotFound(path, ex);
        }
    }

    public IReadOnlyList<string> GetResolvedProviderPaths(string path, out string providerName)
    {
        try
        {
            var result = _paths.GetResolvedProviderPathFromPSPath(path, out ProviderInfo provider);
            providerName = provider.Name;
            return result.ToArray();
        }
        catch (ItemNotFoundException)
        {
            // The literal step already checked the provider; no match is reported by the resolver.
            providerName = PathResolver.FileSystemProvider;
            return Array.Empty<string>();
        }
        catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            throw NotFound(path, ex);
        }
    }

    public PathItemKind GetItemKind(string providerPath) =>
        Directory.Exists(providerPath) ? PathItemKind.Directory
        : File.Exists(providerPath) ? PathItemKind.File   // true for device nodes on Unix
        : PathItemKind.None;

    private static IntegrityVolumeException NotFound(string path, Exception inner) =>
        new(ErrorIds.DeviceNotFound, ErrorKind.NotFound, inner.Message, path, inner);
}
