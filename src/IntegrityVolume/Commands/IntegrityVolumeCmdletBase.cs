using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of every IntegrityVolume cmdlet. Owns the cancellation of long operations (Ctrl+C → StopProcessing →
/// the token Core honours), the mapping of engine failures to ErrorRecords with stable ids, path resolution
/// relative to $PWD, and the progress adapter. Cmdlets stay thin: bind parameters, build a Core request
/// (Common/RequestBuilder), call Core, write the result.
/// </summary>
/// <remarks>
/// Parameter-set names are shared: <see cref="PathParameterSet"/> addresses closed volumes by device/image path;
/// <see cref="NameParameterSet"/> addresses active device-mapper volumes by name, and <see cref="InputObjectParameterSet"/>
/// takes the live objects of Get-IntegrityVolume by value. The last one exists because PowerShell binds pipeline input
/// to the default set first: an IntegrityMappingInfo has a Path property (/dev/mapper/&lt;name&gt;), which the Path set
/// of Test-IntegrityVolume would take by property name before a -Name could. Binding by value without coercion is
/// tried before any binding by property name, so a typed -InputObject wins (the Stop-Process pattern).
/// </remarks>
public abstract class IntegrityVolumeCmdletBase : PSCmdlet, IDisposable
{
    /// <summary>Volumes addressed by device or image path.</summary>
    protected const string PathParameterSet = "Path";
    /// <summary>Active volumes addressed by device-mapper name.</summary>
    protected const string NameParameterSet = "Name";
    /// <summary>Active volumes given as IntegrityMappingInfo objects (Get-IntegrityVolume output).</summary>
    protected const string InputObjectParameterSet = "InputObject";

    private readonly CancellationTokenSource _cancellation = new();
    private PathResolver? _paths;
    private ProgressAdapter? _progress;
    private bool _disposed;

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>Path resolution against the current PowerShell location (FileSystem provider only).</summary>
    internal PathResolver Paths => _paths ??= new PathResolver(new ProviderPathHost(SessionState.Path));

    /// <summary>The progress bar of this invocation (one record, reused).</summary>
    internal ProgressAdapter Progress => _progress ??= new ProgressAdapter(this, ProgressActivityId, MyInvocation.MyCommand.Name);

    /// <summary>Progress activity id; distinct per cmdlet so bars of piped cmdlets do not overwrite each other.</summary>
    protected abstract int ProgressActivityId { get; }

    protected override void StopProcessing()
    {
        try { _cancellation.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// Run one unit of work for <paramref name="target"/>. Core failures become non-terminating errors (so
    /// -ErrorAction applies and the next item still runs); cancellation by Ctrl+C ends it quietly; anything else
    /// (bugs, PipelineStoppedException, ActionPreferenceStopException) propagates. The progress bar is closed.
    /// </summary>
    internal bool TryInvoke<T>(string? target, Func<T> work, [MaybeNullWhen(false)] out T result)
    {
        try
        {
            result = work();
            return true;
        }
        catch (Exception ex) when (ErrorMapping.IsQuietCancellation(ex, _cancellation.IsCancellationRequested))
        {
            result = default!;
            return false;
        }
        catch (Exception ex) when (ErrorMapping.TryMap(ex, target) is { } mapped)
        {
            result = default!;
            WriteError(CreateErrorRecord(mapped, target));
            return false;
        }
        finally
        {
            _progress?.Complete();
        }
    }

    internal bool TryInvoke(string? target, Action work) => TryInvoke<bool>(target, () => { work(); return true; }, out _);

    /// <summary>ErrorRecord whose FullyQualifiedErrorId starts with the engine's stable id.</summary>
    internal static ErrorRecord CreateErrorRecord(MappedError mapped, string? fallbackTarget) =>
        new(mapped.Exception, mapped.ErrorId, (ErrorCategory)(int)mapped.Category, mapped.Target ?? fallbackTarget);

    /// <summary>ShouldProcess with PowerShell's wording, reporting whether -WhatIf (or $WhatIfPreference) answered.</summary>
    internal bool ShouldProcess(string target, string action, out bool whatIf)
    {
        var text = ShouldProcessText.For(target, action);
        bool go = ShouldProcess(text.Description, text.Warning, text.Caption, out ShouldProcessReason reason);
        whatIf = reason == ShouldProcessReason.WhatIf;
        return go;
    }

    /// <summary>True when the caller bound the parameter (explicitly or from the pipeline) for this record.</summary>
    protected bool IsBound(string parameterName) => MyInvocation.BoundParameters.ContainsKey(parameterName);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Release what the cmdlet holds (key bytes in derived classes, the cancellation source here).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _cancellation.Dispose();
    }
}
