using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Commands;

/// <summary>
/// Open-IntegrityArray: open every leg of an existing array (dm-integrity, as Open-IntegrityVolume), assemble the md
/// array over the mappings (mdadm --assemble /dev/md/NAME), then, with -LuksKeyFile, the crypt layer on top when the
/// array holds a LUKS header (cryptsetup open, as NAME-crypt): the stack in order, bottom up. A failure undoes every
/// step already done. The counterpart of ivol array open; emits the same object as New-IntegrityArray.
/// </summary>
[Cmdlet(VerbsCommon.Open, "IntegrityArray", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Open-IntegrityArray.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MdArrayInfo))]
public sealed class OpenIntegrityArrayCommand : ArrayLegsCmdletBase
{
    /// <summary>How the legs' mappings write: Journal (default), Bitmap or Direct.</summary>
    [Parameter]
    [ValidateSet(nameof(IntegrityMode.Journal), nameof(IntegrityMode.Bitmap), nameof(IntegrityMode.Direct))]
    public IntegrityMode Mode { get; set; } = IntegrityMode.Journal;

    /// <summary>Pass discards down to the legs.</summary>
    [Parameter]
    public SwitchParameter AllowDiscards { get; set; }

    protected override int ProgressActivityId => 0x1A24;

    protected override void EndProcessing()
    {
        if (!TryInvoke(Name, BuildRequest, out var request))
            return;
        using (request)
        {
            if (!ShouldProcess($"{string.Join(", ", request.Devices)} as /dev/md/{Name}" + (request.Luks is null ? "" : $" and {request.Luks.MapperName(Name)}"),
                    "Open the dm-integrity legs and assemble the md array" + (request.Luks is null ? "" : ", then open its crypt layer"), out _))
                return;
            if (!TryInvoke(Name, () => VolumeOperations.OpenArray(request, Progress, CancellationToken), out var result))
                return;
            foreach (var w in result.Warnings) WriteWarning(w);
            WriteObject(NewIntegrityArrayCommand.Output(result));
        }
    }

    private ArrayOpenRequest BuildRequest()
    {
        RequireLuksKeyFileFor(false, "-LuksName needs -LuksKeyFile.");
        var devices = ResolvedDevices();
        string? luksKey = ResolvedLuksKeyFile();
        return new ArrayOpenRequest
        {
            Name = Name, Devices = devices, LegNames = LegName,
            Legs = LegIntegrity() with { Mode = Mode, AllowDiscards = AllowDiscards },
            Luks = luksKey is null ? null : new ArrayLuksOptions { KeyFilePath = luksKey, Name = LuksName },
        };
    }
}
