using System.Globalization;
using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.FileSystems;

namespace IntegrityVolume.Commands;

/// <summary>
/// Resolve-IntegrityVolumeSector: bad block → file. For sector ranges of a file system (Test-IntegrityVolume's
/// MismatchedSectors, piped as the VerifyResult or as SectorRange objects, or typed as "8-15"), name the file (path and
/// byte offset), directory, metadata or free space each piece belongs to, as the file system's own tools say (ext2/3/4:
/// debugfs; xfs: xfs_db). -FileSystemPath is the device holding the file system: for a single open volume
/// /dev/mapper/NAME, whose sector N is the volume's logical sector N; offline, an image of the volume's logical data.
/// With -Leg the sectors are a leg's (an open volume that is a member of an md array): the array, a dm-crypt (LUKS) or
/// linear layer above it and the file system on top are found, and one LegSectorPiece per piece reports every layer.
/// </summary>
/// <remarks>
/// Verb: Resolve (VerbsDiagnostic, "maps a shorthand representation of a resource to a more complete representation",
/// as Resolve-Path does for paths): a sector number is the shorthand, the file and offset the complete form. Read-only.
/// Ranges piped one by one are collected and resolved in one tool run per call (xfs_db's blockget walks the whole file
/// system once), so output comes at the end of the pipeline.
/// </remarks>
[Cmdlet(VerbsDiagnostic.Resolve, "IntegrityVolumeSector", DefaultParameterSetName = FileSystemSet, HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Resolve-IntegrityVolumeSector.md")]
[OutputType(typeof(BadBlockOwner), ParameterSetName = new[] { FileSystemSet })]
[OutputType(typeof(LegSectorPiece), ParameterSetName = new[] { LegSet })]
public sealed class ResolveIntegrityVolumeSectorCommand : IntegrityVolumeCmdletBase
{
    private const string FileSystemSet = "FileSystem", LegSet = "Leg";

    /// <summary>Device or image file holding the file system (/dev/mapper/NAME for an open volume).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = FileSystemSet)]
    [ValidateNotNullOrEmpty]
    public string FileSystemPath { get; set; } = "";

    /// <summary>The sectors are this leg's: the name of an open volume (or a block device) that is a member of an md array.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = LegSet)]
    [ValidateNotNullOrEmpty]
    public string Leg { get; set; } = "";

    /// <summary>Sector ranges (512-byte units of the file-system device, or of the leg with -Leg): SectorRange objects, "8-15", or a verify result's MismatchedSectors.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("MismatchedSectors")]
    [AllowEmptyCollection]
    public SectorRange[] Sector { get; set; } = Array.Empty<SectorRange>();

    protected override int ProgressActivityId => 0x1A0A;

    private readonly List<SectorRange> _ranges = new();

    protected override void ProcessRecord() => _ranges.AddRange(Sector);

    protected override void EndProcessing()
    {
        if (_ranges.Count == 0)
        {
            WriteVerbose("No sector ranges given (a healthy verify result has none): nothing to resolve.");
            return;
        }
        if (ParameterSetName == LegSet)
        {
            WriteVerbose(string.Create(CultureInfo.InvariantCulture, $"Mapping {_ranges.Count} sector ranges of leg {Leg} through its array."));
            if (!TryInvoke(Leg, () => StackLocator.Locate(Leg, _ranges, CancellationToken), out var stack)) return;
            foreach (string warning in stack.Warnings) WriteWarning($"{stack.Leg}: {warning}");
            WriteVerbose($"{stack.Leg}: slot {stack.Slot} of {stack.Array}; " + string.Join("; ", stack.Layers.Select(l => $"{l.Kind} {l.Device}: {l.Detail}")));
            foreach (var piece in stack.Pieces) WriteObject(piece);
            return;
        }
        if (!TryInvoke(FileSystemPath, () => Paths.ResolveSingleExisting(FileSystemPath, nameof(FileSystemPath)), out var path)) return;
        WriteVerbose(string.Create(CultureInfo.InvariantCulture, $"Resolving {_ranges.Count} sector ranges of {path}."));
        if (!TryInvoke(path, () => SectorLocator.Locate(path, _ranges, CancellationToken), out var report)) return;
        foreach (string warning in report.Warnings) WriteWarning($"{path}: {warning}");
        WriteVerbose(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {report.FileSystem}, {report.BlockSize}-byte blocks; {report.BlocksResolved} blocks resolved into {report.Owners.Length} pieces."));
        foreach (var owner in report.Owners) WriteObject(owner);
    }
}
