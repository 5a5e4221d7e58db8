using System.Runtime.InteropServices;

namespace IntegrityVolume.Benchmark;

/// <summary>The machine a benchmark ran on: CPU, kernel, memory, runtime, and the disk under the work directory.</summary>
public sealed class MachineInfo
{
    public int LogicalCpus { get; set; }
    public string CpuModel { get; set; } = "";
    public List<string> CpuFlags { get; set; } = new();
    public string Kernel { get; set; } = "";
    public string OperatingSystem { get; set; } = "";
    public long MemoryBytes { get; set; }
    public string Runtime { get; set; } = "";
    public bool Root { get; set; }
    public string Filesystem { get; set; } = "";
    public string MountPoint { get; set; } = "";
    public string MountOptions { get; set; } = "";
    public string BlockDevice { get; set; } = "";
    public string DiskModel { get; set; } = "";
    public bool? Rotational { get; set; }
    public int ReadAheadKiB { get; set; }
    public string Scheduler { get; set; } = "";
    public long DiskBytes { get; set; }
    public long FreeBytes { get; set; }

    private static readonly string[] InterestingFlags = { "sse4_2", "pclmulqdq", "avx2", "avx512f", "vpclmulqdq", "sha_ni" };

    public static MachineInfo Collect(string directory)
    {
        var m = new MachineInfo
        {
            LogicalCpus = Environment.ProcessorCount, Runtime = RuntimeInformation.FrameworkDescription + " " + RuntimeInformation.ProcessArchitecture,
            Root = BenchNative.IsRoot,
        };
        string cpuinfo = Read("/proc/cpuinfo");
        m.CpuModel = Field(cpuinfo, "model name") ?? Field(cpuinfo, "Model") ?? "";
        var flags = (Field(cpuinfo, "flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        m.CpuFlags = InterestingFlags.Where(f => flags.Contains(f)).ToList();
        m.Kernel = Read("/proc/sys/kernel/osrelease").Trim();
        m.OperatingSystem = (Field(Read("/etc/os-release"), "PRETTY_NAME", '=') ?? "").Trim('"');
        if (long.TryParse((Field(Read("/proc/meminfo"), "MemTotal") ?? "").Split(' ')[0], out long kb)) m.MemoryBytes = kb * 1024;
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(directory));
            m.FreeBytes = drive.AvailableFreeSpace;
            m.DiskBytes = drive.TotalSize;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { }
        DescribeDisk(m, Path.GetFullPath(directory));
        return m;
    }

    private static void DescribeDisk(MachineInfo m, string directory)
    {
        // The mount with the longest mount point that is a prefix of the directory.
        string best = "";
        foreach (var line in Read("/proc/self/mounts").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            if (f.Length < 4) continue;
            string mp = f[1].Replace("\\040", " ");
            bool under = directory == mp || directory.StartsWith(mp.EndsWith('/') ? mp : mp + "/", StringComparison.Ordinal);
            if (!under || mp.Length < best.Length) continue;
            best = mp;
            m.MountPoint = mp; m.BlockDevice = f[0]; m.Filesystem = f[2]; m.MountOptions = f[3];
        }
        if (!m.BlockDevice.StartsWith("/dev/", StringComparison.Ordinal)) return;
        string name = Path.GetFileName(m.BlockDevice);
        string sys = $"/sys/class/block/{name}";
        if (!Directory.Exists(sys)) return;
        // A partition's queue is its parent's.
        string queue = Directory.Exists($"{sys}/queue") ? $"{sys}/queue" : Path.Combine(Path.GetDirectoryName(new DirectoryInfo(sys).ResolveLinkTarget(true)?.FullName ?? sys) ?? sys, "queue");
        string disk = Path.GetDirectoryName(queue) ?? sys;
        m.Rotational = Read($"{queue}/rotational").Trim() switch { "0" => false, "1" => true, _ => null };
        int.TryParse(Read($"{queue}/read_ahead_kb").Trim(), out int ra);
        m.ReadAheadKiB = ra;
        m.Scheduler = Read($"{queue}/scheduler").Trim();
        string model = Read($"{disk}/device/model").Trim();
        string vendor = Read($"{disk}/device/vendor").Trim();
        if (model.Length == 0 && File.Exists($"{disk}/device/modalias")) model = Read($"{disk}/device/modalias").Trim(); // virtio:d00000002v...
        m.DiskModel = (vendor + " " + model).Trim();
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException) { return ""; }
    }

    private static string? Field(string text, string key, char sep = ':')
    {
        foreach (var line in text.Split('\n'))
        {
            int i = line.IndexOf(sep);
            if (i > 0 && line[..i].Trim() == key) return line[(i + 1)..].Trim();
        }
        return null;
    }

    public override string ToString() =>
        $"{LogicalCpus} x {CpuModel} [{string.Join(' ', CpuFlags)}], {MemoryBytes / (1L << 30)} GiB RAM, Linux {Kernel} ({OperatingSystem}), {Runtime}; " +
        $"{MountPoint} = {BlockDevice} {Filesystem} ({DiskModel}{(Rotational == false ? ", non-rotational" : Rotational == true ? ", rotational" : "")}, read-ahead {ReadAheadKiB} KiB, {Scheduler})";
}
