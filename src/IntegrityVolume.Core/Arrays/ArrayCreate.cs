using System.Diagnostics;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Arrays;

/// <summary>
/// Integrity parameters shared by every leg of an array: what <c>ivol format</c> and <c>ivol open</c> take. Disposing it
/// disposes the key it carries.
/// </summary>
public sealed record ArrayLegIntegrity : IDisposable
{
    public IntegrityAlgorithmSpec Integrity { get; init; } = new();
    /// <summary>Path of the key file of a keyed algorithm (written into integritytab lines; never the key itself).</summary>
    public string? KeyFilePath { get; init; }
    /// <summary>Bytes per tag; null or 0 = the algorithm's digest size.</summary>
    public int? TagSize { get; init; }
    /// <summary>Integrity block size: 512, 1024, 2048 or 4096.</summary>
    public int SectorSize { get; init; } = 512;
    /// <summary>Journal size in bytes; null = the kernel default.</summary>
    public long? JournalSizeBytes { get; init; }
    /// <summary>Journal (default), bitmap or direct mode of the legs' mappings (and of their integritytab lines).</summary>
    public IntegrityMode Mode { get; init; } = IntegrityMode.Journal;
    /// <summary>Pass discards down.</summary>
    public bool AllowDiscards { get; init; }

    public void Dispose() => Integrity.Key?.Dispose();

    internal IntegrityActivationOptions Activation() => new()
    {
        Algorithm = Integrity.Algorithm.IntegritysetupName, Key = Integrity.Key, Mode = Mode, AllowDiscards = AllowDiscards,
    };
}

/// <summary>Create an md array over freshly formatted dm-integrity legs (VolumeOperations.CreateArray).</summary>
public sealed record ArrayCreateRequest : IDisposable
{
    /// <summary>The md name: the array appears as /dev/md/NAME.</summary>
    public required string Name { get; init; }
    /// <summary>Block devices or image files, one per leg (formatted: their content is destroyed).</summary>
    public required IReadOnlyList<string> Devices { get; init; }
    /// <summary>Device-mapper names of the legs; default NAME-leg0, NAME-leg1, ...</summary>
    public IReadOnlyList<string>? LegNames { get; init; }
    /// <summary>md level: 1, 5, 6 or 10.</summary>
    public required int Level { get; init; }
    /// <summary>md chunk in KiB (raid5/6/10); null = md's default (512 KiB). A multiple of the integrity block size.</summary>
    public int? ChunkKiB { get; init; }
    public ArrayLegIntegrity Legs { get; init; } = new();
    /// <summary>Create missing image files with this size (bytes); existing files are reused only with <see cref="Force"/>.</summary>
    public long? CreateSizeBytes { get; init; }
    /// <summary>Format devices that look like data (a file system, LUKS, md, an integrity superblock).</summary>
    public bool Force { get; init; }
    /// <summary>Add one line per leg to this integritytab (created when missing); null: none written.</summary>
    public string? IntegrityTabPath { get; init; }
    /// <summary>Add (or replace) the array's ARRAY line in this mdadm.conf (created when missing); null: none written.</summary>
    public string? MdadmConfPath { get; init; }
    /// <summary>LUKS2 on top of the array (cryptsetup luksFormat, then open as NAME-crypt); null: none.</summary>
    public ArrayLuksOptions? Luks { get; init; }

    public string LegName(int k) => ArrayCreate.LegName(Name, LegNames, k);

    public void Dispose() => Legs.Dispose();
}

/// <summary>Open the legs of an existing array and assemble it (VolumeOperations.OpenArray).</summary>
public sealed record ArrayOpenRequest : IDisposable
{
    public required string Name { get; init; }
    /// <summary>The legs' devices or image files (dm-integrity volumes), in any order.</summary>
    public required IReadOnlyList<string> Devices { get; init; }
    public IReadOnlyList<string>? LegNames { get; init; }
    public ArrayLegIntegrity Legs { get; init; } = new();
    /// <summary>Open the crypt layer after assembly when the array holds a LUKS header (as NAME-crypt); null: not opened.</summary>
    public ArrayLuksOptions? Luks { get; init; }

    public string LegName(int k) => ArrayCreate.LegName(Name, LegNames, k);

    public void Dispose() => Legs.Dispose();
}

