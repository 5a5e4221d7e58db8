using System.Globalization;
using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Verification;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Repair-IntegrityVolume: rewrite the mismatched blocks of closed volumes from a copy of the same logical data
/// (-From: a second integrity volume whose own tags verify each block, or a plain image or device at -FromOffset),
/// accept the current data of given sectors (-Retag), or write zeros with a valid tag where no copy heals (-ZeroLost).
/// Piped Test-IntegrityVolume results bind -Path, -Algorithm, -KeyFile and their MismatchedSectors to -Sector, so
/// exactly what the test found is repaired. Only mismatched blocks are written, through the kernel's journal.
/// Active volumes (-Name, or piped Test-IntegrityVolume -Name results) are repaired through /dev/mapper: the kernel
/// computes the tags.
/// </summary>
/// <remarks>
/// Verb: Repair (VerbsDiagnostic, "restores a resource to a usable condition", as Repair-Volume). ConfirmImpact High:
/// it overwrites data blocks (re-tag accepts possibly corrupt data, zeroing discards it); ShouldProcess is asked once
/// per volume with the block count after the blocks are classified, so -WhatIf lists exactly what would be written.
/// </remarks>
[Cmdlet(VerbsDiagnostic.Repair, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Repair-IntegrityVolume.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(RepairResult))]
public sealed class RepairIntegrityVolumeCommand : KeyedVolumeCmdletBase
{
    /// <summary>Device-mapper names of ACTIVE volumes, repaired online: the blocks are written through the kernel, which computes their tags.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(MapperNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Results of Test-IntegrityVolume -Name: each active volume is repaired online, exactly its MismatchedSectors.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNullOrEmpty]
    public OnlineVerifyResult[] InputObject { get; set; } = Array.Empty<OnlineVerifyResult>();

    /// <summary>Copy of the same logical data: a second integrity volume (RAID1 leg), a plain image or device, a backup.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? From { get; set; }

    /// <summary>Sector S of the volume is sector S + FromOffset of the copy (e.g. md's data offset on a RAID1 member).</summary>
    [Parameter]
    public ulong FromOffset { get; set; }

    /// <summary>Separate data device of an integrity copy.</summary>
    [Parameter]
    public string? FromDataDevice { get; set; }

    /// <summary>Sectors before the copy's superblock.</summary>
    [Parameter]
    public ulong FromReservedSectors { get; set; }

    /// <summary>Read the copy as plain bytes even when it carries an integrity superblock.</summary>
    [Parameter]
    public SwitchParameter FromPlain { get; set; }

    /// <summary>Write a plain copy's block even when nothing can verify it (the volume's stored tag is damaged too).</summary>
    [Parameter]
    public SwitchParameter TrustCopy { get; set; }

    /// <summary>Blocks no copy heals get zeros with a valid tag (reads stop failing); the result lists them as lost.</summary>
    [Parameter]
    public SwitchParameter ZeroLost { get; set; }

    /// <summary>Accept the current data of -Sector: recompute their tags.</summary>
    [Parameter]
    public SwitchParameter Retag { get; set; }

    /// <summary>Sectors to repair ("8-15", or a verify result's MismatchedSectors); without it the whole volume is verified first.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("MismatchedSectors")]
    public SectorRange[]? Sector { get; set; }

    /// <summary>Repair given sectors although an earlier write was interrupted (warns). A wrong algorithm or key is always refused.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Wait for another writer or reader of the volume to finish instead of failing with DeviceInUse.</summary>
    [Parameter(ParameterSetName = PathParameterSet)]
    [Parameter(ParameterSetName = LiteralPathParameterSet)]
    public SwitchParameter Wait { get; set; }

