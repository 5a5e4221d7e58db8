using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using IntegrityVolume.Cli.Commands;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.FileSystems;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli;

/// <summary>
/// Output conventions of ivol: JSON with the PowerShell objects' property names in camelCase, error lines, progress.
/// Failures are classified by Core (<see cref="ErrorClassifier"/>, exit codes in <see cref="ExitCodes"/>).
/// </summary>
internal static class CliOutput
{
    /// <summary>The options of every JSON result (camelCase, indented, enums as camelCase strings), backed by <see cref="CliJsonContext"/>.</summary>
    public static readonly JsonSerializerOptions Json = CliJsonContext.Default.Options;

    /// <summary>
    /// Print a result as JSON. Types in <see cref="CliJsonContext"/> use the source-generated metadata (what the NativeAOT
    /// binary needs); any other type falls back to reflection, which only a JIT build has.
    /// </summary>
    public static void WriteJson(object value) => Console.Out.WriteLine(ToJson(value));

    public static string ToJson(object value)
    {
        var type = value.GetType();
        if (CliJsonContext.Default.GetTypeInfo(type) is { } info) return JsonSerializer.Serialize(value, info);
        if (JsonSerializer.IsReflectionEnabledByDefault) return SerializeWithReflection(value, type);
        throw new NotSupportedException($"ivol: {type} is not in CliJsonContext (add [JsonSerializable(typeof({type.Name}))] to CliOutput.cs).");
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reached only when reflection-based JSON is enabled (JIT builds); the NativeAOT build disables it and uses CliJsonContext.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Reached only when reflection-based JSON is enabled (JIT builds); the NativeAOT build disables it and uses CliJsonContext.")]
    private static string SerializeWithReflection(object value, Type type) => JsonSerializer.Serialize(value, type, ReflectionJson.Value);

    private static readonly Lazy<JsonSerializerOptions> ReflectionJson = new(() => new JsonSerializerOptions(Json)
    {
        TypeInfoResolver = JsonTypeInfoResolver.Combine(CliJsonContext.Default, CreateReflectionResolver()),
    });

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "See SerializeWithReflection.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "See SerializeWithReflection.")]
    private static IJsonTypeInfoResolver CreateReflectionResolver() => new DefaultJsonTypeInfoResolver();

    /// <summary>Report a failure Core classified: a message on stderr, its exit code.</summary>
    public static int Fail(ClassifiedError error, bool json) =>
        Report(error.ErrorId, error.Kind, error.Message, json, error.ExitCode, error.Target);

    /// <summary>The last-resort report of an unexpected exception: one line, no stack trace, exit 70.</summary>
    public static int InternalError(Exception? ex, bool json)
    {
        string message = $"internal error: {ex?.GetType().Name ?? "unknown"}: {ex?.Message} (please report it)";
        return Report(ErrorIds.InternalError, ErrorKind.DeviceError, message, json, ExitCodes.InternalFailure);
    }

    /// <summary>One error line on stderr: "ivol: message [Id]", or under --json one compact JSON object.</summary>
    private static int Report(string id, ErrorKind kind, string message, bool json, int code, string? target = null)
    {
        message = message.ReplaceLineEndings(" ");
        if (json) Console.Error.WriteLine(System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(new CliError(id, kind.ToString(), message, target), CliJsonContext.Default.CliError))!.ToJsonString());
        else Console.Error.WriteLine($"ivol: {message} [{id}]");
        return code;
    }

    /// <summary>Run a command body; engine errors become a message and an exit code instead of a crash.</summary>
    public static int Run(bool json, Func<int> body)
    {
        try { return body(); }
        catch (Exception ex) when (ErrorClassifier.Classify(ex) is { } error)
        {
            return Fail(error, json);
        }
    }

    public static string Size(double bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? $"{bytes:0} {units[u]}" : $"{bytes:0.##} {units[u]}";
    }
}

/// <summary>
/// Progress on stderr: a rewritten line on a terminal, one JSON object per line with --progress-json
/// (shaped like integritysetup's: device, bytes, size, speed, eta), nothing otherwise.
/// </summary>
internal sealed class CliProgress : IProgress<OperationProgress>
{
    private readonly bool _json;
    private readonly bool _tty = !Console.IsErrorRedirected;
    private int _lastPercent = -1;
    public CliProgress(bool json) => _json = json;

