using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Fuzz;

/// <summary>A run that broke one of the target's rules (not an <see cref="IntegrityVolumeException"/>).</summary>
public sealed class FuzzFailure(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One fuzz input = one device image (superblock, journal, tags, data). The target runs the read-only paths on it:
/// superblock parse, geometry, journal inspection (dump), bitmap and verify. Rules checked on every input:
/// - only <see cref="IntegrityVolumeException"/> may escape the engine;
/// - the image file is not written (bytes and mtime unchanged);
/// - the run ends (the <see cref="Watchdog"/> stops a run that exceeds its time);
/// - the managed heap allocated by the run stays within <see cref="AllocationBound"/> (checked live by the watchdog).
/// </summary>
public sealed class Target : IDisposable
{
    /// <summary>Inputs are device images of bounded size; longer inputs are cut here.</summary>
    public const int MaxInputBytes = 4 << 20;

    private readonly string _path;
    private readonly Watchdog _watchdog;

    public Target(TimeSpan timeout)
    {
        string dir = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _path = Path.Combine(dir, $"ivol-fuzz-{Environment.ProcessId}.img");
        _watchdog = new Watchdog(timeout);
    }

    /// <summary>
    /// Bytes a run may allocate: a fixed part for one verify worker's buffers (512 KiB data, up to 3.4 MiB of tags at
    /// 424-byte tags per 512-byte block), the superblock and one journal section, plus a multiple of the image size.
    /// Anything proportional to a field's value instead of the device is far beyond this.
    /// </summary>
    public static long AllocationBound(int inputBytes) => (24L << 20) + 16L * inputBytes;

    /// <summary>Which outcome an input had (for replay statistics).</summary>
    public string LastOutcome { get; private set; } = "";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInputBytes) input = input[..MaxInputBytes];
        byte[] image = input.ToArray();
        File.WriteAllBytes(_path, image);
        var mtime = File.GetLastWriteTimeUtc(_path);

        // The algorithm is not on disk: pick the one whose digest fills the tag, so tags of kernel-made seeds match.
        int tagSize = image.Length >= 12 ? image[10] | image[11] << 8 : 0;
        string algorithm = tagSize switch { 32 => "sha256", 20 => "sha1", 8 => "xxhash64", _ => "crc32c" };
        // log2_interleave_sectors 0 = separate metadata device: the same image serves as the data device.
        bool separate = image.Length > 9 && image[9] == 0;
        var location = new VolumeLocation { Path = _path, DataDevicePath = separate ? _path : null };

        _watchdog.Arm(AllocationBound(image.Length));
        try
        {
            LastOutcome = Exercise(image, location, algorithm);
        }
        catch (IntegrityVolumeException ex)
        {
            LastOutcome = ex.ErrorId;
        }
        finally
        {
            _watchdog.Disarm();
        }

        if (File.GetLastWriteTimeUtc(_path) != mtime || !File.ReadAllBytes(_path).AsSpan().SequenceEqual(image))
            throw new FuzzFailure("a read-only path wrote to the image");
    }

    private static string Exercise(byte[] image, VolumeLocation location, string algorithm)
    {
        if (image.Length >= Superblock.AreaSize)
        {
            var sb = Superblock.Parse(image.AsSpan(0, Superblock.AreaSize));
            _ = sb.FlagNames();
        }
        var info = VolumeOperations.Inspect(location);
        _ = info.ToString();
        var result = VolumeOperations.Verify(new VerifyRequest
        {
            Volume = location, Integrity = new IntegrityAlgorithmSpec { Algorithm = IntegrityVolume.Core.Hashing.TagAlgorithm.Parse(algorithm) }, Threads = 1,
            MaxReportedRanges = 1000,
        });
        return $"verified:{result.JournalState}:{(result.MismatchedBlocks == 0 ? "clean" : "mismatch")}";
    }

    public void Dispose()
    {
        _watchdog.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}

/// <summary>
/// Ends the process (a crash for the fuzzer, a failure for replay) when a run takes longer than its time or allocates
/// more than its bound. Polls every 10 ms, so a runaway allocation is stopped long before it takes the machine down.
/// </summary>
public sealed class Watchdog : IDisposable
{
    private readonly TimeSpan _timeout;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private long _startTicks, _startAllocated, _bound;
    private bool _armed, _stopped;

    /// <summary>Called instead of ending the process (replay mode prints the input's name first).</summary>
    public static Action<string>? OnViolation;

    public Watchdog(TimeSpan timeout)
    {
        _timeout = timeout;
        _thread = new Thread(Loop) { IsBackground = true, Name = "fuzz watchdog" };
        _thread.Start();
    }

    public void Arm(long allocationBound)
    {
        lock (_gate)
        {
            _startAllocated = GC.GetTotalAllocatedBytes(false);
            _bound = allocationBound;
            _startTicks = Environment.TickCount64;
            _armed = true;
        }
    }

    public void Disarm()
    {
        string? violation;
        lock (_gate) { violation = Check(timeToo: false); _armed = false; }
        if (violation is not null) Fail(violation);
    }

    private string? Check(bool timeToo)
    {
        if (!_armed) return null;
        long allocated = GC.GetTotalAllocatedBytes(false) - _startAllocated;
        if (allocated > _bound) return $"allocation: {allocated} bytes allocated, bound {_bound}";
        long ms = Environment.TickCount64 - _startTicks;
        if (timeToo && ms > _timeout.TotalMilliseconds) return $"hang: the run took more than {ms} ms";
        return null;
    }

    private void Loop()
    {
        while (true)
        {
            Thread.Sleep(10);
            string? violation;
            lock (_gate) { if (_stopped) return; violation = Check(timeToo: true); }
            if (violation is not null) Fail(violation);
        }
    }

    private static void Fail(string violation)
    {
        if (OnViolation is not null) OnViolation(violation);
        // FailFast: a crash afl-fuzz records, even while the engine thread is stuck or still allocating.
        Environment.FailFast("fuzz: " + violation);
    }

    public void Dispose() { lock (_gate) _stopped = true; }
}