    /// <summary>
    /// Key of a keyed algorithm (hmac-*). Offline it is the volume's key; online (-Name, piped results) the live table's
    /// algorithm is keyed with it, and it checks an integrity copy's own tags (without it such a copy is read as plain data).
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = InputObjectParameterSet)]
    public override string? KeyFile { get; set; }

    /// <summary>Hashing threads of the verify pass (0 = one per processor).</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int ThrottleLimit { get; set; }

    protected override int ProgressActivityId => 0x1A04;

    protected override bool AlgorithmFromLiveTable => ParameterSetName is NameParameterSet or InputObjectParameterSet;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == NameParameterSet)
        {
            foreach (string name in Name) RepairOnline(name);
            return;
        }
        if (ParameterSetName == InputObjectParameterSet)
        {
            // Sector is bound from the result's MismatchedSectors (its alias), so only what the test found is rewritten.
            foreach (OnlineVerifyResult verified in InputObject) RepairOnline(verified.Name);
            return;
        }
        foreach (string input in PathInputs)
        {
            if (!TryInvoke(input, () => ResolveExisting(input), out var resolved)) continue;
            foreach (string path in resolved) Repair(path);
        }
    }

    private void Repair(string path)
    {
        RepairRequest? request = null;
        try
        {
            if (!TryInvoke(path, () => BuildRequest(path), out var built)) return;
            request = built;
            WriteVerbose(built.Sectors is null
                ? $"Verifying {path} with {built.Integrity.Algorithm}, then repairing its mismatched blocks."
                : $"Repairing the blocks of {built.Sectors.Length} given sector ranges of {path}.");
            if (!TryInvoke(path, () => VolumeOperations.Repair(built, Progress, CancellationToken), out var result)) return;
            foreach (string warning in result.Warnings) WriteWarning($"{path}: {warning}");
            if (!result.WhatIf && result.UnrepairedBlocks > 0)
                WriteWarning(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: {result.UnrepairedBlocks} blocks could not be repaired and still fail reads: sectors {Display.Ranges(result.UnrepairedSectors, 10)} (-ZeroLost zeroes them, -TrustCopy writes an unverifiable copy)."));
            if (result.LostSectors.Length > 0)
                WriteVerbose($"{path}: lost (zeroed) sectors {Display.Ranges(result.LostSectors, 10)}.");
            WriteObject(result);
        }
        finally
        {
            request?.Dispose();
        }
    }

    /// <summary>Online: the same modes through /dev/mapper/NAME (Core's OnlineRepairer); the result has Name set.</summary>
    private void RepairOnline(string name)
    {
        if (!TryInvoke(name, () => new OnlineRepairRequest
            {
                Name = name,
                Key = KeyFilePath is { } keyFile ? Core.KeyFile.Read(keyFile, "-KeyFile") : null,
                Source = CopySource(),
                TrustCopy = TrustCopy, ZeroLost = ZeroLost, Retag = Retag,
                Sectors = IsBound(nameof(Sector)) ? Sector ?? [] : null,
                Force = Force, Threads = ThrottleLimit,
                Confirm = plan => Confirm(name, plan),
            }, out var request)) return;
        using (request)
        {
            WriteVerbose(request.Sectors is null
                ? $"Reading every block of the active volume {name} through the kernel, then rewriting the blocks it fails through the mapping."
                : $"Rewriting the failing blocks of {request.Sectors.Length} given sector ranges of the active volume {name} through the mapping.");
            if (!TryInvoke(name, () => VolumeOperations.RepairActive(request, Progress, CancellationToken), out var result)) return;
            foreach (string warning in result.Warnings) WriteWarning($"{name}: {warning}");
            if (!result.WhatIf && result.UnrepairedBlocks > 0)
                WriteWarning(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: {result.UnrepairedBlocks} blocks could not be repaired and still fail reads: sectors {Display.Ranges(result.UnrepairedSectors, 10)}."));
            WriteObject(result);
        }
    }

    /// <summary>
    /// ShouldProcess once per volume, with the plan's block count. Core asks only when something would be written (blocks,
    /// a pending journal's replay, an interrupted write's record settled), so -WhatIf never writes.
    /// </summary>
    private bool Confirm(string path, RepairResult plan) =>
        ShouldProcess(path, string.Create(CultureInfo.InvariantCulture,
            $"Repair: {(plan.Name is null ? "settle the journal and any interrupted write's record, and write" : "write through the kernel")} {plan.BlocksToWrite} blocks with new tags ({plan.HealedBlocks + plan.HealedUnverifiedBlocks} from the copy, " +
            $"{plan.RetaggedBlocks} re-tagged, {plan.ZeroedBlocks} zeroed; sectors {Display.Ranges(plan.Ranges.Where(r => r.Outcome is RepairOutcome.Healed or RepairOutcome.HealedUnverified or RepairOutcome.Retagged or RepairOutcome.Zeroed).Select(r => new SectorRange(r.StartSector, r.Sectors)).ToArray(), 10)})"), out _);

    /// <summary>The copy named by -From and its options; null without -From.</summary>
    private RepairSource? CopySource() => From is null ? null : new RepairSource
    {
        Path = Paths.ResolveExistingLiteral(From, nameof(From))[0],
        DataDevicePath = Paths.ResolveOptionalLiteral(FromDataDevice, nameof(FromDataDevice)),
        OffsetSectors = FromOffset, ReservedSectors = FromReservedSectors, Plain = FromPlain,
    };

    private RepairRequest BuildRequest(string path) => new()
    {
        Volume = Location(path) with { WaitForLock = Wait },
        Integrity = Integrity(),
        Source = CopySource(),
        TrustCopy = TrustCopy, ZeroLost = ZeroLost, Retag = Retag,
        Sectors = IsBound(nameof(Sector)) ? Sector ?? [] : null,
        Force = Force, Threads = ThrottleLimit,
        Confirm = plan => Confirm(path, plan),
    };
}
