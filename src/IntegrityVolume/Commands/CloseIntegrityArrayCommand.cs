using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Commands;

/// <summary>
/// Close-IntegrityArray: close the crypt layer on top (cryptsetup close, when a LUKS mapping is the array's only holder
/// and is itself unused), stop an md array (mdadm --stop) and close each leg that is a dm-integrity mapping. Refused
/// (ArrayInUse) while the array or anything above it is mounted, held (holders in sysfs) or open.
/// </summary>
[Cmdlet(VerbsCommon.Close, "IntegrityArray", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Close-IntegrityArray.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ArrayCloseResult))]
public sealed class CloseIntegrityArrayCommand : IntegrityVolumeCmdletBase
{
    /// <summary>The array: NAME, /dev/md/NAME, /dev/mdN or mdN (also by property name: Path of Get-IntegrityArray objects).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ValidateNotNullOrEmpty]
    public string[] Array { get; set; } = System.Array.Empty<string>();

    /// <summary>Emit what was stopped and closed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override int ProgressActivityId => 0x1A23;

    protected override void ProcessRecord()
    {
        foreach (string array in Array)
        {
            if (!ShouldProcess(array, "Close the crypt layer on top (if any), stop the md array and close its dm-integrity legs", out _))
                continue;
            if (!TryInvoke(array, () => VolumeOperations.CloseArray(array, CancellationToken), out var result))
                continue;
            WriteVerbose((result.ClosedCrypt is null ? "" : $"Closed the crypt layer {result.ClosedCrypt}; ") + $"Stopped {result.Device}; closed {string.Join(", ", result.ClosedLegCrypts.Concat(result.ClosedLegs))}.");
            if (PassThru) WriteObject(result);
        }
    }
}
