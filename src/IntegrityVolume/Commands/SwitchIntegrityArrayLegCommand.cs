using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;

namespace IntegrityVolume.Commands;

/// <summary>
/// Switch-IntegrityArrayLeg: formats and opens a new leg like the array's other dm-integrity legs, hands it to md
/// (mdadm --replace while the old leg is active, --remove/--add when it is faulty or gone) and waits for md's recovery
/// with a progress bar. Ctrl+C cancels the replacement: md's recovery is stopped and the new leg taken out again (the
/// array keeps the legs it had). The old mapping is closed when it is ours and nothing holds it any more. Over per-leg
/// LUKS (-LuksKeyFile) the new leg gets its own LUKS layer and its crypt mapping is the md member.
/// </summary>
[Cmdlet(VerbsCommon.Switch, "IntegrityArrayLeg", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Switch-IntegrityArrayLeg.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(ArrayLegReplaceResult))]
public sealed class SwitchIntegrityArrayLegCommand : ArrayLuksCmdletBase
{
    /// <summary>The array: /dev/mdN, /dev/md/NAME or mdN (also by property name: Path of Get-IntegrityArray objects).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ValidateNotNullOrEmpty]
    public string Array { get; set; } = "";

    /// <summary>The leg to replace: /dev/mapper/NAME, NAME or dm-N; it may be faulty, or already gone from a degraded array.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Leg { get; set; } = "";

    /// <summary>Image file or block device that becomes the new leg; it is formatted like the other legs.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string NewDevice { get; set; } = "";

    /// <summary>Device-mapper name of the new leg (/dev/mapper/NAME).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    /// <summary>Format the new device although it holds a file system, LUKS or an integrity superblock.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Key file of the legs' keyed algorithm (hmac-*): device-mapper does not give the key back. Proven on an active leg's tags first.</summary>
    [Parameter]
    [Alias("KeyFile")]
    [ValidateNotNullOrEmpty]
    public string? IntegrityKeyFile { get; set; }

    /// <summary>cryptsetup --pbkdf of the new leg's key slot (default cryptsetup's).</summary>
    [Parameter]
    [ValidateSet("argon2id", "argon2i", "pbkdf2")]
    public string? LuksPbkdf { get; set; }

    /// <summary>cryptsetup --iter-time of the new leg's key slot in milliseconds (default cryptsetup's).</summary>
    [Parameter]
    [ValidateRange(1, 3_600_000)]
    public int LuksIterTime { get; set; }

    protected override int ProgressActivityId => 0x1A22;

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Array, $"Replace leg {Leg} with {NewDevice} (formatted and opened as /dev/mapper/{NewName}; everything on it is lost)", out _))
            return;
        IntegrityKey? key = null;
        if (IntegrityKeyFile is not null && !TryInvoke(IntegrityKeyFile,
                () => ArrayLegsCmdletBase.ReadIntegrityKey(Paths.ResolveLiteral(IntegrityKeyFile, nameof(IntegrityKeyFile))), out key))
            return;
        using var keyOwner = key;
        if ((LuksPbkdf is not null || IsBound(nameof(LuksIterTime))) && LuksKeyFile is null)
        {
            TryInvoke(Array, () => throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "-LuksPbkdf and -LuksIterTime need -LuksKeyFile.", Array));
            return;
        }
        string? luksKey = null;
        if (LuksKeyFile is not null && !TryInvoke(LuksKeyFile, ResolvedLuksKeyFile, out luksKey))
            return;
        if (!TryInvoke(Array, () => VolumeOperations.ReplaceArrayLeg(new ArrayLegReplaceRequest
            {
                Array = Array,
                Leg = Leg,
                NewDevice = Paths.ResolveLiteral(NewDevice, nameof(NewDevice)),
                NewName = NewName,
                Force = Force,
                Key = key,
                Luks = luksKey is null ? null : new ArrayLuksOptions
                {
                    KeyFilePath = luksKey, Pbkdf = LuksPbkdf, IterTimeMs = IsBound(nameof(LuksIterTime)) ? LuksIterTime : null,
                },
            }, Progress, CancellationToken), out var result))
            return;
        if (result.Cancelled) return;   // Ctrl+C: the pipeline is stopping; Core stopped md's recovery and removed the new leg
        foreach (var message in result.Messages) WriteWarning(message);
        WriteObject(result);
    }
}
