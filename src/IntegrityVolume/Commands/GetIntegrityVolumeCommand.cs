using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Get-IntegrityVolume: superblock, layout and journal state of dm-integrity volumes, read offline from the
/// device or image (read-only, the Path set); or the active dm-integrity mappings as the kernel reports them
/// (the Name set: -Name, or no argument for all of them).
/// </summary>
/// <remarks>
/// The Name set is the default because a call without arguments lists the active volumes: with the Path set as the
/// default, pwsh would prompt for the mandatory -Path instead. Positional arguments and piped files or VolumeInfo
/// objects still bind to -Path (the Name set has no positional parameter and takes only plain strings by value).
/// </remarks>
[Cmdlet(VerbsCommon.Get, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Get-IntegrityVolume.md", DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(VolumeInfo), ParameterSetName = new[] { PathParameterSet, LiteralPathParameterSet })]
[OutputType(typeof(IntegrityMappingInfo), ParameterSetName = new[] { NameParameterSet })]
public sealed class GetIntegrityVolumeCommand : VolumeCmdletBase
{
    /// <summary>Device-mapper names of active volumes; wildcards allowed; none lists every active dm-integrity mapping.</summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(MapperNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Wait while another process changes the volume (an exclusive lock) instead of failing with DeviceInUse.</summary>
    [Parameter(ParameterSetName = PathParameterSet)]
    [Parameter(ParameterSetName = LiteralPathParameterSet)]
    public SwitchParameter Wait { get; set; }

    protected override int ProgressActivityId => 0x1A04;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == NameParameterSet)
        {
            GetMappings();
            return;
        }
        foreach (string input in PathInputs)
        {
            if (!TryInvoke(input, () => ResolveExisting(input), out var resolved))
                continue;
            foreach (string path in resolved)
            {
                WriteVerbose($"Reading the dm-integrity superblock of {path}.");
                // The algorithm is not on disk: detected from at most AlgorithmDetection.MaxSampleBlocks blocks (unkeyed ones).
                if (TryInvoke(path, () => VolumeOperations.Inspect(Location(path) with { WaitForLock = Wait }, CancellationToken, detectAlgorithm: true), out var info))
                {
                    if (info.AlgorithmDetection is { } d) WriteVerbose($"{path}: {d.Summary}.");
                    WriteObject(info);
                }
            }
        }
    }

    private void GetMappings()
    {
        if (Name is null || Name.Length == 0)
        {
            WriteVerbose("Listing the active dm-integrity mappings.");
            if (TryInvoke(DeviceNodes.MapperDirectory, () => MappingQuery.All(IntegrityMappings.List), out var all))
                foreach (var m in all) WriteObject(m);
            return;
        }
        IReadOnlyList<IntegrityMappingInfo>? listed = null;
        IReadOnlyList<IntegrityMappingInfo> List() => listed ??= IntegrityMappings.List();
        foreach (string pattern in Name)
            if (TryInvoke(pattern, () => MappingQuery.Find(pattern, List, IntegrityMappings.Status), out var found))
                foreach (var m in found) WriteObject(m);
    }
}
