using System.CommandLine;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol write: put a file's bytes into a closed volume at a sector offset, with their tags.</summary>
internal static class WriteCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var algorithm = CommonOptions.AlgorithmOptions.Integrity();
        var journalIntegrity = CommonOptions.AlgorithmOptions.JournalIntegrity();
        var input = new Option<string>("--input") { Description = "File whose bytes become the volume's content.", Required = true };
        var offset = new Option<ulong>("--offset") { Description = "First logical 512-byte sector to write (block aligned)." };
        var force = new Option<bool>("--force") { Description = "Write although the algorithm or key is not proven on the volume, or an earlier write's range was interrupted (warns)." };
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("write", "Write a file into a closed volume's logical content and compute its tags (no kernel needed).")
        {
            input, offset, force, json, progressJson,
        };
        volume.AddTo(cmd);
        algorithm.AddTo(cmd);
        journalIntegrity.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
            {
                var tagAlgorithm = algorithm.Parse(p)!;
                using var key = algorithm.ReadKey(p);
                using var journalKey = journalIntegrity.ReadKey(p);
                var r = VolumeOperations.Write(new WriteRequest
                {
                    Volume = volume.Read(p),
                    Integrity = new IntegrityAlgorithmSpec { Algorithm = tagAlgorithm, Key = key },
                    JournalIntegrity = journalIntegrity.Parse(p), JournalIntegrityKey = journalKey,
                    InputPath = p.GetValue(input)!, OffsetSectors = p.GetValue(offset), Force = p.GetValue(force),
                }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                foreach (var w in r.Warnings) Console.Error.WriteLine($"ivol: WARNING: {w}");
                if (p.GetValue(json)) CliOutput.WriteJson(r);
                else Console.WriteLine($"Wrote {r.BlocksWritten} blocks ({r.SectorsWritten} sectors) at sector {r.StartSector} of {r.Path} in {r.Duration.TotalSeconds:0.00} s.");
                return ExitCodes.Success;
            }));
        return cmd;
    }
}
