using System.CommandLine;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol write: put a file's bytes into a closed volume at a sector offset, with their tags.</summary>
internal static class WriteCommand
{
    public static Command Create()
    {
        var device = CommonOptions.Device();
        var input = new Option<string>("--input") { Description = "File whose bytes become the volume's content.", Required = true };
        var offset = new Option<ulong>("--offset") { Description = "First logical 512-byte sector to write (block aligned)." };
        var integrity = CommonOptions.Integrity();
        var keyFile = CommonOptions.KeyFile();
        var keySize = CommonOptions.KeySize();
        var dataDevice = CommonOptions.DataDevice();
        var reserved = CommonOptions.ReservedSectors();
        var json = CommonOptions.Json();
        var progressJson = CommonOptions.ProgressJson();
        var cmd = new Command("write", "Write a file into a closed volume's logical content and compute its tags (no kernel needed).")
        {
            device, input, offset, integrity, keyFile, keySize, dataDevice, reserved, json, progressJson,
        };
        cmd.SetAction(p =>
        {
            bool asJson = p.GetValue(json);
            try
            {
                var r = VolumeOperations.Write(new WriteRequest
                {
                    Volume = new VolumeLocation { Path = p.GetValue(device)!, DataDevicePath = p.GetValue(dataDevice), ReservedSectors = p.GetValue(reserved) },
                    Integrity = new IntegrityAlgorithmSpec { Algorithm = p.GetValue(integrity)!, Key = CommonOptions.ReadKey(p.GetValue(keyFile), p.GetValue(keySize), "integrity") },
                    InputPath = p.GetValue(input)!, OffsetSectors = p.GetValue(offset),
                }, new CliProgress(p.GetValue(progressJson)), Program.Cancellation);
                if (asJson) CliOutput.WriteJson(r);
                else Console.WriteLine($"Wrote {r.BlocksWritten} blocks ({r.SectorsWritten} sectors) at sector {r.StartSector} of {r.Path} in {r.Duration.TotalSeconds:0.00} s.");
                return CliOutput.Success;
            }
            catch (Exception ex) when (ex is IntegrityVolumeException or OperationCanceledException or IOException or UnauthorizedAccessException)
            {
                return CliOutput.Fail(ex, asJson);
            }
        });
        return cmd;
    }
}
