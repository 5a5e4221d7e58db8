using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

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
[Cmdlet(VerbsCommunications.Write, "IntegrityVolumeData", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Write-IntegrityVolumeData.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(WriteResult))]
public sealed class WriteIntegrityVolumeDataCommand : JournalKeyedVolumeCmdletBase
{
    /// <summary>Plain file whose bytes become the volume content.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string InputPath { get; set; } = "";

    /// <summary>First logical 512-byte sector to write; must be a multiple of the volume's sector size in sectors.</summary>
    [Parameter]
    public ulong OffsetSector { get; set; }

    /// <summary>Write although the algorithm or key cannot be proven on the volume, or an earlier write was interrupted (warns).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Wait for another writer or reader of the volume to finish instead of failing with DeviceInUse.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override int ProgressActivityId => 0x1A03;

    /// <summary>Each -Path value must name exactly one volume; every one of them gets the same content.</summary>
    protected override void ProcessRecord()
    {
        foreach (string input in PathInputs)
            Write(input);
    }

    private void Write(string input)
    {
        WriteRequest? request = null;
        try
        {
            if (!TryInvoke(input, () => BuildRequest(input), out var built))
                return;
            request = built;
            string path = built.Volume.Path;
            // Read-only check first, so -WhatIf fails on a path that is not a volume.
            if (!TryInvoke(path, () => VolumeOperations.Inspect(built.Volume, CancellationToken), out var volume))
                return;
            if (!ShouldProcess(path, RequestBuilder.WriteAction(built), out _))
                return;
            WriteVerbose($"Writing {built.InputPath} into {path} ({volume.ProvidedDataSectors} data sectors) at sector {built.OffsetSectors} with {built.Integrity.Algorithm} tags.");
            if (TryInvoke(path, () => VolumeOperations.Write(built, Progress, CancellationToken), out var result))
            {
                foreach (string warning in result.Warnings) WriteWarning($"{path}: {warning}");
                WriteObject(result.WithAlgorithm(built.Integrity.Algorithm.IntegritysetupName, KeyFilePath));
            }
        }
        finally
        {
            request?.Dispose();
        }
    }

    private WriteRequest BuildRequest(string input)
    {
        // journal_mac: a volume formatted with one is written through its journal only when the MAC and key are given.
        var (journalMac, journalKey) = JournalAlgorithmAndKey();
        return new()
        {
            Volume = Location(ResolveSingleExisting(input)) with { WaitForLock = Wait },
            InputPath = Paths.ResolveLiteral(InputPath, nameof(InputPath)),
            OffsetSectors = OffsetSector,
            Integrity = Integrity(),
            JournalIntegrity = journalMac,
            JournalIntegrityKey = journalKey,
            Force = Force,
        };
    }
}
