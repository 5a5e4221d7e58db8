using System.Runtime.CompilerServices;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// Appending n zero bytes to a reflected CRC is a linear map of the 32-bit register (no data term), so
/// crc(prefix ‖ 0^n) = Shift_n(crc(prefix)). Shift_n is precomputed once per block size as four 256-entry tables:
/// an O(1) tag per zero block instead of hashing 4 KiB, which makes tag initialisation cost the tag area only.
/// </summary>
internal sealed class ZeroShift
{
    private readonly uint[] _table = new uint[4 * 256];

    public delegate uint CrcUpdate(uint crc, ReadOnlySpan<byte> data);

    public ZeroShift(int zeroBytes, CrcUpdate update)
    {
        var zeros = new byte[zeroBytes];
        var basis = new uint[32];
        for (int bit = 0; bit < 32; bit++) basis[bit] = update(1u << bit, zeros);
        for (int k = 0; k < 4; k++)
            for (int b = 0; b < 256; b++)
            {
                uint v = 0;
                for (int bit = 0; bit < 8; bit++)
                    if ((b & (1 << bit)) != 0) v ^= basis[k * 8 + bit];
                _table[k * 256 + b] = v;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Apply(uint crc) =>
        _table[crc & 0xFF] ^ _table[256 + ((crc >> 8) & 0xFF)] ^ _table[512 + ((crc >> 16) & 0xFF)] ^ _table[768 + (crc >> 24)];
}
