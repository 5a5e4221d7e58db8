using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol array create / open / close: an md array over dm-integrity legs as one command (format and open every leg,
/// mdadm --create --assume-clean over the mappings; assemble; stop and close), with optional boot configuration lines.
/// </summary>
internal static class ArrayCreateCommand
{
    /// <summary>The leg options every subcommand that opens legs takes (as ivol format / ivol open name them).</summary>
    private sealed class LegOptions
    {
        public readonly CommonOptions.AlgorithmOptions Integrity = CommonOptions.AlgorithmOptions.Integrity();
        public readonly Option<string?> LegNames = new("--leg-names") { Description = "Device-mapper names of the legs, comma-separated (default NAME-leg0, NAME-leg1, ...)." };
        public readonly Option<bool> Bitmap = new("--integrity-bitmap-mode", "-B") { Description = "Open the legs in bitmap mode (B) instead of the journal." };
        public readonly Option<bool> NoJournal = new("--integrity-no-journal", "-D") { Description = "Open the legs in direct mode (D): no journal." };
        public readonly Option<bool> Discards = new("--allow-discards") { Description = "Pass discards down to the legs." };

        public void AddTo(Command c)
        {
            Integrity.AddTo(c);
            c.Options.Add(LegNames); c.Options.Add(Bitmap); c.Options.Add(NoJournal); c.Options.Add(Discards);
        }

        public IReadOnlyList<string>? Names(ParseResult p) =>
            p.GetValue(LegNames) is { } s ? s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;

        public ArrayLegIntegrity Read(ParseResult p, int? tagSize = null, int sectorSize = 512, long? journalSize = null)
        {
            if (p.GetValue(Bitmap) && p.GetValue(NoJournal))
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    "Choose one of --integrity-bitmap-mode and --integrity-no-journal.");
            var algorithm = Integrity.Parse(p)!;
            var key = Integrity.ReadKey(p);
            return new ArrayLegIntegrity
            {
                Integrity = new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = key },
                KeyFilePath = p.GetValue(Integrity.KeyFile) is { } kf ? Path.GetFullPath(kf) : null,
                TagSize = tagSize, SectorSize = sectorSize, JournalSizeBytes = journalSize,
                Mode = p.GetValue(Bitmap) ? IntegrityMode.Bitmap : p.GetValue(NoJournal) ? IntegrityMode.Direct : IntegrityMode.Journal,
                AllowDiscards = p.GetValue(Discards),
            };
        }
    }

    /// <summary>The crypt layer's options (LUKS2 on top of the array or on every leg): create takes all, open the key file and
    /// name (open finds which order the devices hold).</summary>
    private sealed class LuksOptions(bool creating)
    {
        public readonly Option<string?> KeyFile = new("--luks-key-file") { Description = creating
            ? "Put LUKS2 on top of the array (cryptsetup luksFormat with this key file) and open it as --luks-name."
            : "Open the crypt layer with this key file after assembly when the array holds a LUKS header." };
        public readonly Option<string?> Name = new("--luks-name") { Description = "Device-mapper name of the crypt mapping (default NAME-crypt)." };
        public readonly Option<string?> Crypttab = new("--crypttab") { Description = "Add (or replace) the crypt mapping's line (NAME UUID=... KEYFILE luks) in this crypttab (created when missing). /etc is never edited unless named." };
        public readonly Option<string?> Pbkdf = new("--luks-pbkdf") { Description = "cryptsetup --pbkdf of the key slot: argon2id, argon2i or pbkdf2 (default cryptsetup's)." };
        public readonly Option<int?> IterTime = new("--luks-iter-time") { Description = "cryptsetup --iter-time of the key slot in ms (default cryptsetup's)." };
        public readonly Option<bool> PerLeg = new("--luks-per-leg") { Description = "Put LUKS2 on every leg instead of on top (RAID over per-leg LUKS): each leg's integrity mapping " +
            "gets its own header (the same key file), opened as LEGNAME-crypt; md goes over the crypt mappings. --crypttab gets one line per leg." };

        public void AddTo(Command c)
        {
            c.Options.Add(KeyFile); c.Options.Add(Name);
            if (creating) { c.Options.Add(Crypttab); c.Options.Add(Pbkdf); c.Options.Add(IterTime); c.Options.Add(PerLeg); }
        }

        public ArrayLuksOptions? Read(ParseResult p)
        {
            string? keyFile = p.GetValue(KeyFile);
            if (keyFile is null)
            {
                if (p.GetValue(Name) is not null || (creating && (p.GetValue(Crypttab) is not null || p.GetValue(Pbkdf) is not null || p.GetValue(IterTime) is not null || p.GetValue(PerLeg))))
                    throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                        "--luks-name, --crypttab, --luks-pbkdf, --luks-iter-time and --luks-per-leg need --luks-key-file.");
                return null;
            }
            return new ArrayLuksOptions
            {
                KeyFilePath = Path.GetFullPath(keyFile), Name = p.GetValue(Name),
                CrypttabPath = creating && p.GetValue(Crypttab) is { } t ? Path.GetFullPath(t) : null,
                Pbkdf = creating ? p.GetValue(Pbkdf) : null, IterTimeMs = creating ? p.GetValue(IterTime) : null,
                OnLegs = creating && p.GetValue(PerLeg),
            };
        }
    }

    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "md name: the array appears as /dev/md/NAME." };
        var devices = new Argument<string[]>("device") { Description = "Block devices or image files, one per leg (formatted: their data is destroyed).", Arity = ArgumentArity.OneOrMore };
        var level = new Option<int>("--level", "-l") { Description = "md level: 1, 5, 6 or 10.", Required = true };
        var chunk = new Option<int?>("--chunk", "-c") { Description = "md chunk in KiB (raid5/6/10; default md's 512). Keep it a multiple of the integrity block size (4 KiB blocks: a multiple of 4)." };
        var legs = new LegOptions();
        var tagSize = new Option<int?>("--tag-size", "-t") { Description = "Bytes per tag (default: the algorithm's digest size)." };
        var sectorSize = new Option<int>("--sector-size", "-s") { Description = "Integrity block size: 512, 1024, 2048 or 4096.", DefaultValueFactory = _ => 512 };
        var journalSize = new Option<string?>("--journal-size", "-j") { Description = "Journal size per leg (default min(64 MiB, device/128))." };
        var size = new Option<string?>("--size") { Description = "Create missing image files with this size (e.g. 64M, 1G)." };
        var tab = new Option<string?>("--integritytab") { Description = "Add one line per leg to this integritytab file (created when missing). /etc is never edited unless named." };
        var conf = new Option<string?>("--mdadm-conf") { Description = "Add the array's ARRAY line (mdadm --detail --brief) to this mdadm.conf (created when missing)." };
        var force = new Option<bool>("--force") { Description = "Format devices that hold a file system, LUKS, md, an integrity superblock or a partition table." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Make every check create makes before its first write and print the array and legs it would create; write nothing (no image file is created)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("create", "Format and open a dm-integrity leg on every device and create an md array over them (mdadm --create --assume-clean; needs root), " +
            "optionally LUKS2 on top (--luks-key-file) or on every leg (--luks-per-leg). Every device is checked before the first is formatted; a failure after a leg opened undoes everything.")
        { name, devices, level, chunk, tagSize, sectorSize, journalSize, size, tab, conf, force, dryRun, json, progressJson };
        legs.AddTo(cmd);
        var luks = new LuksOptions(creating: true);
        luks.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            using var request = new ArrayCreateRequest
            {
                Name = p.GetValue(name)!, Devices = p.GetValue(devices)!, LegNames = legs.Names(p), Level = p.GetValue(level),
                ChunkKiB = p.GetValue(chunk),
                Legs = legs.Read(p, p.GetValue(tagSize), p.GetValue(sectorSize), p.GetValue(journalSize) is { } js ? CommonOptions.ParseSize(js) : null),
                CreateSizeBytes = p.GetValue(size) is { } s ? CommonOptions.ParseSize(s) : null,
                Force = p.GetValue(force),
                IntegrityTabPath = p.GetValue(tab) is { } t ? Path.GetFullPath(t) : null,
                MdadmConfPath = p.GetValue(conf) is { } c ? Path.GetFullPath(c) : null,
                Luks = luks.Read(p),
            };
            if (p.GetValue(dryRun))
            {
                var plan = VolumeOperations.PlanArray(request, Program.Cancellation);
                Print(plan, p.GetValue(json));
                return ExitCodes.Success;
            }
            var r = VolumeOperations.CreateArray(request, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
            Print(r, p.GetValue(json), "Created");
            return ExitCodes.Success;
        }));
        return cmd;
    }

    public static Command Open()
    {
        var name = new Argument<string>("name") { Description = "md name: the array appears as /dev/md/NAME." };
        var devices = new Argument<string[]>("leg-device") { Description = "The legs' devices or image files (dm-integrity volumes).", Arity = ArgumentArity.OneOrMore };
        var legs = new LegOptions();
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("open", "Open every leg (as ivol open), assemble the md array over the mappings (mdadm --assemble /dev/md/NAME; needs root), " +
            "then the crypt layer with --luks-key-file when the array holds a LUKS header (when every leg holds one, RAID over per-leg LUKS, " +
            "each leg's crypt layer is opened as LEGNAME-crypt before md assembles). A failure undoes everything.")
        { name, devices, json, progressJson };
        legs.AddTo(cmd);
        var luks = new LuksOptions(creating: false);
        luks.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            using var request = new ArrayOpenRequest { Name = p.GetValue(name)!, Devices = p.GetValue(devices)!, LegNames = legs.Names(p), Legs = legs.Read(p), Luks = luks.Read(p) };
            var r = VolumeOperations.OpenArray(request, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
            Print(r, p.GetValue(json), "Assembled");
            return ExitCodes.Success;
        }));
        return cmd;
    }

    public static Command Close()
    {
        var array = new Argument<string>("md") { Description = "NAME, /dev/md/NAME, /dev/mdN or mdN." };
        var json = CommonOptions.Json();
        var cmd = new Command("close", "Close the crypt layer on top (cryptsetup close, when a LUKS mapping is the array's only holder), stop the md array (mdadm --stop) and close its dm-integrity legs; " +
            "refused (exit 5, ArrayInUse) while it or anything above it is mounted or held.")
        { array, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            var r = VolumeOperations.CloseArray(p.GetValue(array)!, Program.Cancellation);
            if (p.GetValue(json)) CliOutput.WriteJson(r);
            else Console.WriteLine((r.ClosedCrypt is null ? "" : $"Closed {r.ClosedCrypt}; ") + $"Stopped {r.Device}{(r.Name is null ? "" : $" (/dev/md/{r.Name})")}; closed " +
                string.Join(", ", r.ClosedLegCrypts.Concat(r.ClosedLegs)) +
                (r.OtherLegs.Count > 0 ? $"; left {string.Join(", ", r.OtherLegs)} (not dm-integrity)" : "") + ".");
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static void Print(ArrayCreatePlan plan, bool json)
    {
        if (json) { CliOutput.WriteJson(plan); return; }
        Console.WriteLine($"Would create {plan.Path} ({plan.Level}{(plan.ChunkKiB is { } c ? $", chunk {c} KiB" : "")}) over:");
        foreach (var l in plan.Legs)
            Console.WriteLine($"  {l.Device}{(l.CreatesImageFile ? " (new image file)" : "")} as {l.MapperPath}, {l.ProvidedDataSectors} sectors" +
                (l.CryptPath is null ? "" : $", LUKS2 on it opened as {l.CryptPath}"));
        if (plan.IntegrityTabPath is not null) Console.WriteLine($"  integritytab lines into {plan.IntegrityTabPath}");
        if (plan.MdadmConfPath is not null) Console.WriteLine($"  ARRAY line into {plan.MdadmConfPath}");
        if (plan.CryptPath is not null) Console.WriteLine($"  LUKS2 on top, opened as {plan.CryptPath}{(plan.CrypttabPath is null ? "" : $", its line into {plan.CrypttabPath}")}");
        Console.WriteLine("Nothing was written (--dry-run).");
    }

    private static void Print(ArrayCreateResult r, bool json, string verb)
    {
        foreach (var w in r.Warnings) Console.Error.WriteLine("ivol: warning: " + w);
        if (json) { CliOutput.WriteJson(r); return; }
        Console.WriteLine($"{verb} {r.Path} ({r.Array.Path}, {r.Array.Level}, {r.Array.SizeSectors} sectors) over {string.Join(", ", r.Legs.Select(l => $"{l.MapperPath} ({l.Device})"))}.");
        if (r.IntegrityTabPath is not null)
        {
            Console.WriteLine($"{r.IntegrityTabPath}:");
            foreach (var l in r.Legs) Console.WriteLine("  " + l.IntegrityTabLine);
        }
        if (r.MdadmConfLine is not null) Console.WriteLine($"{r.MdadmConfPath}:\n  {r.MdadmConfLine}");
        if (r.CryptPath is not null) Console.WriteLine($"Crypt layer {r.CryptPath} (LUKS2, UUID {r.LuksUuid}).");
        if (r.CrypttabLine is not null) Console.WriteLine($"{r.CrypttabPath}:\n  {r.CrypttabLine}");
        foreach (var l in r.Legs.Where(l => l.Crypt is not null))
            Console.WriteLine($"Leg crypt layer {l.Crypt!.Path} over {l.MapperPath} (LUKS2, UUID {l.Crypt.LuksUuid}).");
        if (r.Legs.Any(l => l.CrypttabLine is not null))
        {
            Console.WriteLine($"{r.CrypttabPath}:");
            foreach (var l in r.Legs) Console.WriteLine("  " + l.CrypttabLine);
        }
    }
}
