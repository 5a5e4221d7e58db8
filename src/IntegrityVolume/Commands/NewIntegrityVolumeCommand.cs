using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// New-IntegrityVolume: format a device or image file as a dm-integrity volume in userspace (superblock,
/// empty journal, tags of the zeroed data area), byte-compatible with the kernel's own format. Destroys data:
/// ConfirmImpact High, -WhatIf validates everything and writes nothing; -WhatIf -PassThru emits the predicted volume.
/// </summary>
[Cmdlet(VerbsCommon.New, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/New-IntegrityVolume.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class NewIntegrityVolumeCommand : JournalKeyedVolumeCmdletBase
{
    /// <summary>Block devices or image files to format. Literal (no wildcards: the files may not exist yet); created when -Size is given.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Alias("DevicePath")]
    [ValidateNotNullOrEmpty]
    public override string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Create the image file with this many bytes (multiple of 512, at least 64 KiB).</summary>
    [Parameter]
    public long Size { get; set; }

    /// <summary>Bytes per tag; default (or 0, as integritysetup reads it) the algorithm's digest size.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int TagSize { get; set; }

    [Parameter]
    [ValidateSet("512", "1024", "2048", "4096")]
    public int SectorSize { get; set; } = 512;

    /// <summary>Journal size in bytes; default min(64 MiB, device size / 128) as the kernel does.</summary>
    [Parameter]
    public long JournalSize { get; set; }

    [Parameter]
    public ulong InterleaveSectors { get; set; }

    [Parameter]
    public SwitchParameter LegacyPadding { get; set; }

    [Parameter]
    public SwitchParameter LegacyHmac { get; set; }

    [Parameter]
    public ulong BitmapSectorsPerBit { get; set; }

    /// <summary>Do not compute tags; the volume is marked RECALCULATING and the kernel computes them on activation.</summary>
    [Parameter]
    public SwitchParameter NoWipe { get; set; }

    /// <summary>Reuse an existing file and overwrite a device that carries a known signature.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Format for another kernel: only warn when the running kernel lacks the algorithm (integritysetup refuses).</summary>
    [Parameter]
    public SwitchParameter AnyKernel { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Wait while another process reads or changes the device or image instead of failing with DeviceInUse.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override int ProgressActivityId => 0x1A01;

    protected override void ProcessRecord()
    {
        foreach (string input in PathInputs)
            Format(input);
    }

    private void Format(string input)
    {
        FormatRequest? request = null;
        try
        {
            if (!TryInvoke(input, () => BuildRequest(input), out var built))
                return;
            request = built;
            string path = built.Volume.Path;
            if (!TryInvoke(path, () => VolumeOperations.CheckKernelCrypto(built, AnyKernel) ?? "", out var kernelWarning))
                return;
            if (kernelWarning.Length > 0) WriteWarning(kernelWarning);
            if (!TryInvoke(path, () => VolumeOperations.PlanFormat(built, CancellationToken), out var plan))
                return;
            if (!ShouldProcess(RequestBuilder.FormatTarget(built, plan.Volume), RequestBuilder.FormatAction, out bool whatIf))
            {
                if (whatIf && PassThru) WriteObject(plan.Volume.WithAlgorithm(built.Integrity.Algorithm.IntegritysetupName, KeyFilePath));
                return;
            }
            WriteVerbose($"Formatting {path}: {plan.Volume.ProvidedDataSectors} data sectors of {plan.Volume.SectorSize} bytes, {plan.Volume.IntegrityTagSize}-byte {built.Integrity.Algorithm} tags.");
            if (!TryInvoke(path, () => VolumeOperations.Format(built, Progress, CancellationToken), out var result))
                return;
            WriteVerbose($"Formatted {path} in {Display.Duration(result.Duration)}; tag initialisation: {result.TagInitialization}.");
            if (PassThru) WriteObject(result.Volume.WithAlgorithm(built.Integrity.Algorithm.IntegritysetupName, KeyFilePath));
        }
        finally
        {
            request?.Dispose();
        }
    }

    private FormatRequest BuildRequest(string input)
    {
        string path = Paths.ResolveLiteral(input, IsLiteral ? nameof(LiteralPath) : nameof(Path));
        var location = Location(path) with { WaitForLock = Wait };
        long? size = RequestBuilder.CreateSize(IsBound(nameof(Size)) ? Size : null, path);
        if (size is not null) RequestBuilder.RequireParentFolder(path);
        var integrity = Integrity();
        try
        {
            var journal = JournalAlgorithmAndKey();
            return new FormatRequest
            {
                Volume = location,
                CreateSizeBytes = size,
                Integrity = integrity,
                TagSize = IsBound(nameof(TagSize)) ? TagSize : null,
                SectorSize = SectorSize,
                JournalSizeBytes = IsBound(nameof(JournalSize)) ? JournalSize : null,
                InterleaveSectors = IsBound(nameof(InterleaveSectors)) ? InterleaveSectors : null,
                LegacyPadding = LegacyPadding,
                LegacyHmac = LegacyHmac,
                JournalIntegrity = journal.Algorithm,
                JournalIntegrityKey = journal.Key,
                BitmapSectorsPerBit = IsBound(nameof(BitmapSectorsPerBit)) ? BitmapSectorsPerBit : null,
                NoWipe = NoWipe,
                Force = Force,
            };
        }
        catch
        {
            integrity.Key?.Dispose();
            throw;
        }
    }
}
