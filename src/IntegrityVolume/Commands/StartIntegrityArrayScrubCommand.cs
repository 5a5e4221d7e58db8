using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Commands;

/// <summary>
/// Start-IntegrityArrayScrub: md's check (or -Repair) over an array, watched to the end with a progress bar; the result
/// names each leg's dm-integrity mismatch counter and md error count before and after, md's mismatch_cnt and whether
/// md failed a leg. Ctrl+C stops the scrub (md's sync_action set to idle). Refused while md syncs or recovers.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "IntegrityArrayScrub", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Start-IntegrityArrayScrub.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ArrayScrubResult))]
public sealed class StartIntegrityArrayScrubCommand : IntegrityVolumeCmdletBase
{
    /// <summary>The array: /dev/mdN, /dev/md/NAME or mdN (also by property name: Path of Get-IntegrityArray objects).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ValidateNotNullOrEmpty]
    public string Array { get; set; } = "";

    /// <summary>md's repair instead of check: blocks that differ between legs are rewritten, not only counted.</summary>
    [Parameter]
    public SwitchParameter Repair { get; set; }

    protected override int ProgressActivityId => 0x1A21;

    protected override void ProcessRecord()
    {
        string action = Repair ? "Repair (md 'repair': rewrite blocks that differ between legs)" : "Check (md 'check')";
        if (!ShouldProcess(Array, action, out _))
            return;
        if (!TryInvoke(Array, () => VolumeOperations.ScrubArray(new ArrayScrubRequest { Array = Array, Repair = Repair }, Progress, CancellationToken), out var result))
            return;
        if (result.Cancelled) return;   // Ctrl+C: the pipeline is stopping, nothing more is written
        if (!result.Completed)
            WriteWarning($"{result.Path}: md ended the {result.Action} early (the next check resumes at sector {result.ResumeSector}).");
        foreach (var leg in result.Legs.Where(l => l.Failed))
            WriteWarning($"{result.Path}: md failed the leg {leg.Path} during the {result.Action}.");
        WriteObject(result);
    }
}
