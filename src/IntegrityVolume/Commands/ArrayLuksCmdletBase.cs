using System.Management.Automation;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the array cmdlets that take the LUKS2 key file of an array's crypt layer (on top of the array or on every
/// leg): New-IntegrityArray and Open-IntegrityArray (through <see cref="ArrayLegsCmdletBase"/>) and
/// Switch-IntegrityArrayLeg (a new leg's own LUKS layer). cryptsetup reads the file itself; it is only resolved here.
/// </summary>
public abstract class ArrayLuksCmdletBase : IntegrityVolumeCmdletBase
{
    /// <summary>Key file of the array's LUKS2 layer (on top of the array, or on every leg).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LuksKeyFile { get; set; }

    /// <summary>-LuksKeyFile resolved against $PWD; null when not given.</summary>
    private protected string? ResolvedLuksKeyFile() => Paths.ResolveOptionalLiteral(LuksKeyFile, nameof(LuksKeyFile));
}
