using System.CommandLine;
using IntegrityVolume.Cli.Commands;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli;

/// <summary>ivol: dm-integrity volumes from the shell, over the same engine as the PowerShell module.</summary>
public static class Program
{
    private static readonly CancellationTokenSource Cts = new();
    internal static CancellationToken Cancellation => Cts.Token;

    public static int Main(string[] args)
    {
        Signals.Install(Cts);
        var parsed = BuildRoot().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Usage errors exit 2 (integritysetup exits 1 for "wrong parameters"; ivol keeps 1 for "corruption found").
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"ivol: {error.Message}");
            Console.Error.WriteLine("Run 'ivol --help' for usage.");
            return ExitCodes.UsageError;
        }
        // Last resort: an exception no command mapped is a bug, not a verdict. One line (a JSON object with an id under
        // --json), no stack trace, and exit 70 (EX_SOFTWARE), never 1 ("corruption found").
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            CliOutput.InternalError(e.ExceptionObject as Exception, args.Contains("--json"));
            Environment.Exit(ExitCodes.InternalFailure);
        };
        try { return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }); }
        catch (Exception ex) { return CliOutput.InternalError(ex, args.Contains("--json")); }
    }

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("ivol - format, inspect, verify and open Linux dm-integrity volumes (kernel-compatible).\n" +
            "Exit codes: 0 success/healthy, 1 corruption found, 2 usage or input error, 3 I/O error, 4 permission denied, 5 device busy, " +
            "6 verification incomplete (nothing wrong found, not everything checked), 70 internal error, 130 cancelled.");
        root.Subcommands.Add(FormatCommand.Create());
        root.Subcommands.Add(DumpCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(WriteCommand.Create());
        root.Subcommands.Add(RepairCommand.Create());
        root.Subcommands.Add(ResizeCommand.Create());
        root.Subcommands.Add(TabCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(LocateCommand.Create());
        // kernel commands registered here
        root.Subcommands.Add(OpenCommand.Create());
        root.Subcommands.Add(CloseCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(ArrayCommand.Create());
        return root;
    }
}
