using System.Runtime.CompilerServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Read buffers that start on a page boundary. The kernel copies page-cache pages to the caller's buffer page by
/// page; into a destination that is not cache-line aligned every 64-byte store straddles two lines, which cost
/// ~10% of a cached read here (measured with a C reader: 22.7 GiB/s aligned, 20.2 GiB/s at a 16-byte offset).
/// </summary>
internal static class PageAlignedBuffer
{
    private const int PageBytes = 4096;

    /// <summary>A zeroed buffer of <paramref name="length"/> bytes at a page-aligned address (pinned: it never moves).</summary>
    public static unsafe ArraySegment<byte> Allocate(int length)
    {
        var array = GC.AllocateArray<byte>(length + PageBytes, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref array[0]);
        int offset = (int)((PageBytes - (address & (PageBytes - 1))) & (PageBytes - 1));
        return new ArraySegment<byte>(array, offset, length);
    }
}
