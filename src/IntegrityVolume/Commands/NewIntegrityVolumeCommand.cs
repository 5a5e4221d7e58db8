using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Engine;

namespace IntegrityVolume.Commands;

/// <summary>
/// New-IntegrityVolume: format a device or image file as a dm-integrity volume in userspace (superblock,
/// empty journal, tags of the zeroed data area), byte-compatible with the kernel's own format. Destroys data:
/// ConfirmImpact High, -WhatIf validates everything and writes nothing; -WhatIf -PassThru emits the predicted volume.
/// </summary>
[Cmdlet(VerbsCommon.New, "IntegrityVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(VolumeInfo))]
public sealed class NewIntegrityVolumeCommand : IntegrityVolumeCmdletBase
{
    /// <summary>Block device or image file to format. Literal (no wildcards); created when -Size is given.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "DevicePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Create the image file with this many bytes (multiple of 512, at least 64 KiB).</summary>
    [Parameter]
    public long Size { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    [ValidateNotNullOrEmpty]
    public string Algorithm { get; set; } = RequestBuilder.DefaultAlgorithm;

    [Parameter]
    public string? KeyFile { get; set; }

    /// <summary>Bytes per tag; default the algorithm's digest size.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
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

    /// <summary>Journal MAC algorithm (journal_mac), e.g. hmac-sha256.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    public string? JournalIntegrity { get; set; }

    [Parameter]
    public string? JournalIntegrityKeyFile { get; set; }

    [Parameter]
    public ulong BitmapSectorsPerBit { get; set; }

    [Parameter]
    public string? DataDevice { get; set; }

    [Parameter]
    public ulong ReservedSectors { get; set; }

    /// <summary>Do not compute tags; the volume is marked RECALCULATING and the kernel computes them on activation.</summary>
    [Parameter]
    public SwitchParameter NoWipe { get; set; }

    /// <summary>Reuse an existing file and overwrite a device that carries a known signature.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override int ProgressActivityId => 0x1A01;

    protected override void ProcessRecord()
    {
        FormatRequest? request = null;
        try
        {
            if (!TryInvoke(Path, BuildRequest, out var built))
                return;
            request = built;
            if (!TryInvoke(built.Volume.Path, () => VolumeOperations.PlanFormat(built), out var plan))
                return;
            string path = built.Volume.Path;
            if (!ShouldProcess(RequestBuilder.FormatTarget(built, plan.Volume), RequestBuilder.FormatAction, out bool whatIf))
            {
                if (whatIf && PassThru) WriteObject(plan.Volume);
                return;
            }
            WriteVerbose($"Formatting {path}: {plan.Volume.ProvidedDataSectors} data sectors of {plan.Volume.SectorSize} bytes, {plan.Volume.IntegrityTagSize}-byte {built.Integrity.Algorithm} tags.");
            if (!TryInvoke(path, () => VolumeOperations.Format(built, Progress, CancellationToken), out var result))
                return;
            WriteVerbose($"Formatted {path} in {Display.Duration(result.Duration)}; tag initialisation: {result.TagInitialization}.");
            if (PassThru) WriteObject(result.Volume);
        }
        finally
        {
            request?.Dispose();
        }
    }

    private FormatRequest BuildRequest() => RequestBuilder.Format(new FormatParameters
    {
        Path = Paths.ResolveLiteral(Path, nameof(Path)),
        Size = IsBound(nameof(Size)) ? Size : null,
        Algorithm = Algorithm,
        KeyFile = Paths.ResolveOptionalLiteral(KeyFile, nameof(KeyFile)),
        TagSize = IsBound(nameof(TagSize)) ? TagSize : null,
        SectorSize = SectorSize,
        JournalSize = IsBound(nameof(JournalSize)) ? JournalSize : null,
        InterleaveSectors = IsBound(nameof(InterleaveSectors)) ? InterleaveSectors : null,
        LegacyPadding = LegacyPadding,
        LegacyHmac = LegacyHmac,
        JournalIntegrity = JournalIntegrity,
        JournalIntegrityKeyFile = Paths.ResolveOptionalLiteral(JournalIntegrityKeyFile, nameof(JournalIntegrityKeyFile)),
        BitmapSectorsPerBit = IsBound(nameof(BitmapSectorsPerBit)) ? BitmapSectorsPerBit : null,
        DataDevice = Paths.ResolveOptionalLiteral(DataDevice, nameof(DataDevice)),
        ReservedSectors = ReservedSectors,
        NoWipe = NoWipe,
        Force = Force,
    });
}
