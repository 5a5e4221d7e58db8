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
public sealed class OpenIntegrityArrayCommand : IntegrityVolumeCmdletBase
{
    private readonly List<string> _devices = new();

    /// <summary>md name: the array appears as /dev/md/NAME.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The legs' block devices or image files (dm-integrity volumes; literal paths), in any order.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("DevicePath", "Path")]
    [ValidateNotNullOrEmpty]
    public string[] Device { get; set; } = System.Array.Empty<string>();

    /// <summary>Device-mapper names of the legs (default NAME-leg0, NAME-leg1, ...).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? LegName { get; set; }

    /// <summary>Tag algorithm of the legs (integritysetup --integrity); crc32c when omitted.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(Host.AlgorithmCompleter))]
    public string Algorithm { get; set; } = TagAlgorithm.DefaultName;

    /// <summary>Key file of a keyed algorithm (hmac-*), as ivol array open's --integrity-key-file.</summary>
    [Parameter]
    [Alias("KeyFile")]
    public string? IntegrityKeyFile { get; set; }

    /// <summary>How the legs' mappings write: Journal (default), Bitmap or Direct.</summary>
    [Parameter]
    [ValidateSet(nameof(IntegrityMode.Journal), nameof(IntegrityMode.Bitmap), nameof(IntegrityMode.Direct))]
    public IntegrityMode Mode { get; set; } = IntegrityMode.Journal;

    /// <summary>Pass discards down to the legs.</summary>
    [Parameter]
    public SwitchParameter AllowDiscards { get; set; }

    /// <summary>Open the crypt layer with this key file after assembly when the array holds a LUKS header.</summary>
    [Parameter]
    public string? LuksKeyFile { get; set; }

    /// <summary>Device-mapper name of the crypt mapping (default NAME-crypt).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LuksName { get; set; }

    protected override int ProgressActivityId => 0x1A24;

    protected override void ProcessRecord() => _devices.AddRange(Device);

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
        if (LuksKeyFile is null && LuksName is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "-LuksName needs -LuksKeyFile.", Name);
        var devices = _devices.Select(d => Paths.ResolveLiteral(d, nameof(Device))).ToList();
        string? keyFile = Paths.ResolveOptionalLiteral(IntegrityKeyFile, nameof(IntegrityKeyFile));
        var algorithm = TagAlgorithm.Parse(Algorithm);
        string? luksKey = Paths.ResolveOptionalLiteral(LuksKeyFile, nameof(LuksKeyFile));
        var key = keyFile is null ? null : Core.KeyFile.Read(keyFile, "-IntegrityKeyFile");
        return new ArrayOpenRequest
        {
            Name = Name, Devices = devices, LegNames = LegName,
            Legs = new ArrayLegIntegrity
            {
                Integrity = new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = key }, KeyFilePath = keyFile,
                Mode = Mode, AllowDiscards = AllowDiscards,
            },
            Luks = luksKey is null ? null : new ArrayLuksOptions { KeyFilePath = luksKey, Name = LuksName },
        };
    }
}
