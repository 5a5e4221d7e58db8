using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Commands;

/// <summary>
/// New-IntegrityArray: format a dm-integrity leg on every device, open each, and create an md array over the mappings
/// (mdadm --create --assume-clean: fresh legs read zeros with valid tags everywhere, so md's initial resync is not
/// needed). Every device is checked (in use, looks like data without -Force) before the first is formatted; a failure
/// after a leg opened stops md and closes the legs again. Optional boot configuration: integritytab lines per leg and
/// mdadm's ARRAY line, written only to the files named. With -LuksKeyFile, LUKS2 on top (cryptsetup luksFormat, opened
/// as NAME-crypt) and, with -CrypttabPath, its crypttab line; with -LuksPerLeg, LUKS2 on every leg instead (RAID over
/// per-leg LUKS). Destroys data: ConfirmImpact High.
/// </summary>
[Cmdlet(VerbsCommon.New, "IntegrityArray", HelpUri = "https://github.com/integrityvolume/integrityvolume/blob/main/docs/en-US/New-IntegrityArray.md",
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(MdArrayInfo))]
public sealed class NewIntegrityArrayCommand : ArrayLegsCmdletBase
{
    /// <summary>md level: 1, 5, 6 or 10.</summary>
    [Parameter(Mandatory = true)]
    [ValidateSet("1", "5", "6", "10")]
    public int Level { get; set; }

    /// <summary>md chunk in KiB (raid5/6/10; default md's 512). Keep it a multiple of the integrity block size.</summary>
    [Parameter]
    [ValidateRange(4, 1 << 20)]
    public int Chunk { get; set; }

    /// <summary>Bytes per tag; default the algorithm's digest size.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int TagSize { get; set; }

    /// <summary>Integrity block size of the legs.</summary>
    [Parameter]
    [ValidateSet("512", "1024", "2048", "4096")]
    public int SectorSize { get; set; } = 512;

    /// <summary>Create missing image files with this many bytes.</summary>
    [Parameter]
    public long Size { get; set; }

    /// <summary>Add one line per leg to this integritytab file (created when missing). /etc is never edited unless named.</summary>
    [Parameter]
    public string? IntegrityTabPath { get; set; }

    /// <summary>Add the array's ARRAY line (mdadm --detail --brief) to this mdadm.conf (created when missing).</summary>
    [Parameter]
    public string? MdadmConfPath { get; set; }

    /// <summary>Format devices that look like data (file system, LUKS, md, integrity superblock, partition table).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Add (or replace) the crypt mapping's line (NAME UUID=... KEYFILE luks) in this crypttab (created when missing).</summary>
    [Parameter]
    public string? CrypttabPath { get; set; }

    /// <summary>cryptsetup --pbkdf of the key slot (default cryptsetup's).</summary>
    [Parameter]
    [ValidateSet("argon2id", "argon2i", "pbkdf2")]
    public string? LuksPbkdf { get; set; }

    /// <summary>cryptsetup --iter-time of the key slot in milliseconds (default cryptsetup's).</summary>
    [Parameter]
    [ValidateRange(1, 3_600_000)]
    public int LuksIterTime { get; set; }

    /// <summary>
    /// Put LUKS2 on every leg instead of on top (RAID over per-leg LUKS): each leg's integrity mapping gets its own header
    /// (the same key file), opened as LEGNAME-crypt; md goes over the crypt mappings; -CrypttabPath gets one line per leg.
    /// </summary>
    [Parameter]
    public SwitchParameter LuksPerLeg { get; set; }

    protected override int ProgressActivityId => 0x1A22;

    protected override void EndProcessing()
    {
        if (!TryInvoke(Name, BuildRequest, out var request))
            return;
        using (request)
        {
            // Every check first (-WhatIf runs them too): a refusal names the device and writes nothing.
            if (!TryInvoke(Name, () => VolumeOperations.PlanArray(request, CancellationToken)))
                return;
            if (!ShouldProcess($"{string.Join(", ", request.Devices)} as /dev/md/{Name} (raid{Level})" + (request.Luks switch
                    {
                        null => "", { OnLegs: true } => " with LUKS2 on every leg", var l => $" with LUKS2 {l.MapperName(Name)}",
                    }),
                    "Format every device as a dm-integrity leg and create an md array over them" + (request.Luks switch
                    {
                        null => "", { OnLegs: true } => ", with LUKS2 on every leg", _ => ", with LUKS2 on top",
                    }), out _))
                return;
            if (!TryInvoke(Name, () => VolumeOperations.CreateArray(request, Progress, CancellationToken), out var result))
                return;
            foreach (var w in result.Warnings) WriteWarning(w);
            WriteObject(Output(result));
        }
    }

    /// <summary>The array as md shows it (its CryptName names the crypt layer) with the boot configuration lines written.</summary>
    internal static PSObject Output(ArrayCreateResult result)
    {
        var output = PSObject.AsPSObject(result.Array);
        output.Properties.Add(new PSNoteProperty("IntegrityTabLines", result.Legs.Select(l => l.IntegrityTabLine).OfType<string>().ToArray()));
        output.Properties.Add(new PSNoteProperty("MdadmConfLine", result.MdadmConfLine));
        output.Properties.Add(new PSNoteProperty("CryptPath", result.CryptPath));
        output.Properties.Add(new PSNoteProperty("LuksUuid", result.LuksUuid));
        output.Properties.Add(new PSNoteProperty("CrypttabLine", result.CrypttabLine));
        // RAID over per-leg LUKS: each leg's crypt mapping (the md member) and its crypttab line.
        output.Properties.Add(new PSNoteProperty("LegCryptPaths", result.Legs.Select(l => l.Crypt?.Path).OfType<string>().ToArray()));
        output.Properties.Add(new PSNoteProperty("LegCrypttabLines", result.Legs.Select(l => l.CrypttabLine).OfType<string>().ToArray()));
        return output;
    }

    private ArrayCreateRequest BuildRequest()
    {
        RequireLuksKeyFileFor(CrypttabPath is not null || LuksPbkdf is not null || IsBound(nameof(LuksIterTime)) || LuksPerLeg,
            "-LuksName, -CrypttabPath, -LuksPbkdf, -LuksIterTime and -LuksPerLeg need -LuksKeyFile.");
        var devices = ResolvedDevices();
        string? luksKey = ResolvedLuksKeyFile();
        string? crypttab = Paths.ResolveOptionalLiteral(CrypttabPath, nameof(CrypttabPath));
        string? integritytab = Paths.ResolveOptionalLiteral(IntegrityTabPath, nameof(IntegrityTabPath));
        string? mdadmConf = Paths.ResolveOptionalLiteral(MdadmConfPath, nameof(MdadmConfPath));
        return new ArrayCreateRequest
        {
            Name = Name, Devices = devices, LegNames = LegName, Level = Level, ChunkKiB = IsBound(nameof(Chunk)) ? Chunk : null,
            Legs = LegIntegrity() with { TagSize = IsBound(nameof(TagSize)) ? TagSize : null, SectorSize = SectorSize },
            CreateSizeBytes = IsBound(nameof(Size)) ? Size : null,
            Force = Force,
            IntegrityTabPath = integritytab,
            MdadmConfPath = mdadmConf,
            Luks = luksKey is null ? null : new ArrayLuksOptions
            {
                KeyFilePath = luksKey, Name = LuksName, CrypttabPath = crypttab,
                Pbkdf = LuksPbkdf, IterTimeMs = IsBound(nameof(LuksIterTime)) ? LuksIterTime : null, OnLegs = LuksPerLeg,
            },
        };
    }
}
