using System.Text.Json;
using System.Text.Json.Serialization;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli;

/// <summary>Output conventions of ivol: JSON with the PowerShell objects' property names in camelCase, exit codes, progress.</summary>
internal static class CliOutput
{
    public const int Success = 0, CorruptionFound = 1, UsageError = 2, IoError = 3, PermissionDenied = 4, Busy = 5, Cancelled = 130;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void WriteJson(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, value.GetType(), Json));

    /// <summary>Map an engine error to a message on stderr and an exit code.</summary>
    public static int Fail(Exception ex, bool json)
    {
        switch (ex)
        {
            case IntegrityVolumeException iv:
                if (json) Console.Error.WriteLine(JsonSerializer.Serialize(new { error = iv.ErrorId, kind = iv.Kind.ToString(), message = iv.Message, target = iv.Target }, Json));
                else Console.Error.WriteLine($"ivol: {iv.Message} [{iv.ErrorId}]");
                return iv.Kind switch
                {
                    ErrorKind.DeviceError => IoError,
                    ErrorKind.PermissionDenied => PermissionDenied,
                    ErrorKind.ResourceBusy => Busy,
                    ErrorKind.OperationStopped => Cancelled,
                    _ => UsageError,
                };
            case OperationCanceledException:
                Console.Error.WriteLine("ivol: cancelled.");
                return Cancelled;
            case IOException io:
                Console.Error.WriteLine($"ivol: {io.Message}");
                return IoError;
            case UnauthorizedAccessException ua:
                Console.Error.WriteLine($"ivol: {ua.Message}");
                return PermissionDenied;
            default:
                throw ex;
        }
    }

    /// <summary>Run a command body; engine errors become a message and an exit code instead of a crash.</summary>
    public static int Run(bool json, Func<int> body)
    {
        try { return body(); }
        catch (Exception ex) when (ex is IntegrityVolumeException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            return Fail(ex, json);
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
            Console.Error.WriteLine(JsonSerializer.Serialize(new
            {
                activity = p.Activity, device = p.Status, bytes = p.BytesDone.ToString(), size = p.BytesTotal.ToString(),
                speed = ((long)speed).ToString(), eta_ms = (p.SecondsRemaining < 0 ? 0 : p.SecondsRemaining * 1000L).ToString(),
                time_ms = ((long)p.Elapsed.TotalMilliseconds).ToString(),
            }));
            return;
        }
        if (!_tty || p.PercentComplete == _lastPercent) return;
        _lastPercent = p.PercentComplete;
        Console.Error.Write($"\r{p.Activity}: {p.PercentComplete,3}% ({CliOutput.Size(p.BytesDone)} of {CliOutput.Size(p.BytesTotal)})");
        if (p.BytesDone >= p.BytesTotal) Console.Error.WriteLine();
    }
}
