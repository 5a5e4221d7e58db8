using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol close: remove an active mapping (like integritysetup close) and the loop device it ran on.</summary>
internal static class CloseCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Device-mapper name of the active volume." };
        var deferred = new Option<bool>("--deferred") { Description = "If the device is in use, remove it when its last user closes it." };
        var cancelDeferred = new Option<bool>("--cancel-deferred") { Description = "Cancel a pending deferred removal (close --deferred) of the device." };
        var json = CommonOptions.Json();
        var cmd = new Command("close", "Deactivate /dev/mapper/<name> (needs root).") { name, deferred, cancelDeferred, json };
        cmd.Aliases.Add("deactivate");
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            if (p.GetValue(cancelDeferred))
            {
                if (p.GetValue(deferred))
                    throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                        "Options --cancel-deferred and --deferred cannot be used at the same time.");
                bool pending = IntegrityMappings.CancelDeferredClose(p.GetValue(name)!);
                if (asJson) Console.WriteLine($"{{\"name\": \"{System.Text.Json.JsonEncodedText.Encode(p.GetValue(name)!)}\", \"deferredRemovalCancelled\": {(pending ? "true" : "false")}}}");
                else Console.WriteLine(pending ? $"{p.GetValue(name)}: deferred removal cancelled." : $"{p.GetValue(name)}: no deferred removal was pending.");
                return ExitCodes.Success;
            }
            var r = IntegrityMappings.Close(p.GetValue(name)!, p.GetValue(deferred));
            if (asJson) CliOutput.WriteJson(r);
            else if (r.Deferred) Console.WriteLine($"{r.Name} is in use; it will be removed when it is closed.");
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
