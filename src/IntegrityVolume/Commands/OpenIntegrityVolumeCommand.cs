using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Open-IntegrityVolume: activate a dm-integrity volume through the kernel (integritysetup open): read the superblock,
/// build the table, create the device-mapper device; image files get an autoclear loop device that goes away with
/// the mapping. Needs root and device-mapper. -WhatIf checks the superblock against the options and creates nothing.
/// </summary>
/// <remarks>
/// Verb: Open (VerbsCommon, "makes a resource accessible"), paired with Close. ConfirmImpact Medium: it changes the
/// system's device list but writes nothing to the volume beyond what the kernel writes on activation.
/// </remarks>
[Cmdlet(VerbsCommon.Open, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Open-IntegrityVolume.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(IntegrityMappingInfo))]
public sealed class OpenIntegrityVolumeCommand : JournalCryptVolumeCmdletBase
{
    /// <summary>The device-mapper name: the volume appears as /dev/mapper/&lt;Name&gt;.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>
    /// Journal (default), Bitmap, Direct (no journal) or Recovery (no tag checks, read-only use): Core's mode type,
    /// bound by name in any case. The set is <see cref="IntegrityModes.Openable"/> (Inline comes from the superblock).
    /// </summary>
    [Parameter]
    [ValidateSet(nameof(IntegrityMode.Journal), nameof(IntegrityMode.Bitmap), nameof(IntegrityMode.Direct), nameof(IntegrityMode.Recovery))]
    public IntegrityMode Mode { get; set; } = IntegrityMode.Journal;

    [Parameter]
    public SwitchParameter ReadOnly { get; set; }

    [Parameter]
    public SwitchParameter AllowDiscards { get; set; }

    /// <summary>Journal fill percentage that starts a flush (journal mode).</summary>
    [Parameter]
    [ValidateRange(0u, 100u)]
    public uint JournalWatermark { get; set; }

    /// <summary>Journal commit time in milliseconds (journal mode).</summary>
    [Parameter]
    public uint JournalCommitTime { get; set; }

    /// <summary>Bitmap flush interval in milliseconds (bitmap mode).</summary>
    [Parameter]
    public uint BitmapFlushInterval { get; set; }

    /// <summary>512-byte sectors per bitmap bit (bitmap mode).</summary>
    [Parameter]
    public ulong BitmapSectorsPerBit { get; set; }

    /// <summary>Metadata buffer size in 512-byte sectors.</summary>
    [Parameter]
    [ValidateRange(1u, uint.MaxValue)]
    public uint BufferSectors { get; set; }

    /// <summary>Recalculate the tags of the part not yet protected (table argument 'recalculate').</summary>
    [Parameter]
    public SwitchParameter Recalculate { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override int ProgressActivityId => 0x1A05;

    protected override void ProcessRecord()
    {
        // One name, one volume: a second path would only collide with the first mapping.
        if (PathInputs.Count != 1)
        {
            TryInvoke(Name, () => throw new IntegrityVolumeException(ModuleErrorIds.PathAmbiguous, ErrorKind.InvalidArgument,
                $"-Path: {PathInputs.Count} volumes for one name '{Name}'; open them one at a time."));
            return;
        }
        IntegrityOpenRequest? request = null;
        try
        {
            if (!TryInvoke(PathInputs[0], () => BuildRequest(PathInputs[0]), out var built))
                return;
            request = built;
            // Read-only checks first, so -WhatIf reports what the kernel would refuse for the same reason.
            var location = new VolumeLocation { Path = built.Device, DataDevicePath = built.DataDevice, ReservedSectors = built.ReservedSectors };
            if (!TryInvoke(built.Device, () => VolumeOperations.ReadSuperblock(location), out var sb))
                return;
            if (!TryInvoke(built.Device, () => MappingRequests.Plan(built, sb), out var table))
                return;
            WriteVerbose($"dm-integrity table for {Name}: {table}");
            if (!ShouldProcess(MappingRequests.OpenTarget(built), MappingRequests.OpenAction, out _))
                return;
            if (!TryInvoke(Name, () => IntegrityMappings.Open(built, sb, CancellationToken), out var info))
                return;
            WriteVerbose(MappingRequests.Describe(info));
            if (PassThru) WriteObject(info with { AlgorithmSource = DetectingAlgorithm ? AlgorithmSource.Detected : AlgorithmSource.Given });
        }
        finally
        {
            request?.Options.Dispose();
        }
    }

    // The kernel computes the tags: any algorithm its crypto API knows may be named, and it says why it rejects one.
    protected override bool ComputesTags => false;

    protected override bool DetectsAlgorithm => true;

    private (string? Algorithm, IntegrityKey? Key) Detected(VolumeLocation location)
    {
        var (_, spec) = DetectIntegrity(location);
        return (spec.Algorithm.IntegritysetupName, spec.Key);
    }

    private IntegrityOpenRequest BuildRequest(string input)
    {
        MappingRequests.ValidateName(Name);
        var location = Location(ResolveSingleExisting(input));
        // No -Algorithm: found on the volume offline before the table is built (the kernel computes the tags).
        var integrity = DetectingAlgorithm ? Detected(location) : AlgorithmAndKey();
        try
        {
            var journal = JournalAlgorithmAndKey();
            var cipher = JournalCipherAndKey();
            return new IntegrityOpenRequest
            {
                Device = location.Path,
                Name = Name,
                DataDevice = location.DataDevicePath,
                ReservedSectors = location.ReservedSectors,
                ReadOnly = ReadOnly,
                Options = new IntegrityActivationOptions
                {
                    Algorithm = integrity.Algorithm,
                    Key = integrity.Key,
                    JournalMacAlgorithm = journal.Algorithm?.IntegritysetupName,
                    JournalMacKey = journal.Key,
                    JournalCryptAlgorithm = cipher.Cipher,
                    JournalCryptKey = cipher.Key,
                    Mode = Mode,
                    AllowDiscards = AllowDiscards,
                    BufferSectors = IsBound(nameof(BufferSectors)) ? BufferSectors : null,
                    JournalWatermark = IsBound(nameof(JournalWatermark)) ? JournalWatermark : null,
                    CommitTimeMs = IsBound(nameof(JournalCommitTime)) ? JournalCommitTime : null,
                    SectorsPerBit = IsBound(nameof(BitmapSectorsPerBit)) ? BitmapSectorsPerBit : null,
                    BitmapFlushIntervalMs = IsBound(nameof(BitmapFlushInterval)) ? BitmapFlushInterval : null,
                    Recalculate = Recalculate,
                },
            };
        }
        catch
        {
            integrity.Key?.Dispose();
            throw;
        }
    }
}
