using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the cmdlets that take an md array's dm-integrity legs by device (New-IntegrityArray, Open-IntegrityArray):
/// the array name, the leg devices (collected from the pipeline), their mapping names, the legs' tag algorithm and key,
/// and the LUKS2 layer's mapping name (its key file: <see cref="ArrayLuksCmdletBase"/>). Declared once here; each cmdlet adds its own options to <see cref="LegIntegrity"/>.
/// </summary>
public abstract class ArrayLegsCmdletBase : ArrayLuksCmdletBase
{
    private readonly List<string> _devices = new();

    /// <summary>md name: the array appears as /dev/md/NAME.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The legs' block devices or image files (literal paths), one per leg.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("DevicePath", "Path")]
    [ValidateNotNullOrEmpty]
    public string[] Device { get; set; } = System.Array.Empty<string>();

    /// <summary>Device-mapper names of the legs (default NAME-leg0, NAME-leg1, ...).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? LegName { get; set; }

    /// <summary>Tag algorithm of every leg (integritysetup --integrity); crc32c when omitted.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(Host.AlgorithmCompleter))]
    public string Algorithm { get; set; } = TagAlgorithm.DefaultName;

    /// <summary>Key file of a keyed algorithm (hmac-*), as ivol array's --integrity-key-file.</summary>
    [Parameter]
    [Alias("KeyFile")]
    public string? IntegrityKeyFile { get; set; }

    /// <summary>Device-mapper name of the crypt mapping (default NAME-crypt).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LuksName { get; set; }

    protected override void ProcessRecord() => _devices.AddRange(Device);

    /// <summary>The devices of every pipeline record, resolved against $PWD.</summary>
    private protected List<string> ResolvedDevices() => _devices.Select(d => Paths.ResolveLiteral(d, nameof(Device))).ToList();

    /// <summary>The legs' algorithm and key (the key file read once, its path kept for integritytab lines).</summary>
    private protected ArrayLegIntegrity LegIntegrity()
    {
        var algorithm = TagAlgorithm.Parse(Algorithm);
        string? keyFile = Paths.ResolveOptionalLiteral(IntegrityKeyFile, nameof(IntegrityKeyFile));
        return new ArrayLegIntegrity
        {
            Integrity = new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = ReadIntegrityKey(keyFile) },
            KeyFilePath = keyFile,
        };
    }

    /// <summary>A resolved -IntegrityKeyFile read as the legs' key (Switch-IntegrityArrayLeg reads it the same way).</summary>
    internal static IntegrityKey? ReadIntegrityKey(string? resolvedPath) =>
        Core.KeyFile.ReadOptional(resolvedPath, null, "-IntegrityKeyFile");

    /// <summary>-LuksName and the cmdlet's other LUKS options mean nothing without -LuksKeyFile.</summary>
    private protected void RequireLuksKeyFileFor(bool otherLuksOptionGiven, string message)
    {
        if (LuksKeyFile is null && (otherLuksOptionGiven || LuksName is not null))
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, message, Name);
    }
}
