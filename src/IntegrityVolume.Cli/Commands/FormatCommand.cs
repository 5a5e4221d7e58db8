using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol format: the userspace formatter (integritysetup format, without the full-device wipe).</summary>
internal static class FormatCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var algorithm = CommonOptions.AlgorithmOptions.Integrity();
        var journalIntegrity = CommonOptions.AlgorithmOptions.JournalIntegrity();
        var journalCrypt = CommonOptions.AlgorithmOptions.JournalCrypt();
        var watermark = new Option<uint?>("--journal-watermark") { Description = "Journal watermark of the format table, as integritysetup passes it (an activation parameter: not stored; give it at open)." };
        var commitTime = new Option<uint?>("--journal-commit-time") { Description = "Journal commit time (ms) of the format table, as integritysetup passes it (not stored; give it at open)." };
        var anyKernel = new Option<bool>("--any-kernel") { Description = "Format for another kernel: only warn when the running kernel lacks the algorithm (integritysetup refuses)." };
        var size = new Option<string?>("--size") { Description = "Create the image file with this size (e.g. 64M, 1G)." };
        var tagSize = new Option<int?>("--tag-size", "-t") { Description = "Bytes per tag (default, or 0: the algorithm's digest size)." };
        var sectorSize = new Option<int>("--sector-size", "-s") { Description = "Block size: 512, 1024, 2048 or 4096.", DefaultValueFactory = _ => 512 };
        var journalSize = new Option<string?>("--journal-size", "-j") { Description = "Journal size in bytes (default min(64 MiB, device/128))." };
        var interleave = new Option<ulong?>("--interleave-sectors") { Description = "Interleave area size in sectors (default 32768)." };
        var legacyPadding = new Option<bool>("--integrity-legacy-padding") { Description = "128 KiB metadata padding (kernels before 4.x fix_padding)." };
        var legacyHmac = new Option<bool>("--integrity-legacy-hmac") { Description = "No salt (kernels without fix_hmac)." };
        var bitmapMode = new Option<bool>("--integrity-bitmap-mode", "-B") { Description = "Accepted for integritysetup compatibility; the mode is chosen at open." };
        var sectorsPerBit = new Option<ulong?>("--bitmap-sectors-per-bit") { Description = "Bitmap granularity recorded in the superblock." };
        var noWipe = new Option<bool>("--no-wipe") { Description = "Do not initialise tags. Userspace: the volume is marked RECALCULATING, the kernel computes the tags on open. With --kernel: superblock and journal only (as integritysetup --no-wipe); open with --integrity-recalculate." };
        var batch = new Option<bool>("--batch-mode", "-q") { Description = "Do not ask for confirmation." };
        var force = new Option<bool>("--force") { Description = "Overwrite a device that holds a filesystem, LUKS, md, an integrity superblock or a partition table." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check everything and print the volume that would be created; write nothing." };
        var salt = new Option<string?>("--salt") { Description = "Salt in hex instead of a random one (to reproduce an image).", Hidden = true };
        var kernel = new Option<bool>("--kernel") { Description = "Format through the kernel's dm-integrity target, as integritysetup does, instead of in userspace (needs root and device-mapper)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("format", "Format a device or image file as a dm-integrity volume (kernel-compatible superblock, journal and tags).")
        {
            size, tagSize, sectorSize, journalSize, interleave, legacyPadding, legacyHmac,
            bitmapMode, sectorsPerBit, noWipe, batch,
            force, dryRun, salt, kernel, json, progressJson, watermark, commitTime, anyKernel,
        };
        volume.AddTo(cmd);
        algorithm.AddTo(cmd);
        journalIntegrity.AddTo(cmd);
        journalCrypt.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
            {
                bool asJson = p.GetValue(json);
                byte[]? saltBytes;
                try { saltBytes = p.GetValue(salt) is { } hex ? Convert.FromHexString(hex) : null; }
                catch (FormatException ex) { Console.Error.WriteLine($"ivol: --salt: {ex.Message}"); return ExitCodes.UsageError; }
                var tagAlgorithm = algorithm.Parse(p)!;
                var journalAlgorithm = journalIntegrity.Parse(p);
                using var key = algorithm.ReadKey(p);
                using var journalKey = journalIntegrity.ReadKey(p);
                using var journalCryptKey = journalCrypt.ReadKey(p);
                var request = new FormatRequest
                {
                    Volume = volume.Read(p),
                    CreateSizeBytes = p.GetValue(size) is { } s ? CommonOptions.ParseSize(s) : null,
                    Integrity = new IntegrityAlgorithmSpec { Algorithm = tagAlgorithm, Key = key },
                    TagSize = p.GetValue(tagSize), SectorSize = p.GetValue(sectorSize),
                    JournalSizeBytes = p.GetValue(journalSize) is { } js ? CommonOptions.ParseSize(js) : null,
                    InterleaveSectors = p.GetValue(interleave),
                    LegacyPadding = p.GetValue(legacyPadding), LegacyHmac = p.GetValue(legacyHmac),
                    JournalIntegrity = journalAlgorithm,
                    JournalIntegrityKey = journalKey,
                    JournalCrypt = journalCrypt.Name(p), JournalCryptKey = journalCryptKey,
                    JournalWatermark = p.GetValue(watermark), CommitTimeMs = p.GetValue(commitTime),
                    BitmapSectorsPerBit = p.GetValue(sectorsPerBit), NoWipe = p.GetValue(noWipe), Force = p.GetValue(force),
                    Salt = saltBytes, ThroughKernel = p.GetValue(kernel),
                };
                if (request.FormatsThroughKernel && !request.ThroughKernel)
                    Console.Error.WriteLine("ivol: --journal-crypt: formatting through the kernel (--kernel), which writes the encrypted journal.");
                if (VolumeOperations.CheckKernelCrypto(request, p.GetValue(anyKernel)) is { } warning)
                    Console.Error.WriteLine("ivol: warning: " + warning);
                var plan = VolumeOperations.PlanFormat(request, Program.Cancellation);
                if (p.GetValue(dryRun)) { Print(plan, asJson); return ExitCodes.Success; }
                if (!p.GetValue(batch) && !Confirm(request.Volume.Path)) return ExitCodes.UsageError;
                var result = VolumeOperations.Format(request, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                Print(result, asJson);
                return ExitCodes.Success;
            }));
        return cmd;
    }

    /// <summary>integritysetup's confirmation: type YES; without a terminal, ask for --batch-mode instead of hanging.</summary>
    private static bool Confirm(string path)
    {
        if (Console.IsInputRedirected)
        {
            Console.Error.WriteLine($"ivol: formatting {path} destroys its data; confirm with --batch-mode when running without a terminal.");
            return false;
        }
        Console.Error.Write($"WARNING: this overwrites data on {path} irrevocably.\nAre you sure? (Type 'yes' in capital letters): ");
        return Console.ReadLine()?.Trim() == "YES";
    }

    private static void Print(FormatResult r, bool json)
    {
        if (json) { CliOutput.WriteJson(r); return; }
        var v = r.Volume;
        Console.WriteLine($"{(r.WhatIf ? "Would format" : "Formatted")} {v.Path}: {CliOutput.Size(v.ProvidedBytes)} usable " +
            $"({v.ProvidedDataSectors} sectors), tag size {v.IntegrityTagSize}, sector size {v.SectorSize}, " +
            $"superblock version {v.SuperblockVersion}, flags {string.Join(' ', v.Flags)}.");
        if (!r.WhatIf) Console.WriteLine($"Tag initialisation: {r.TagInitialization}, {r.Duration.TotalSeconds:0.00} s.");
    }
}
