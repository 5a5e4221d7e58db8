using IntegrityVolume.Core.Devices;
using Microsoft.Extensions.ObjectPool;

namespace IntegrityVolume.Core.Verification;

/// <summary>
/// One verification worker's buffers: a page-aligned data piece and the stored and computed tags of a work item,
/// about 1.3 MiB of zeroed, pinned memory. A pipeline over many volumes (<c>Get-ChildItem *.img | Test-IntegrityVolume</c>)
/// rents them from one pool instead of building them again for every volume. Only key-free state is pooled: a
/// worker's hasher (key-derived for keyed algorithms) is built per volume and wiped on dispose.
/// </summary>
internal sealed class VerifyBuffers
{
    public readonly ArraySegment<byte> Data = PageAlignedBuffer.Allocate(TagVerifier.ChunkDataBytes);
    public byte[] Stored { get; private set; } = Array.Empty<byte>();
    public byte[] Computed { get; private set; } = Array.Empty<byte>();

    /// <summary>Off: every worker builds its own buffers (the benchmark's baseline for the pool's gain).</summary>
    internal static bool PoolEnabled = true;

    // Two workers per core at most run at once; more retained buffers would only hold memory.
    private static readonly ObjectPool<VerifyBuffers> Pool =
        new DefaultObjectPool<VerifyBuffers>(new DefaultPooledObjectPolicy<VerifyBuffers>(), 2 * Environment.ProcessorCount);

    /// <summary>Buffers whose tag arrays hold at least the given byte counts (grown, never shrunk, while pooled).</summary>
    public static VerifyBuffers Rent(int storedBytes, int computedBytes)
    {
        var b = PoolEnabled ? Pool.Get() : new VerifyBuffers();
        if (b.Stored.Length < storedBytes) b.Stored = new byte[storedBytes];
        if (b.Computed.Length < computedBytes) b.Computed = new byte[computedBytes];
        return b;
    }

    public static void Return(VerifyBuffers b)
    {
        if (PoolEnabled) Pool.Return(b);
    }
}
