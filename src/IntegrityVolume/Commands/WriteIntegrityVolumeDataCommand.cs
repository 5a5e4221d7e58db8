using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Engine;

namespace IntegrityVolume.Commands;

/// <summary>
/// Write-IntegrityVolumeData: put a plain file's bytes into a closed volume's logical content at a sector
/// offset, writing matching tags (what the kernel would write), without activating the volume.
/// </summary>
/// <remarks>
/// Verb: Write (VerbsCommunications, "adds information to a target"). The cmdlet overwrites part of an existing
/// resource; Import would suggest creating a resource from a serialized form and pairs with Export, while a
/// future reader pairs naturally as Read-IntegrityVolumeData. ConfirmImpact Medium: it overwrites the sectors
/// it is told to, like Set-Content, but cannot destroy the volume's structure.
/// </remarks>
[Cmdlet(VerbsCommunications.Write, "IntegrityVolumeData", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(WriteResult))]
public sealed class WriteIntegrityVolumeDataCommand : IntegrityVolumeCmdletBase
{
    /// <summary>The closed volume (device or image holding the superblock). Wildcards must match exactly one item.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "DevicePath")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Plain file whose bytes become the volume content.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string InputPath { get; set; } = "";

    /// <summary>First logical 512-byte sector to write; must be a multiple of the volume's sector size in sectors.</summary>
    [Parameter]
    public ulong OffsetSector { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    public string Algorithm { get; set; } = RequestBuilder.DefaultAlgorithm;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? KeyFile { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("DataDevicePath")]
    public string? DataDevice { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ulong ReservedSectors { get; set; }

    protected override int ProgressActivityId => 0x1A03;

    protected override void ProcessRecord()
    {
        WriteRequest? request = null;
        try
        {
            if (!TryInvoke(Path, BuildRequest, out var built))
                return;
            request = built;
            string path = built.Volume.Path;
            // Read-only check first, so -WhatIf fails on a path that is not a volume.
            if (!TryInvoke(path, () => VolumeOperations.Inspect(built.Volume, CancellationToken), out var volume))
                return;
            if (!ShouldProcess(path, RequestBuilder.WriteAction(built), out _))
                return;
            WriteVerbose($"Writing {built.InputPath} into {path} ({volume.ProvidedDataSectors} data sectors) at sector {built.OffsetSectors}.");
            if (TryInvoke(path, () => VolumeOperations.Write(built, Progress, CancellationToken), out var result))
                WriteObject(result);
        }
        finally
        {
            request?.Dispose();
        }
    }

    private WriteRequest BuildRequest() => RequestBuilder.Write(new WriteParameters
    {
        Path = Paths.ResolveSingleExisting(Path, nameof(Path)),
        InputPath = Paths.ResolveLiteral(InputPath, nameof(InputPath)),
        OffsetSector = OffsetSector,
        DataDevice = Paths.ResolveOptionalLiteral(DataDevice, nameof(DataDevice)),
        ReservedSectors = ReservedSectors,
        Algorithm = Algorithm,
        KeyFile = Paths.ResolveOptionalLiteral(KeyFile, nameof(KeyFile)),
    });
}