/// <summary>One leg of a created or opened array: the device given, its mapping, and the integritytab line written for it.</summary>
public sealed record ArrayLegResult
{
    public required string Device { get; init; }
    public required string MapperName { get; init; }
    public required string MapperPath { get; init; }
    /// <summary>The device as integritytab names it (a /dev/disk/by-* link when one points at it); null when no line was made.</summary>
    public string? BootDevice { get; init; }
    public string? IntegrityTabLine { get; init; }
    /// <summary>The leg's own crypt layer (RAID over per-leg LUKS): the md member; null when the leg is the integrity mapping itself.</summary>
    public ArrayLegCryptInfo? Crypt { get; init; }
    /// <summary>The crypttab line written for the leg's crypt layer; null when none was written.</summary>
    public string? CrypttabLine { get; init; }
}

/// <summary>What CreateArray / OpenArray did: the array as md shows it, its legs, the boot configuration lines.</summary>
public sealed record ArrayCreateResult
{
    /// <summary>/dev/md/NAME.</summary>
    public required string Path { get; init; }
    public required string Name { get; init; }
    public required MdArrayInfo Array { get; init; }
    public required IReadOnlyList<ArrayLegResult> Legs { get; init; }
    /// <summary><c>mdadm --detail --brief</c>'s line: ARRAY /dev/md/NAME metadata=1.2 UUID=... name=...</summary>
    public string? MdadmConfLine { get; init; }
    public string? IntegrityTabPath { get; init; }
    public string? MdadmConfPath { get; init; }
    public string[] Warnings { get; init; } = [];
    /// <summary>The crypt mapping opened on top of the array (LUKS2); null when there is none.</summary>
    public string? CryptName { get; init; }
    /// <summary>/dev/mapper/CRYPTNAME: the device a file system goes on.</summary>
    public string? CryptPath { get; init; }
    /// <summary>The LUKS header's UUID (cryptsetup luksUUID).</summary>
    public string? LuksUuid { get; init; }
    /// <summary>The crypttab line written (NAME UUID=... KEYFILE luks); null when no crypttab was named.</summary>
    public string? CrypttabLine { get; init; }
    public string? CrypttabPath { get; init; }
}

/// <summary>One leg CreateArray would make: the device, whether an image file would be created, the mapping it would open as.</summary>
public sealed record ArrayLegPlan
{
    public required string Device { get; init; }
    public required string MapperName { get; init; }
    public required string MapperPath { get; init; }
    /// <summary>The image file does not exist yet: it would be created with the requested size.</summary>
    public bool CreatesImageFile { get; init; }
    /// <summary>Logical sectors the leg's integrity volume would provide (md's member size before its own superblock).</summary>
    public ulong ProvidedDataSectors { get; init; }
    /// <summary>With LUKS on every leg: the leg's crypt mapping (/dev/mapper/LEGNAME-crypt), the md member.</summary>
    public string? CryptPath { get; init; }
}

/// <summary>What CreateArray would do, after every check it makes before its first write passed (ivol array create --dry-run, -WhatIf).</summary>
public sealed record ArrayCreatePlan
{
    /// <summary>/dev/md/NAME.</summary>
    public required string Path { get; init; }
    public required string Name { get; init; }
    /// <summary>raid1, raid5, raid6 or raid10.</summary>
    public required string Level { get; init; }
    public int? ChunkKiB { get; init; }
    public required IReadOnlyList<ArrayLegPlan> Legs { get; init; }
    public string? IntegrityTabPath { get; init; }
    public string? MdadmConfPath { get; init; }
    /// <summary>With LUKS2 on top: the crypt mapping the array would be opened as (/dev/mapper/NAME), and the crypttab file.</summary>
    public string? CryptPath { get; init; }
    public string? CrypttabPath { get; init; }
    /// <summary>Always true: nothing was written.</summary>
    public bool WhatIf => true;
}

/// <summary>
/// An md array over dm-integrity legs in one step, as people build it by hand: every device checked first (in use, looks
/// like data) so a refusal leaves all of them untouched; each leg formatted by us and opened; <c>mdadm --create</c> over
/// the mappings with --assume-clean (a resync over per-leg LUKS); on a failure after the first leg opened, everything is
/// undone in reverse order.
/// </summary>
internal static class ArrayCreate
{
    private static readonly int[] Levels = { 1, 5, 6, 10 };

