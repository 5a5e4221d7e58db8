using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Benchmark;

/// <summary>
/// Cold and warm page cache for one file: drop its pages (fsync, posix_fadvise DONTNEED, and the system-wide
/// drop_caches when root and asked), and measure how much of it is resident (mmap + mincore).
/// </summary>
public static class PageCache
{
    /// <summary>Evict the file's pages. Returns true when the system-wide drop_caches was also written.</summary>
    public static bool Drop(string path, bool systemWide)
    {
        using (var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
        {
            int fd = (int)h.DangerousGetHandle();
            NativeMethods.Fsync(fd);   // dirty pages cannot be dropped
            NativeMethods.PosixFadvise(fd, 0, 0, NativeMethods.POSIX_FADV_DONTNEED);
        }
        if (!systemWide || !BenchNative.IsRoot) return false;
        try
        {
            BenchNative.Sync();
            File.WriteAllText("/proc/sys/vm/drop_caches", "1");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Fraction (0..1) of the file's pages in the page cache; -1 when it cannot be determined.</summary>
    public static unsafe double ResidentFraction(string path)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long length = RandomAccess.GetLength(h);
        if (length == 0) return 1;
        int fd = (int)h.DangerousGetHandle();
        nint map = BenchNative.Mmap(0, (nuint)length, BenchNative.PROT_READ, BenchNative.MAP_SHARED, fd, 0);
        if (map == -1) return -1;
        try
        {
            long page = BenchNative.GetPageSize();
            long pages = (length + page - 1) / page;
            var vector = new byte[pages];
            fixed (byte* v = vector)
                if (BenchNative.Mincore(map, (nuint)length, v) != 0) return -1;
            long resident = 0;
            foreach (byte b in vector) resident += b & 1;
            return (double)resident / pages;
        }
        finally { BenchNative.Munmap(map, (nuint)length); }
    }
}
