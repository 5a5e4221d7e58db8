using System.Globalization;
using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Test-IntegrityVolume: recompute every tag of closed dm-integrity volumes offline and report mismatches
/// (the blocks the kernel would fail with EILSEQ); or, with -Name / piped Get-IntegrityVolume objects, read every
/// block of ACTIVE volumes through the kernel (online, O_DIRECT) and report the blocks it refuses. Read-only.
/// -Quiet reduces the output to one bool per volume.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "IntegrityVolume", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/Test-IntegrityVolume.md", DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(VerifyResult), ParameterSetName = new[] { PathParameterSet })]
[OutputType(typeof(OnlineVerifyResult), ParameterSetName = new[] { NameParameterSet, InputObjectParameterSet })]
[OutputType(typeof(bool))]
public sealed class TestIntegrityVolumeCommand : JournalCryptVolumeCmdletBase
{
    /// <summary>Device-mapper names of active volumes, verified online through the kernel (not by property name: a FileInfo has a Name).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(MapperNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Active volumes as Get-IntegrityVolume returns them, verified online.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNullOrEmpty]
    public IntegrityMappingInfo[] InputObject { get; set; } = Array.Empty<IntegrityMappingInfo>();

    /// <summary>Journal MAC algorithm (journal_mac) of the volume; with a salt the superblock MAC is checked.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    public override string? JournalIntegrity { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    public override string? JournalIntegrityKeyFile { get; set; }

    /// <summary>Journal encryption cipher (journal_crypt) of the volume: its journal is decrypted to check the pending entries.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [ArgumentCompleter(typeof(JournalCipherCompleter))]
    public override string? JournalCrypt { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    public override string? JournalCryptKeyFile { get; set; }

    /// <summary>Hashing threads per volume (offline; 0 = one per processor), or concurrent reads (online; 0 = up to 4).</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>Output $true (no mismatch) or $false (mismatch, or the volume could not be checked) per volume.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Wait while another process changes the volume (an exclusive lock) instead of failing with DeviceInUse.</summary>
    [Parameter(ParameterSetName = PathParameterSet)]
    [Parameter(ParameterSetName = LiteralPathParameterSet)]
    public SwitchParameter Wait { get; set; }

    protected override int ProgressActivityId => 0x1A02;

    protected override void ProcessRecord()
    {
        if (ParameterSetName is NameParameterSet or InputObjectParameterSet)
        {
            foreach (string name in ParameterSetName == InputObjectParameterSet ? InputObject.Select(o => o.Name) : Name)
                VerifyOnline(name);
            return;
        }
        foreach (string input in PathInputs)
        {
            if (!TryInvoke(input, () => ResolveExisting(input), out var resolved))
            {
                WriteQuietFailure();
                continue;
            }
            foreach (string path in resolved)
                Verify(path);
        }
    }

    // The tags exist already: an omitted -Algorithm is detected on the volume.
    protected override bool DetectsAlgorithm => true;

    private void Verify(string path)
    {
        VerifyRequest? request = null;
        try
        {
            AlgorithmDetection? detection = null;
            if (!TryInvoke(path, () => BuildRequest(path, out detection), out var built))
            {
                WriteQuietFailure();
                return;
            }
            request = built;
            WriteVerbose($"Verifying {path} with {built.Integrity.Algorithm} ({(ThrottleLimit == 0 ? "one thread per processor" : ThrottleLimit + " threads")}).");
            if (!TryInvoke(path, () => VolumeOperations.Verify(built, Progress, CancellationToken), out var result))
            {
                WriteQuietFailure();
                return;
            }
            foreach (string warning in result.Warnings)
                WriteWarning($"{result.Path}: {warning}");
            WriteVerbose(string.Create(CultureInfo.InvariantCulture,
                $"{result.Path}: {result.BlocksChecked} blocks checked, {result.MismatchedBlocks} mismatched, {result.ThroughputMiBps} MiB/s in {Display.Duration(result.Duration)}."));
            if (result.MismatchedBlocks > 0)
                WriteVerbose($"{result.Path}: mismatched sectors {Display.Ranges(result.MismatchedSectors, 10)}.");
            if (Quiet) WriteObject(result.Healthy);
            else WriteObject(result.WithKeyFile(KeyFilePath).WithDetection(detection));
        }
        finally
        {
            request?.Dispose();
        }
    }

    private VerifyRequest BuildRequest(string path, out AlgorithmDetection? detection)
    {
        var location = Location(path) with { WaitForLock = Wait };
        detection = null;
        IntegrityAlgorithmSpec integrity;
        if (DetectingAlgorithm) (detection, integrity) = DetectIntegrity(location);
        else integrity = Integrity();
        try
        {
            var journal = JournalAlgorithmAndKey();
            var cipher = JournalCipherAndKey();
            return new VerifyRequest
            {
                Volume = location, Integrity = integrity, Threads = ThrottleLimit,
                JournalIntegrity = journal.Algorithm, JournalIntegrityKey = journal.Key,
                JournalCrypt = cipher.Cipher, JournalCryptKey = cipher.Key,
            };
        }
        catch
        {
            integrity.Key?.Dispose();
            throw;
        }
    }

    private void VerifyOnline(string name)
    {
        WriteVerbose($"Reading every block of the active volume {name} through the kernel ({(ThrottleLimit == 0 ? "automatic" : ThrottleLimit.ToString(CultureInfo.InvariantCulture))} concurrent reads).");
        if (!TryInvoke(name, () => OnlineVerifier.VerifyMapping(name, new OnlineVerifyOptions { Threads = ThrottleLimit }, Progress, CancellationToken), out var result))
        {
            WriteQuietFailure();
            return;
        }
        foreach (string warning in result.Warnings)
            WriteWarning($"{result.Name}: {warning}");
        WriteVerbose(OnlineVerifyText.Summary(result));
        if (result.MismatchedBlocks > 0)
            WriteVerbose($"{result.Name}: mismatched sectors {Display.Ranges(result.MismatchedSectors, 10)}.");
        if (result.UnreadableBlocks > 0)
            WriteVerbose($"{result.Name}: unreadable sectors {Display.Ranges(result.UnreadableSectors, 10)}.");
        if (Quiet) WriteObject(result.Healthy);
        else WriteObject(result);
    }

    private void WriteQuietFailure()
    {
        if (Quiet && !Stopping) WriteObject(false);
    }
}
