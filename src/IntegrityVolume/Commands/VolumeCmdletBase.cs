using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Common;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the cmdlets that address a closed volume by device or image path (Get, Test, Write, Open, New): -Path
/// (wildcards; plain strings from the pipeline, VolumeInfo by Path), -LiteralPath (aliases PSPath, LP, FullName:
/// FileInfo objects bind here, as with Get-Content), -DataDevice and -ReservedSectors, declared once in the manner of PowerShell's HashCmdletBase.
/// </summary>
/// <remarks>
/// The parameters belong to the Path and LiteralPath sets only, so cmdlets with further sets (Get's and Test's Name
/// sets) keep them out of those. Only -LiteralPath matches a FileInfo, so no other set may bind its Name by property
/// name (Test's -Name takes values and live objects only). A VolumeInfo binds -Path, -DataDevice (DataDevicePath) and -ReservedSectors by
/// property name.
/// </remarks>
public abstract class VolumeCmdletBase : IntegrityVolumeCmdletBase
{
    /// <summary>Volumes addressed by literal path (no wildcard expansion).</summary>
    protected const string LiteralPathParameterSet = "LiteralPath";

    /// <summary>Devices or image files; wildcards allowed (an existing item with that literal name wins).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Alias("DevicePath")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public virtual string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Devices or image files taken exactly as typed (no wildcards); FileInfo objects bind here.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Separate data device (integritysetup --data-device); the path then holds superblock, journal and tags.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("DataDevicePath")]
    public string? DataDevice { get; set; }

    /// <summary>512-byte sectors before the superblock (the table's offset; e.g. a LUKS2 header).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    public ulong ReservedSectors { get; set; }

    /// <summary>True when the volumes came through -LiteralPath.</summary>
    protected bool IsLiteral => ParameterSetName == LiteralPathParameterSet;

    /// <summary>The path values of this record, as typed (Path or LiteralPath).</summary>
    protected IReadOnlyList<string> PathInputs => IsLiteral ? LiteralPath : Path;

    /// <summary>Existing items for one input: wildcard expansion for -Path, exactly the item for -LiteralPath.</summary>
    internal IReadOnlyList<string> ResolveExisting(string input) =>
        IsLiteral ? Paths.ResolveExistingLiteral(input, nameof(LiteralPath)) : Paths.ResolveExisting(input, nameof(Path));

    /// <summary>Exactly one existing item for one input (Write, Open).</summary>
    internal string ResolveSingleExisting(string input) =>
        IsLiteral ? Paths.ResolveExistingLiteral(input, nameof(LiteralPath))[0] : Paths.ResolveSingleExisting(input, nameof(Path));

    /// <summary>Where the volume at <paramref name="path"/> lives, with this record's -DataDevice and -ReservedSectors.</summary>
    internal VolumeLocation Location(string path) => new()
    {
        Path = path,
        DataDevicePath = Paths.ResolveOptionalLiteral(DataDevice, nameof(DataDevice)),
        ReservedSectors = ReservedSectors,
    };
}
