using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Commands;

/// <summary>
/// Get-IntegrityArray: md RAID arrays (mdadm) as /sys/block/mdX/md shows them, with each leg's md state and, for a leg
/// that is a dm-integrity mapping, that mapping's status (its mismatch counter). Without -Array: every md array with
/// a dm-integrity leg. Read-only.
/// </summary>
[Cmdlet(VerbsCommon.Get, "IntegrityArray", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Get-IntegrityArray.md")]
[OutputType(typeof(MdArrayInfo))]
public sealed class GetIntegrityArrayCommand : IntegrityVolumeCmdletBase
{
    /// <summary>Arrays as /dev/mdN, /dev/md/NAME or mdN (also by property name: Path of Get-IntegrityArray objects).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ValidateNotNullOrEmpty]
    public string[]? Array { get; set; }

    protected override int ProgressActivityId => 0x1A20;

    protected override void ProcessRecord()
    {
        if (Array is null || Array.Length == 0)
        {
            WriteVerbose("Listing the md arrays with a dm-integrity leg.");
            if (TryInvoke("/sys/block", VolumeOperations.ListArrays, out var all))
                foreach (var a in all) WriteObject(a);
            return;
        }
        foreach (string array in Array)
            if (TryInvoke(array, () => VolumeOperations.GetArray(array), out var info))
                WriteObject(info);
    }
}
