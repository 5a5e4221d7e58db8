using System.Globalization;
using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Resize-IntegrityVolume: grow or shrink a closed volume (image file or device; only the new tail gets tags), or an
/// active mapping through the kernel (-Name, integritysetup resize).
/// </summary>
/// <remarks>
/// Verb: Resize (VerbsCommon, "changes the size of a resource"). ConfirmImpact Medium for a grow, which adds room and
/// touches nothing written; a shrink is treated as High: it prompts unless -Confirm:$false, $ConfirmPreference None or
/// -Force, and it is refused while the cut tail holds written blocks unless -Force.
/// </remarks>
[Cmdlet(VerbsCommon.Resize, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Resize-IntegrityVolume.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(ResizeResult))]
public sealed class ResizeIntegrityVolumeCommand : JournalKeyedVolumeCmdletBase
{
    private bool _yesToAll, _noToAll;

    /// <summary>Name of an active mapping (/dev/mapper/NAME) to resize through the kernel.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(MapperNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>New size in bytes of the device or image holding the data (integritysetup --device-size); an image file
    /// is grown or truncated to it. Default: the device's current size.</summary>
    [Parameter]
    public long Size { get; set; }

    /// <summary>New data size in 512-byte sectors (integritysetup --size).</summary>
    [Parameter]
    public ulong SizeSectors { get; set; }

    /// <summary>Shrink although the cut tail holds written blocks (they are listed in CutRanges), without a prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>With -Name: reload with recalculate instead of wiping the grown tail.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public SwitchParameter NoWipe { get; set; }

    /// <summary>Wait for another writer or reader of the volume to finish instead of failing with DeviceInUse.</summary>
    [Parameter(ParameterSetName = PathParameterSet)]
    [Parameter(ParameterSetName = LiteralPathParameterSet)]
    public SwitchParameter Wait { get; set; }

    protected override int ProgressActivityId => 0x1A15;

    private long? SizeBytes => MyInvocation.BoundParameters.ContainsKey(nameof(Size)) ? Size : null;
    private ulong? SectorsGiven => MyInvocation.BoundParameters.ContainsKey(nameof(SizeSectors)) ? SizeSectors : null;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == NameParameterSet)
        {
            ResizeActive();
            return;
        }
        foreach (string input in PathInputs)
            ResizeClosed(input);
    }

    private void ResizeActive()
    {
        long? bytesGiven = SizeBytes;
        if (bytesGiven is long b && (b <= 0 || b % 512 != 0))
        {
            TryInvoke<bool>(Name, () => throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"-Size {b} must be a positive multiple of 512 bytes.", Name), out _);
            return;
        }
        ulong? sectors = SectorsGiven ?? (bytesGiven is long bytes ? (ulong)bytes / 512 : null);
        string action = sectors is ulong s
            ? string.Create(CultureInfo.InvariantCulture, $"Resize the active mapping to {s} sectors (reload through the kernel)")
            : "Resize the active mapping to its device's size (reload through the kernel)";
        if (!ShouldProcess($"/dev/mapper/{Name}", action))
            return;
        if (TryInvoke(Name, () => VolumeOperations.ResizeActive(new OnlineResizeRequest { Name = Name, SizeSectors = sectors, Wipe = !NoWipe, Force = Force }, Progress, CancellationToken), out var result))
            Emit(Name, result);
    }

    private void ResizeClosed(string input)
    {
        ResizeRequest? request = null;
        try
        {
            if (!TryInvoke(input, () => BuildRequest(input), out var built))
                return;
            request = built;
            string path = built.Volume.Path;
            // The plan first (read-only): -WhatIf names the new size and what a shrink would cut.
            if (!TryInvoke(path, () => VolumeOperations.PlanResize(built, CancellationToken), out var plan))
                return;
            string action = plan.Action switch
            {
                "grow" => FormattableString.Invariant($"Grow from {plan.OldProvidedDataSectors} to {plan.NewProvidedDataSectors} data sectors (device {plan.OldDeviceBytes} -> {plan.NewDeviceBytes} bytes; only the new tail gets tags)"),
                "shrink" => FormattableString.Invariant($"Shrink from {plan.OldProvidedDataSectors} to {plan.NewProvidedDataSectors} data sectors (device {plan.OldDeviceBytes} -> {plan.NewDeviceBytes} bytes)") +
                    (plan.CutBlocks > 0 ? FormattableString.Invariant($", cutting {plan.CutBlocks} written blocks at sectors {string.Join(", ", plan.CutRanges.Take(20))}") : ", cutting no written block"),
                _ => FormattableString.Invariant($"Keep {plan.NewProvidedDataSectors} data sectors (device {plan.OldDeviceBytes} -> {plan.NewDeviceBytes} bytes)"),
            };
            if (!ShouldProcess(path, action))
                return;
            if (plan.Action == "shrink" && !Force && ShrinkNeedsConfirmation() &&
                !ShouldContinue($"{action}. Continue?", $"Shrink {path}", false, ref _yesToAll, ref _noToAll))
                return;
            if (TryInvoke(path, () => VolumeOperations.Resize(built, Progress, CancellationToken), out var result))
                Emit(path, result);
        }
        finally
        {
            request?.Dispose();
        }
    }

    /// <summary>A shrink is a High-impact change: it asks unless -Confirm was answered already, -Confirm:$false, or $ConfirmPreference is None.</summary>
    private bool ShrinkNeedsConfirmation()
    {
        if (MyInvocation.BoundParameters.TryGetValue("Confirm", out object? confirm))
            return false;   // -Confirm asked in ShouldProcess; -Confirm:$false asks nothing
        var preference = GetVariableValue("ConfirmPreference") is ConfirmImpact p ? p : ConfirmImpact.High;
        return preference != ConfirmImpact.None && preference <= ConfirmImpact.High;
    }

    private void Emit(string target, ResizeResult result)
    {
        foreach (string warning in result.Warnings) WriteWarning($"{target}: {warning}");
        WriteObject(result);
    }

    private ResizeRequest BuildRequest(string input)
    {
        var (journalAlgorithm, journalKey) = JournalAlgorithmAndKey();
        return new ResizeRequest
        {
            Volume = Location(ResolveSingleExisting(input)) with { WaitForLock = Wait },
            Integrity = Integrity(),
            JournalIntegrity = journalAlgorithm, JournalIntegrityKey = journalKey,
            DeviceSizeBytes = SizeBytes, SizeSectors = SectorsGiven, Force = Force,
        };
    }
}