    public void Report(OperationProgress p)
    {
        if (_json)
        {
            double speed = p.Elapsed.TotalSeconds > 0 ? p.BytesDone / p.Elapsed.TotalSeconds : 0;
            Console.Error.WriteLine(JsonSerializer.Serialize(new ProgressLine(
                p.Activity, p.Status, p.BytesDone.ToString(), p.BytesTotal.ToString(), ((long)speed).ToString(),
                (p.SecondsRemaining < 0 ? 0 : p.SecondsRemaining * 1000L).ToString(), ((long)p.Elapsed.TotalMilliseconds).ToString()),
                CliProgressJsonContext.Default.ProgressLine));
            return;
        }
        if (!_tty || p.PercentComplete == _lastPercent) return;
        _lastPercent = p.PercentComplete;
        Console.Error.Write($"\r{p.Activity}: {p.PercentComplete,3}% ({CliOutput.Size(p.BytesDone)} of {CliOutput.Size(p.BytesTotal)})");
        if (p.BytesDone >= p.BytesTotal) Console.Error.WriteLine();
    }
}

/// <summary>The error object ivol --json prints on stderr: stable id, kind, message, target.</summary>
internal sealed record CliError(string Error, string Kind, string Message, string? Target);

/// <summary>
/// ivol status NAME --json when NAME has no active mapping (for StatusCommand, whose anonymous object NativeAOT cannot
/// serialise): { "name": ..., "path": "/dev/mapper/NAME", "active": false }.
/// </summary>
internal sealed record InactiveMapping(string Name, string Path, bool Active);

/// <summary>One --progress-json line, shaped like integritysetup's (numbers as strings).</summary>
internal sealed record ProgressLine(
    [property: JsonPropertyName("activity")] string Activity,
    [property: JsonPropertyName("device")] string? Device,
    [property: JsonPropertyName("bytes")] string Bytes,
    [property: JsonPropertyName("size")] string Size,
    [property: JsonPropertyName("speed")] string Speed,
    [property: JsonPropertyName("eta_ms")] string EtaMs,
    [property: JsonPropertyName("time_ms")] string TimeMs);

/// <summary>Enums as camelCase strings ("clean", "error"), without the reflection the non-generic converter needs.</summary>
internal sealed class CamelCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase) where TEnum : struct, Enum;

/// <summary>
/// Source-generated JSON metadata for every result ivol prints (NativeAOT has no reflection-based serialization).
/// A command that prints a new type must add it here, and any enum it contains to Converters.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = new[]
    {
        typeof(CamelCaseEnumConverter<JournalState>), typeof(CamelCaseEnumConverter<BlockClass>), typeof(CamelCaseEnumConverter<VerifyVerdict>), typeof(CamelCaseEnumConverter<ErrorKind>),
        typeof(CamelCaseEnumConverter<IntegrityTabSeverity>),
        typeof(CamelCaseEnumConverter<IntegrityMode>),
        typeof(CamelCaseEnumConverter<RepairOutcome>),
        typeof(CamelCaseEnumConverter<AlgorithmSource>), typeof(CamelCaseEnumConverter<AlgorithmDetectionOutcome>),
        typeof(CamelCaseEnumConverter<BlockOwnerKind>), typeof(CamelCaseEnumConverter<IntegrityVolume.Core.Arrays.MdLegRole>),
        typeof(CamelCaseEnumConverter<IntegrityVolume.Core.Arrays.ArrayLegReplaceMode>),
    })]
[JsonSerializable(typeof(VolumeInfo))]
[JsonSerializable(typeof(VerifyResult))]
[JsonSerializable(typeof(FormatResult))]
[JsonSerializable(typeof(WriteResult))]
[JsonSerializable(typeof(ResizeResult))]
[JsonSerializable(typeof(RepairResult))]
[JsonSerializable(typeof(CliError))]
[JsonSerializable(typeof(IntegrityMappingInfo))]
[JsonSerializable(typeof(IntegrityMappingInfo[]))]
[JsonSerializable(typeof(List<IntegrityMappingInfo>))]
[JsonSerializable(typeof(IReadOnlyList<IntegrityMappingInfo>))]
[JsonSerializable(typeof(IntegrityCloseResult))]
[JsonSerializable(typeof(InactiveMapping))]
[JsonSerializable(typeof(IntegrityTabUpdateResult))]
[JsonSerializable(typeof(TabListResult))]
[JsonSerializable(typeof(TabCheckResult))]
[JsonSerializable(typeof(SectorOwnerReport))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.MdArrayInfo))]
[JsonSerializable(typeof(IReadOnlyList<IntegrityVolume.Core.Arrays.MdArrayInfo>))]
[JsonSerializable(typeof(List<IntegrityVolume.Core.Arrays.MdArrayInfo>))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.ArrayScrubResult))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.ArrayLegReplaceResult))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.ArrayCreateResult))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.ArrayCloseResult))]
[JsonSerializable(typeof(LegSectorReport))]
[JsonSerializable(typeof(IntegrityVolume.Core.Arrays.ArrayCreatePlan))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary>--progress-json lines: compact, property names as written.</summary>
[JsonSerializable(typeof(ProgressLine))]
internal sealed partial class CliProgressJsonContext : JsonSerializerContext;
