using System.Runtime.CompilerServices;

namespace IntegrityVolume.Core.Devices;

/// <summary>
/// Buffers that start on a page boundary: what O_DIRECT reads need (alignment to the logical block size), and what
/// cached reads want (the kernel copies page-cache pages to the caller page by page; into a destination that is not
/// cache-line aligned every 64-byte store straddles two lines: see docs/benchmark.md).
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