    /// <summary>How long md may take to show the array active after mdadm returned (a hang limit, not a timing).</summary>
    public static TimeSpan AppearLimit { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Every check Create makes before its first write, writing nothing (-WhatIf, --dry-run); what it would create.</summary>
    public static ArrayCreatePlan Plan(ArrayCreateRequest r, CancellationToken ct)
    {
        var predicted = new List<VolumeInfo>();
        var formats = Check(r, ct, predicted);
        var legs = new List<ArrayLegPlan>();
        for (int k = 0; k < formats.Count; k++)
        {
            bool creates = r.CreateSizeBytes is not null && !File.Exists(r.Devices[k]);
            legs.Add(new ArrayLegPlan
            {
                Device = r.Devices[k], MapperName = r.LegName(k), MapperPath = DeviceNodes.MapperPath(r.LegName(k)),
                CreatesImageFile = creates, ProvidedDataSectors = predicted[k].ProvidedDataSectors,
                CryptPath = r.Luks is { OnLegs: true } ? DeviceNodes.MapperPath(ArrayLegCrypt.MapperName(r.LegName(k))) : null,
            });
        }
        return new ArrayCreatePlan
        {
            Path = MdPath(r.Name), Name = r.Name, Level = $"raid{r.Level}", ChunkKiB = r.ChunkKiB, Legs = legs,
            IntegrityTabPath = r.IntegrityTabPath, MdadmConfPath = r.MdadmConfPath,
            CryptPath = r.Luks is { OnLegs: false } luks ? DeviceNodes.MapperPath(luks.MapperName(r.Name)) : null, CrypttabPath = r.Luks?.CrypttabPath,
        };
    }

    /// <summary>
    /// Measured on 6.1 (docs/raid-experiments.md, runs 8-10): raid10 counts the read errors it corrects (EILSEQ from an
    /// integrity leg) against max_read_errors (20, set again at every assembly) and fails the leg past it; raid1/5/6
    /// and md's check do not. Said at create and open, not changed: a sysfs value lasts until the next assembly.
    /// </summary>
    internal static string Raid10ReadErrorAdvice(string md) =>
        $"{md} is raid10: md fails a raid10 leg after max_read_errors (20) read errors it corrected, so a leg with many bad blocks " +
        $"met by reads is failed instead of healed (raid1/5/6 and md's check do not count them). To keep such a leg, raise it after each " +
        $"assembly: echo 1000000 > /sys/block/<mdN>/md/max_read_errors; or scrub (check), which heals without counting.";

    public static ArrayCreateResult Create(ArrayCreateRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var formats = Check(r, ct);
        var warnings = new List<string>();
        if (r.Luks is not null) warnings.AddRange(ArrayCrypt.CheckKeyFile(r.Luks.KeyFilePath, "LUKS key file"));
        if (r.ChunkKiB is int chunk && chunk * 1024 % r.Legs.SectorSize != 0)
            warnings.Add($"The chunk ({chunk} KiB) is not a multiple of the integrity block size ({r.Legs.SectorSize} bytes).");
        if (r.Level == 10) warnings.Add(Raid10ReadErrorAdvice($"/dev/md/{r.Name}"));
        // 1. Format every leg (our format: zeros everywhere, every tag valid).
        for (int k = 0; k < formats.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            int leg = k;
            var legProgress = progress is null ? null : new Progress(p => progress.Report(p with
            {
                Activity = $"Formatting leg {leg + 1} of {formats.Count} ({formats[leg].Volume.Path})",
            }));
            VolumeOperations.Format(formats[k], legProgress, ct);
        }
        var opened = new List<string>();
        var legCrypts = new List<string>();
        string md = MdPath(r.Name);
        bool mdCreated = false;
        string? crypt = null;
        try
        {
            // 2. Open every leg (a loop device for an image, autoclear: it goes with the mapping).
            OpenLegs(r.Devices, r.LegName, r.Legs, opened, progress, ct);
            // 2b. RAID over per-leg LUKS: a LUKS2 header on every leg's integrity mapping, opened as LEGNAME-crypt: the md members.
            var legCryptInfos = r.Luks is { OnLegs: true } onLegs
                ? ArrayLegCrypt.FormatAndOpen(opened, onLegs, legCrypts, (what, k) => Report(progress, what, k, r.Devices.Count), ct)
                : null;
            var members = legCryptInfos is null ? opened : legCrypts;
            // 3. mdadm --create. --assume-clean: every leg reads back zeros everywhere with valid tags (we just formatted
            // them), so all mirrors are equal and raid5/6 parity of zeros is zeros: md's initial resync would only read
            // and rewrite zeros (and write every block's tag again). The kernel scenario checks mismatch_cnt 0 after a check.
            // Not over per-leg LUKS: each leg's header has its own volume key, so the same zeros decrypt to different data
            // on every leg (measured: a check right after --assume-clean counted 36,352 of 45,696 sectors): md resyncs.
            var args = new List<string> { "--create", md, "--run", "--metadata=1.2", $"--level={r.Level}", $"--raid-devices={r.Devices.Count}" };
            if (legCryptInfos is null) args.Add("--assume-clean");
            else warnings.Add($"{md} is resyncing: over per-leg LUKS the legs' unwritten areas decrypt to different data (each leg has its own volume key), " +
                "so md copies them once (usable meanwhile; a scrub is refused until it ends).");
            if (r.ChunkKiB is int c) args.Add($"--chunk={c}");
            args.AddRange(members.Select(DeviceNodes.MapperPath));
            Report(progress, $"Creating {md} (raid{r.Level})", r.Devices.Count, r.Devices.Count + 1);
            mdCreated = true;   // from here on a failure stops whatever mdadm left
            MdadmTool.Run(args, md, ct);
            var array = WaitForArray(md, ct);
            // 4. LUKS2 on top (LUKS over RAID over integrity legs: one encryption, md heals below it), opened as NAME-crypt.
            string? luksUuid = null;
            if (r.Luks is { OnLegs: false } luks)
            {
                Report(progress, $"Formatting LUKS2 on {md}", r.Devices.Count, r.Devices.Count + 1);
                ArrayCrypt.Format(md, luks, ct);
                luksUuid = ArrayCrypt.Uuid(md, ct);
                Report(progress, $"Opening {md} as {luks.MapperName(r.Name)}", r.Devices.Count, r.Devices.Count + 1);
                crypt = luks.MapperName(r.Name);
                ArrayCrypt.Open(md, crypt, luks.KeyFilePath, ct);
            }
            var (legs, line, bootWarnings) = BootConfig(r.Name, md, r.Devices, opened, r.Legs, r.IntegrityTabPath, r.MdadmConfPath, ct);
            warnings.AddRange(bootWarnings);
            // 5. crypttab: the crypt layer by its LUKS UUID (stable whatever mdN the array gets at boot); with LUKS on
            // every leg, one line per leg by that leg's LUKS UUID (systemd-cryptsetup opens them before md assembles).
            string? cryptLine = null;
            if (r.Luks?.CrypttabPath is { } crypttab && crypt is not null && luksUuid is not null)
            {
                cryptLine = ArrayCrypt.CrypttabLine(crypt, luksUuid, r.Luks.KeyFilePath);
                ArrayCrypt.WriteCrypttab(crypttab, crypt, cryptLine);
            }
            if (legCryptInfos is not null)
            {
                var legLines = r.Luks!.CrypttabPath is { } legTab ? ArrayLegCrypt.WriteCrypttab(legTab, legCryptInfos, r.Luks.KeyFilePath) : null;
                legs = legs.Select((l, k) => l with { Crypt = legCryptInfos[k], CrypttabLine = legLines?[k] }).ToList();
            }
            return new ArrayCreateResult
            {
                Path = md, Name = r.Name, Array = MdArrays.Read(array.Device), Legs = legs, MdadmConfLine = line,
                IntegrityTabPath = r.IntegrityTabPath, MdadmConfPath = r.MdadmConfPath, Warnings = warnings.ToArray(),
                CryptName = crypt, CryptPath = crypt is null ? null : DeviceNodes.MapperPath(crypt), LuksUuid = luksUuid,
                CrypttabLine = cryptLine, CrypttabPath = r.Luks?.CrypttabPath,
            };
        }
        catch (Exception) when (opened.Count > 0)
        {
            Undo(md, mdCreated, opened, crypt, legCrypts);
            throw;   // the original error; the undo's own failures are not reported over it
        }
    }

    public static ArrayCreateResult Open(ArrayOpenRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        CheckName(r.Name);
        if (r.Devices.Count == 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "No leg device given.", r.Name);
        string md = MdPath(r.Name);
        if (ArrayActive(md))
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.ResourceExists, $"{md} exists already (the array is active).", md);
        var legNames = Enumerable.Range(0, r.Devices.Count).Select(r.LegName).ToList();
        CheckLegNames(legNames, r.Name);
        var warnings = new List<string>();
        if (r.Luks is not null)
        {
            warnings.AddRange(ArrayCrypt.CheckOptions(r.Luks, r.Name, legNames));
            ArrayCrypt.CheckSystem(r.Luks, r.Name);
        }
        MdadmTool.Require(r.Name);
        var opened = new List<string>();
        var legCrypts = new List<string>();
        bool assembling = false;
        string? crypt = null;
        try
        {
            OpenLegs(r.Devices, r.LegName, r.Legs, opened, progress, ct);
            // RAID over per-leg LUKS: the legs' own crypt layers first (the md members), found on the legs themselves.
            var legCryptInfos = OpenLegCrypts(r, opened, legCrypts, warnings, progress, ct);
            var members = legCryptInfos is null ? opened : legCrypts;
            assembling = true;
            Report(progress, $"Assembling {md}", r.Devices.Count, r.Devices.Count + 1);
            MdadmTool.Run(new[] { "--assemble", md }.Concat(members.Select(DeviceNodes.MapperPath)), md, ct);
            var array = WaitForArray(md, ct);
            // The crypt layer in stack order: after md, only when md holds a LUKS header (a wrong key undoes the whole open).
            string? luksUuid = null;
            if (r.Luks is { } luks && legCryptInfos is null)
            {
                if (ArrayCrypt.IsLuks(md, ct))
                {
                    Report(progress, $"Opening {md} as {luks.MapperName(r.Name)}", r.Devices.Count, r.Devices.Count + 1);
                    luksUuid = ArrayCrypt.Uuid(md, ct);
                    crypt = luks.MapperName(r.Name);
                    ArrayCrypt.Open(md, crypt, luks.KeyFilePath, ct);
                    array = MdArrays.Read(array.Device);
                }
                else warnings.Add($"{md} holds no LUKS header: no crypt layer opened (the LUKS key file is not used).");
            }
            if (array.Level == "raid10") warnings.Add(Raid10ReadErrorAdvice(array.Device));
            var legs = opened.Select((n, k) => new ArrayLegResult { Device = r.Devices[k], MapperName = n, MapperPath = DeviceNodes.MapperPath(n), Crypt = legCryptInfos?[k] }).ToList();
            return new ArrayCreateResult
            {
                Path = md, Name = r.Name, Array = array, Legs = legs, Warnings = warnings.ToArray(),
                CryptName = crypt, CryptPath = crypt is null ? null : DeviceNodes.MapperPath(crypt), LuksUuid = luksUuid,
            };
        }
        catch (Exception) when (opened.Count > 0)
        {
            Undo(md, assembling, opened, crypt, legCrypts);
            throw;
        }
    }

