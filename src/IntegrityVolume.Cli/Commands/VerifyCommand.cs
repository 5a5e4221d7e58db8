using System.CommandLine;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol verify: offline check of every tag; exit 0 healthy, 1 corrupt (as the kernel would fail a read), 6 incomplete.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var algorithm = CommonOptions.AlgorithmOptions.IntegrityDetected();
        var journalIntegrity = CommonOptions.AlgorithmOptions.JournalIntegrity();
        var journalCrypt = CommonOptions.AlgorithmOptions.JournalCrypt();
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: one per core)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var name = VerifyOnline.NameOption();
        var cmd = new Command("verify", "Verify every tag of a closed volume offline and list the mismatching sectors.")
        {
            threads, json, progressJson, name,
        };
        volume.AddTo(cmd);
        algorithm.AddTo(cmd);
        journalIntegrity.AddTo(cmd);
        journalCrypt.AddTo(cmd);
        volume.Device.Arity = ArgumentArity.ZeroOrOne;   // --name instead of a device
        cmd.Validators.Add(r => VerifyOnline.Validate(r, volume.Device, name));
        cmd.SetAction(p => p.GetValue(name) is { } online
            ? VerifyOnline.Run(online, p.GetValue(threads), p.GetValue(json), p.GetValue(progressJson))
            : CliOutput.Run(p.GetValue(json), () =>
            {
                var journalAlgorithm = journalIntegrity.Parse(p);
                using var key = algorithm.ReadKey(p);
                using var journalKey = journalIntegrity.ReadKey(p);
                using var journalCryptKey = journalCrypt.ReadKey(p);
                var location = volume.Read(p);
                var (tagAlgorithm, detection) = algorithm.ParseOrDetect(p, location, key, quiet: p.GetValue(json));
                var r = VolumeOperations.Verify(new VerifyRequest
                {
                    Volume = location,
                    Integrity = new IntegrityAlgorithmSpec { Algorithm = tagAlgorithm, Key = key },
                    JournalIntegrity = journalAlgorithm,
                    JournalIntegrityKey = journalKey,
                    JournalCrypt = journalCrypt.Name(p),
                    JournalCryptKey = journalCryptKey,
                    Threads = p.GetValue(threads),
                }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation).WithDetection(detection);
                if (p.GetValue(json)) CliOutput.WriteJson(r);
                else Print(r);
                return ExitCodes.Of(r.Verdict);
            }));
        return cmd;
    }

    private static void Print(VerifyResult r)
    {
        string verdict = r.Verdict switch { VerifyVerdict.Healthy => "healthy", VerifyVerdict.Corrupt => "CORRUPT", _ => "INCOMPLETE" };
        Console.WriteLine($"{r.Path}: {verdict} - {r.BlocksChecked} blocks of {r.SectorSize} bytes checked with {r.Algorithm}{(r.AlgorithmSource == AlgorithmSource.Detected ? " (detected)" : "")} " +
            $"in {r.Duration.TotalSeconds:0.00} s ({r.ThroughputMiBps:0.#} MiB/s)");
        Console.WriteLine($"  verified {r.VerifiedBlocks} of {r.BlocksChecked} blocks ({r.Coverage:0.##}%)");
        Console.WriteLine($"  valid {r.ValidBlocks}, mismatched {r.MismatchedBlocks}, discarded {r.DiscardedBlocks}, uninitialized {r.UninitializedBlocks}, " +
            $"unsynchronized {r.UnsynchronizedBlocks}, journal-pending {r.JournalPendingBlocks}; journal {r.JournalState}");
        foreach (var range in r.MismatchedSectors.Take(50))
            Console.WriteLine($"  Checksum failed at sector {range.Start}{(range.Sectors > 1 ? $" (+{range.Sectors - 1} sectors)" : "")}");
        if (r.MismatchedSectors.Length > 50) Console.WriteLine($"  ... {r.MismatchedSectors.Length - 50} more ranges (use --json for all)");
        foreach (var e in r.FailedJournalEntries.Take(50))
            Console.WriteLine($"  Tag mismatch in journal section {e.Section} entry {e.Entry} (sector {e.Sector})");
        if (r.FailedJournalEntries.Length > 50) Console.WriteLine($"  ... {r.FailedJournalEntries.Length - 50} more journal entries (use --json for all)");
        foreach (var s in r.JournalMacFailedSections.Take(50)) Console.WriteLine($"  Journal MAC mismatch in section {s}");
        foreach (var n in r.NotVerified) Console.WriteLine($"  not verified: {n}");
        foreach (var w in r.Warnings) Console.Error.WriteLine($"warning: {w}");
    }
}
