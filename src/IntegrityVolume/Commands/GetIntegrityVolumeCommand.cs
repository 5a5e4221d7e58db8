using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Engine;

namespace IntegrityVolume.Commands;

/// <summary>
/// Get-IntegrityVolume: superblock, layout and journal state of dm-integrity volumes, read offline from the
/// device or image (read-only). The live part (mapped volumes by -Name) will be a second parameter set.
/// </summary>
[Cmdlet(VerbsCommon.Get, "IntegrityVolume", DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class GetIntegrityVolumeCommand : IntegrityVolumeCmdletBase
{
    /// <summary>Devices or image files; wildcards allowed; binds FileInfo (PSPath/FullName) and VolumeInfo (Path) by property name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Alias("PSPath", "FullName", "DevicePath")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Separate data device (integritysetup --data-device); -Path then holds superblock, journal and tags.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Alias("DataDevicePath")]
    public string? DataDevice { get; set; }

    /// <summary>512-byte sectors before the superblock (the table's offset; e.g. a LUKS2 header).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    public ulong ReservedSectors { get; set; }

    protected override int ProgressActivityId => 0x1A04;

    protected override void ProcessRecord()
    {
        if (!TryInvoke(DataDevice, () => Paths.ResolveOptionalLiteral(DataDevice, nameof(DataDevice)), out string? dataDevice))
            return;
        foreach (string input in Path)
        {
            if (!TryInvoke(input, () => Paths.ResolveExisting(input, nameof(Path)), out var resolved))
                continue;
            foreach (string path in resolved)
            {
                var parameters = new VolumeParameters { Path = path, DataDevice = dataDevice, ReservedSectors = ReservedSectors };
                WriteVerbose($"Reading the dm-integrity superblock of {path}.");
                if (TryInvoke(path, () => VolumeOperations.Inspect(RequestBuilder.Inspect(parameters), CancellationToken), out var info))
                    WriteObject(info);
            }
        }
    }
}
