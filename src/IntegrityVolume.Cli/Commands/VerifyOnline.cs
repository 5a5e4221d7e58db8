using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using System.Text.Json.Serialization;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol verify --name NAME: verify an ACTIVE mapping through the kernel (OnlineVerifier): every block of
/// /dev/mapper/NAME is read with O_DIRECT, failing chunks are re-read block by block, and the blocks the kernel refuses
/// (EILSEQ) are listed like the offline verify lists them. Exit 0 healthy, 1 mismatches, 3 only unreadable blocks.
/// VerifyCommand adds the option and branches here; everything else about the online mode lives in this file.
/// </summary>
internal static class VerifyOnline
{
    public static Option<string?> NameOption() => new("--name")
    {
        Description = "Verify the ACTIVE volume /dev/mapper/<name> through the kernel (online; O_DIRECT reads, needs root) instead of a closed device.",
    };

    /// <summary>Exactly one of the device argument and --name.</summary>
    public static void Validate(CommandResult result, Argument<string> device, Option<string?> name)
    {
        bool hasDevice = result.GetResult(device) is { Tokens.Count: > 0 };
        bool hasName = result.GetValue(name) is not null;
        if (hasDevice && hasName)
            result.AddError("Give either a device (offline verify of a closed volume) or --name (online verify of an active one), not both.");
        else if (!hasDevice && !hasName)
            result.AddError("Give the device or image to verify, or --name NAME for an active volume.");
    }

    public static int Run(string name, int threads, bool json, bool progressJson) => CliOutput.Run(json, () =>
    {
        var r = OnlineVerifier.VerifyMapping(name, new OnlineVerifyOptions { Threads = threads }, new CliProgress(progressJson), Program.Cancellation);
        if (json) Console.Out.WriteLine(JsonSerializer.Serialize(r, OnlineVerifyJsonContext.Default.OnlineVerifyResult));
        else Print(r);
        return r.MismatchedBlocks > 0 ? ExitCodes.CorruptionFound : r.UnreadableBlocks > 0 ? ExitCodes.IoError : ExitCodes.Success;
    });

    private static void Print(OnlineVerifyResult r)
    {
        string verdict = r.MismatchedBlocks > 0 ? "CORRUPT" : r.UnreadableBlocks > 0 ? "UNREADABLE BLOCKS" : "healthy";
        Console.WriteLine($"{r.Path} ({r.Name}): {verdict} - {r.BlocksChecked} blocks of {r.SectorSize} bytes read through the kernel " +
            $"({r.Algorithm ?? "external tags"}, {IntegrityModes.Name(r.Mode)}) in {r.Duration.TotalSeconds:0.00} s ({r.ThroughputMiBps:0.#} MiB/s)");
        if (r.CryptLayer is { } c)
            Console.WriteLine($"  read through the crypt mapping {c.Name} ({c.Cipher}, integrity {c.Integrity}) over the dm-integrity mapping {r.IntegrityMapping}: failing blocks are those dm-crypt's tag check refuses");
        string counter = r.FailuresDelta is { } d ? $"+{d} ({r.FailuresBefore} -> {r.FailuresAfter})" : "not available";
        Console.WriteLine($"  valid {r.ValidBlocks}, mismatched {r.MismatchedBlocks}, unreadable {r.UnreadableBlocks}; kernel mismatch counter {counter}");
        foreach (var range in r.MismatchedSectors.Take(50))
            Console.WriteLine($"  Checksum failed at sector {range.Start}{(range.Sectors > 1 ? $" (+{range.Sectors - 1} sectors)" : "")}");
        if (r.MismatchedSectors.Length > 50) Console.WriteLine($"  ... {r.MismatchedSectors.Length - 50} more ranges (use --json for all)");
        foreach (var range in r.UnreadableSectors.Take(50))
            Console.WriteLine($"  I/O error at sector {range.Start}{(range.Sectors > 1 ? $" (+{range.Sectors - 1} sectors)" : "")}");
        if (r.UnreadableSectors.Length > 50) Console.WriteLine($"  ... {r.UnreadableSectors.Length - 50} more ranges (use --json for all)");
        foreach (var w in r.Warnings) Console.Error.WriteLine($"warning: {w}");
    }
}

/// <summary>
/// JSON of ivol verify --name (source-generated, so the NativeAOT build prints it too), with CliJsonContext's settings:
/// camelCase, indented, nothing omitted.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(OnlineVerifyResult))]
internal sealed partial class OnlineVerifyJsonContext : JsonSerializerContext;
