using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace IntegrityVolume.Core.Hashing;

/// <summary>CRC-32C (Castagnoli) raw register update; hardware instructions through BitOperations.Crc32C.</summary>
internal static class Crc32C
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        for (int i = words.Length * 8; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }

    /// <summary>
    /// Four registers over four equal-length runs in lock step. One crc32 instruction has a latency of ~3 cycles and a
    /// throughput of 1 per cycle, so a single chain runs at a third of the unit's rate; four independent chains keep it busy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update4(ref uint c0, ref uint c1, ref uint c2, ref uint c3,
        ReadOnlySpan<byte> d0, ReadOnlySpan<byte> d1, ReadOnlySpan<byte> d2, ReadOnlySpan<byte> d3)
    {
        if (!BitConverter.IsLittleEndian || (d0.Length & 7) != 0)
        {
            c0 = Update(c0, d0); c1 = Update(c1, d1); c2 = Update(c2, d2); c3 = Update(c3, d3);
            return;
        }
        var w0 = MemoryMarshal.Cast<byte, ulong>(d0);
        var w1 = MemoryMarshal.Cast<byte, ulong>(d1)[..w0.Length];
        var w2 = MemoryMarshal.Cast<byte, ulong>(d2)[..w0.Length];
        var w3 = MemoryMarshal.Cast<byte, ulong>(d3)[..w0.Length];
        uint a = c0, b = c1, c = c2, d = c3;
        // NativeAOT compiles for x86-64-v1 and tests for SSE4.2 at every BitOperations.Crc32C; one test per run keeps the
        // loop the JIT emits (docs/benchmark.md). Without SSE4.2: the portable loop.
        if (Sse42.X64.IsSupported)
        {
            for (int i = 0; i < w0.Length; i++)
            {
                a = (uint)Sse42.X64.Crc32(a, w0[i]);
                b = (uint)Sse42.X64.Crc32(b, w1[i]);
                c = (uint)Sse42.X64.Crc32(c, w2[i]);
                d = (uint)Sse42.X64.Crc32(d, w3[i]);
            }
            c0 = a; c1 = b; c2 = c; c3 = d;
            return;
        }
        for (int i = 0; i < w0.Length; i++)
        {
            a = BitOperations.Crc32C(a, w0[i]);
            b = BitOperations.Crc32C(b, w1[i]);
            c = BitOperations.Crc32C(c, w2[i]);
            d = BitOperations.Crc32C(d, w3[i]);
        }
        c0 = a; c1 = b; c2 = c; c3 = d;
    }
}