    /// <summary>
    /// The legs' crypt layers when every opened leg starts with a LUKS header (RAID over per-leg LUKS): each opened as
    /// LEGNAME-crypt with the LUKS key file (added to <paramref name="legCrypts"/>); null when no leg holds one. Some legs
    /// encrypted and others not is refused (md would mix plaintext and ciphertext members); encrypted legs without a key
    /// file are KeyRequired (md would find no superblock on them).
    /// </summary>
    private static List<ArrayLegCryptInfo>? OpenLegCrypts(ArrayOpenRequest r, IReadOnlyList<string> opened, List<string> legCrypts,
        List<string> warnings, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var encrypted = opened.Where(n => ArrayLegCrypt.HoldsLuks(DeviceNodes.MapperPath(n))).ToList();
        if (encrypted.Count == 0) return null;
        if (encrypted.Count != opened.Count)
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                $"Legs {string.Join(", ", encrypted)} hold a LUKS header, legs {string.Join(", ", opened.Except(encrypted))} do not: not one array of encrypted legs.", r.Name);
        if (r.Luks is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"Every leg holds a LUKS header (RAID over per-leg LUKS): give the LUKS key file (--luks-key-file, -LuksKeyFile) to open them.", r.Name);
        if (r.Luks.Name is not null)
            warnings.Add($"The LUKS layer is on every leg (opened as LEGNAME-crypt): the crypt name {r.Luks.Name} is not used.");
        ArrayLegCrypt.CheckSystem(r.Name, opened);
        var result = new List<ArrayLegCryptInfo>();
        for (int k = 0; k < opened.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            Report(progress, $"Opening leg {k + 1} of {opened.Count}'s LUKS layer as {ArrayLegCrypt.MapperName(opened[k])}", k, opened.Count);
            result.Add(ArrayLegCrypt.Open(opened[k], r.Luks.KeyFilePath, legCrypts, ct));
        }
        return result;
    }

    /// <summary>Whether /dev/md/NAME names an md device in sysfs (a link mdadm left dangling, or a stopped "clear" array, does not count).</summary>
    internal static bool ArrayActive(string md)
    {
        try { return MdSysfs.Read(Path.Combine(MdSysfs.BlockRoot, MdSysfs.ResolveKernelName(md), "md"), "array_state") is not (null or "clear"); }
        catch (IntegrityVolumeException e) when (e.ErrorId is ErrorIds.ArrayNotFound or ErrorIds.NotAnMdArray) { return false; }
    }

    /// <summary>/dev/md/NAME.</summary>
    public static string MdPath(string name) => "/dev/md/" + name;

    /// <summary>Every check before the first write: the set as a whole, then each device as our format checks it.</summary>
    private static List<FormatRequest> Check(ArrayCreateRequest r, CancellationToken ct, List<VolumeInfo>? predicted = null)
    {
        CheckName(r.Name);
        if (!Levels.Contains(r.Level))
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                $"Level {r.Level}: an array over integrity legs is raid1, raid5, raid6 or raid10 (1, 5, 6, 10).", r.Name);
        int min = r.Level == 6 ? 4 : 2;
        if (r.Devices.Count < min)
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                $"raid{r.Level} needs at least {min} devices ({r.Devices.Count} given).", r.Name);
        if (r.ChunkKiB is int chunk)
        {
            if (r.Level == 1)
                throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                    "raid1 has no chunk (mdadm refuses --chunk for it); omit it.", r.Name);
            if (chunk < 4 || (chunk & (chunk - 1)) != 0)
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    $"Chunk {chunk} KiB: md takes a power of two of at least 4 KiB.", r.Name);
        }
        var full = r.Devices.Select(Path.GetFullPath).ToList();
        for (int i = 0; i < full.Count; i++)
            for (int j = i + 1; j < full.Count; j++)
                if (full[i] == full[j] || (File.Exists(full[i]) && File.Exists(full[j]) && StorageIdentity.Same(full[i], full[j])))
                    throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                        $"{r.Devices[j]} is the same device as {r.Devices[i]}: every leg needs its own device.", r.Devices[j]);
        if (r.Luks is { OnLegs: true })
            ArrayLegCrypt.CheckOptions(r.Luks, r.Name, Enumerable.Range(0, r.Devices.Count).Select(r.LegName).ToList());
        else if (r.Luks is not null)
            ArrayCrypt.CheckOptions(r.Luks, r.Name, Enumerable.Range(0, r.Devices.Count).Select(r.LegName).ToList());
        if (r.IntegrityTabPath is not null && r.Legs.Integrity.Algorithm.IsKeyed && r.Legs.KeyFilePath is null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "integritytab lines of a keyed algorithm need the key file's path.", r.Name);

        // Each device as `ivol format` checks it (existing file, signature) and in use, all before the first write. The
        // format requests borrow the request's key (not disposed here: the legs' tables need it after the format).
        var formats = new List<FormatRequest>();
        foreach (var device in r.Devices)
        {
            var f = new FormatRequest
            {
                Volume = new VolumeLocation { Path = device }, CreateSizeBytes = r.CreateSizeBytes,
                Integrity = r.Legs.Integrity, TagSize = r.Legs.TagSize, SectorSize = r.Legs.SectorSize,
                JournalSizeBytes = r.Legs.JournalSizeBytes, Force = r.Force,
            };
            f.Validate();
            f.Volume.ThrowIfInUse("refusing to make it an array leg");
            var plan = VolumeOperations.PlanFormat(f, ct);   // predicts the volume without writing (no image file is created)
            // cryptsetup's LUKS2 header takes 16 MiB of the device it goes on (a leg, or the array of about a leg's size).
            if (r.Luks is not null && plan.Volume.ProvidedDataSectors * 512 <= ArrayCrypt.Luks2HeaderBytes)
                throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                    $"{device}: the leg would provide {plan.Volume.ProvidedDataSectors * 512 >> 20} MiB, not more than LUKS2's {ArrayCrypt.Luks2HeaderBytes >> 20} MiB header: no room for data.", device);
            predicted?.Add(plan.Volume);
            formats.Add(f);
        }
        // Then the names (the md device, the legs' mappings) and mdadm itself.
        string md = MdPath(r.Name);
        if (ArrayActive(md))
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.ResourceExists, $"{md} exists already.", md);
        var legNames = Enumerable.Range(0, r.Devices.Count).Select(r.LegName).ToList();
        CheckLegNames(legNames, r.Name);
        MdadmTool.Require(r.Name);
        if (r.Luks is { OnLegs: true }) ArrayLegCrypt.CheckSystem(r.Name, legNames);
        else if (r.Luks is not null) ArrayCrypt.CheckSystem(r.Luks, r.Name);
        return formats;
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || name is "." or "..")
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"'{name}' is not an md array name (no '/', no whitespace): the array appears as /dev/md/NAME.", name);
    }

    private static void CheckLegNames(IReadOnlyList<string> names, string array)
    {
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.InvalidArgument,
                $"Leg names repeat: {string.Join(", ", names)}.", array);
        foreach (var n in names)
        {
            DeviceMapperClient.ValidateName(n);
            RequireFreeMapperName(n);
        }
    }

    /// <summary>ArrayCreateRefused when a device-mapper device of this name exists (its /dev/mapper node or an active mapping).</summary>
    internal static void RequireFreeMapperName(string name)
    {
        if (File.Exists(DeviceNodes.MapperPath(name)) || MappingExists(name))
            throw new IntegrityVolumeException(ErrorIds.ArrayCreateRefused, ErrorKind.ResourceExists,
                $"A device-mapper device {name} exists already ({DeviceNodes.MapperPath(name)}).", name);
    }

    private static bool MappingExists(string name)
    {
        if (!DeviceMapperClient.IsAvailable()) return false;
        try
        {
            using var dm = DeviceMapperClient.Open();
            return dm.GetInfo(name) is not null;
        }
        // No answering device-mapper (or not root): no mapping can exist; opening the first leg reports it.
        catch (IntegrityVolumeException e) when (e.ErrorId is ErrorIds.DeviceMapperUnavailable or ErrorIds.NotRoot) { return false; }
    }

    /// <summary>Open every leg in order, adding each opened name to <paramref name="opened"/> (for the caller's undo).</summary>
    private static void OpenLegs(IReadOnlyList<string> devices, Func<int, string> legName, ArrayLegIntegrity legs, List<string> opened,
        IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        for (int k = 0; k < devices.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            Report(progress, $"Opening leg {k + 1} of {devices.Count} as {legName(k)}", k, devices.Count);
            OpenLeg(devices[k], legName(k), legs, ct);
            opened.Add(legName(k));
        }
    }

    /// <summary>Leg k's device-mapper name: the one given, else NAME-legK.</summary>
    internal static string LegName(string array, IReadOnlyList<string>? names, int k) => names is { } n && k < n.Count ? n[k] : $"{array}-leg{k}";

    private static void OpenLeg(string device, string name, ArrayLegIntegrity legs, CancellationToken ct)
    {
        var sb = VolumeOperations.ReadSuperblock(new VolumeLocation { Path = device });
        IntegrityMappings.Open(new IntegrityOpenRequest { Device = device, Name = name, Options = legs.Activation() }, sb, ct);
    }

    /// <summary>Close the crypt layer (if it was opened), stop md (if it was started), close the legs' crypt mappings and
    /// the legs in reverse order; failures here are not reported over the original.</summary>
    internal static void Undo(string md, bool stopMd, IReadOnlyList<string> opened, string? crypt = null, IReadOnlyList<string>? legCrypts = null)
    {
        if (crypt is not null && File.Exists(DeviceNodes.MapperPath(crypt)))
            try { ArrayCrypt.Close(crypt, CancellationToken.None); } catch (IntegrityVolumeException) { }
        if (stopMd && ArrayActive(md))
            try { MdadmTool.Run(new[] { "--stop", md }, md, CancellationToken.None); } catch (IntegrityVolumeException) { }
        foreach (var n in (legCrypts ?? []).Reverse())
            try { ArrayCrypt.Close(n, CancellationToken.None); } catch (IntegrityVolumeException) { }
        foreach (var n in opened.Reverse())
            try { IntegrityMappings.Close(n); } catch (IntegrityVolumeException) { }
    }

    /// <summary>Wait (state, with a hang limit) until md shows the array active in sysfs; its status.</summary>
    private static MdArrayInfo WaitForArray(string md, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var a = MdArrays.Get(md);
                if (a.ArrayState is not ("" or "clear" or "inactive") && a.Legs.Count > 0) return a;
            }
            catch (IntegrityVolumeException e) when (e.ErrorId is ErrorIds.ArrayNotFound or ErrorIds.NotAnMdArray) { }
            if (sw.Elapsed > AppearLimit)
                throw new IntegrityVolumeException(ErrorIds.MdadmFailed, ErrorKind.DeviceError,
                    $"{md}: mdadm returned but md did not show the array active within {AppearLimit.TotalSeconds:0} s.", md);
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// The boot configuration: one integritytab line per leg (by a stable /dev/disk/by-* name when one points at the
    /// device), and mdadm's own ARRAY line (<c>mdadm --detail --brief</c>); written only to the files given.
    /// </summary>
    private static (List<ArrayLegResult> Legs, string? Line, List<string> Warnings) BootConfig(string name, string md,
        IReadOnlyList<string> devices, IReadOnlyList<string> legNames, ArrayLegIntegrity legs, string? tabPath, string? confPath, CancellationToken ct)
    {
        var warnings = new List<string>();
        var results = new List<ArrayLegResult>();
        for (int k = 0; k < devices.Count; k++)
        {
            string device = Path.GetFullPath(devices[k]);
            bool isBlock = NativeMethods.Stat(device) is { IsBlockDevice: true };
            string boot = isBlock ? StableName(device) ?? device : device;
            string? line = null;
            if (tabPath is not null)
            {
                if (!isBlock)
                    warnings.Add($"{devices[k]} is an image file: systemd-integritysetup cannot attach it at boot (no loop device then); its integritytab line is written as asked.");
                var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec
                {
                    Name = legNames[k], Device = boot, KeyFile = legs.Integrity.Algorithm.IsKeyed ? legs.KeyFilePath : null,
                    Algorithm = legs.Integrity.Algorithm.IntegritysetupName,
                    Mode = legs.Mode == IntegrityMode.Journal ? null : legs.Mode, AllowDiscards = legs.AllowDiscards,
                });
                var u = IntegrityTab.AddOrReplace(tabPath, entry);
                warnings.AddRange(u.Warnings);
                line = entry.ToLine();
            }
            results.Add(new ArrayLegResult { Device = devices[k], MapperName = legNames[k], MapperPath = DeviceNodes.MapperPath(legNames[k]), BootDevice = tabPath is null ? null : boot, IntegrityTabLine = line });
        }
        string? arrayLine = null;
        if (confPath is not null)
        {
            arrayLine = MdadmTool.Run(new[] { "--detail", "--brief", md }, md, ct)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault(l => l.StartsWith("ARRAY ", StringComparison.Ordinal))
                ?? throw new IntegrityVolumeException(ErrorIds.MdadmFailed, ErrorKind.DeviceError, $"{md}: mdadm --detail --brief printed no ARRAY line.", md);
            WriteArrayLine(confPath, md, arrayLine);
        }
        return (results, arrayLine, warnings);
    }

    /// <summary>Replace this array's ARRAY line (same device or same UUID) or append it; written atomically (BootFile).</summary>
    internal static void WriteArrayLine(string path, string md, string line)
    {
        string? uuid = line.Split(' ').FirstOrDefault(f => f.StartsWith("UUID=", StringComparison.Ordinal));
        var kept = File.Exists(path) ? File.ReadAllLines(path).Where(l =>
        {
            var f = l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return !(f.Length > 1 && f[0] == "ARRAY" && (f[1] == md || (uuid is not null && f.Contains(uuid))));
        }).ToList() : new List<string>();
        kept.Add(line);
        BootFile.WriteAtomically(path, string.Join('\n', kept) + "\n", ErrorIds.MdadmConfWriteFailed);
    }

    /// <summary>A /dev/disk/by-id (or by-partuuid, by-uuid, by-path) link to the same block device; null when none.</summary>
    private static string? StableName(string device)
    {
        var dev = DeviceNumber.Of(device);
        if (dev is null) return null;
        foreach (var dir in new[] { "/dev/disk/by-id", "/dev/disk/by-partuuid", "/dev/disk/by-path" })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var link in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
                if (DeviceNumber.Of(link) is { } d && d.Equals(dev)) return link;
        }
        return null;
    }

    private static void Report(IProgress<OperationProgress>? progress, string activity, long done, long total) =>
        progress?.Report(new OperationProgress(activity, activity, done, total, TimeSpan.Zero));

    private sealed class Progress(Action<OperationProgress> report) : IProgress<OperationProgress>
    {
        public void Report(OperationProgress value) => report(value);
    }
}
