using System.Runtime.InteropServices;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Benchmark;

/// <summary>libc calls only the benchmark needs (page-cache control and residency, child resource usage); the engine's are in Core's NativeMethods.</summary>
internal static unsafe partial class BenchNative
{
    public const int PROT_READ = 1, MAP_SHARED = 1;
    public const int RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1;

    [LibraryImport("libc", EntryPoint = "sync")]
    public static partial void Sync();

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    public static partial int Mincore(nint address, nuint length, byte* vector);

    /// <summary>struct rusage as 18 longs: ru_utime (2), ru_stime (2), ru_maxrss (index 4, KiB on Linux), ...</summary>
    [LibraryImport("libc", EntryPoint = "getrusage")]
    public static partial int GetRusage(int who, long* usage);

    [LibraryImport("libc", EntryPoint = "getpagesize")]
    public static partial int GetPageSize();

    public static bool IsRoot => OperatingSystem.IsLinux() && NativeMethods.GetEuid() == 0;

    /// <summary>Largest resident set (bytes) of any waited-for child of this process so far (getrusage RUSAGE_CHILDREN).</summary>
    public static long ChildrenMaxRssBytes()
    {
        long* usage = stackalloc long[18];
        return GetRusage(RUSAGE_CHILDREN, usage) == 0 ? usage[4] * 1024 : -1;
    }

    /// <summary>User + system CPU seconds so far of this process (RUSAGE_SELF) or of its waited-for children (RUSAGE_CHILDREN).</summary>
    public static double CpuSeconds(int who)
    {
        long* usage = stackalloc long[18];
        if (GetRusage(who, usage) != 0) return double.NaN;
        return usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6;
    }
}
