using System.Management.Automation;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Close-IntegrityVolume: deactivate active dm-integrity volumes (integritysetup close): remove the device-mapper
/// device, its /dev/mapper node and the loop device it ran on. -Deferred removes a device that is in use when its
/// last user closes it. Names come from -Name (also by property name) or from Get-IntegrityVolume objects.
/// </summary>
[Cmdlet(VerbsCommon.Close, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Close-IntegrityVolume.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(IntegrityCloseResult))]
public sealed class CloseIntegrityVolumeCommand : IntegrityVolumeCmdletBase
{
    /// <summary>Device-mapper names of the volumes (no wildcards: closing is not a search).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(MapperNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Active volumes as Get-IntegrityVolume (or Open-IntegrityVolume -PassThru) returns them.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNullOrEmpty]
    public IntegrityMappingInfo[] InputObject { get; set; } = Array.Empty<IntegrityMappingInfo>();

    /// <summary>When the device is in use, mark it for removal when its last user closes it (dmsetup remove --deferred).</summary>
    [Parameter]
    public SwitchParameter Deferred { get; set; }

    /// <summary>Keep a volume whose deferred removal is pending (integritysetup close --cancel-deferred).</summary>
    [Parameter]
    public SwitchParameter CancelDeferred { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override int ProgressActivityId => 0x1A06;

    protected override void ProcessRecord()
    {
        var names = ParameterSetName == InputObjectParameterSet ? InputObject.Select(o => o.Name) : Name;
        foreach (string name in names)
        {
            if (!TryInvoke(name, () => MappingRequests.ValidateName(name)))
                continue;
            if (CancelDeferred)
            {
                if (Deferred)
                {
                    TryInvoke(name, () => throw new IntegrityVolume.Core.IntegrityVolumeException(IntegrityVolume.Core.ErrorIds.InvalidParameter,
                        IntegrityVolume.Core.ErrorKind.InvalidArgument, "-CancelDeferred and -Deferred cannot be used together."));
                    continue;
                }
                if (!ShouldProcess(MappingRequests.CloseTarget(name), "Cancel deferred removal", out _))
                    continue;
                if (TryInvoke(name, () => IntegrityMappings.CancelDeferredClose(name), out bool pending))
                    WriteVerbose(pending ? $"{name}: deferred removal cancelled." : $"{name}: no deferred removal was pending.");
                continue;
            }
            if (!ShouldProcess(MappingRequests.CloseTarget(name), MappingRequests.CloseActionFor(Deferred), out _))
                continue;
            if (!TryInvoke(name, () => IntegrityMappings.Close(name, Deferred), out var result))
                continue;
            WriteVerbose(MappingRequests.Describe(result));
            if (PassThru) WriteObject(result);
        }
    }
}
