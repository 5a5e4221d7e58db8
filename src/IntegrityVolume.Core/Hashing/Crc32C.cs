using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Hashing;

/// <summary>CRC-32C (Castagnoli) raw register update; hardware instructions through BitOperations.Crc32C.</summary>
internal static class Crc32C
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        for (int i = words.Length * 8; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }
}
