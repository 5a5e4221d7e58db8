using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace IntegrityVolume.Benchmark;

/// <summary>
/// Reproducible incompressible test data (xoshiro256** seeded by splitmix64): the same seed gives the same bytes,
/// fast enough (several GB/s) that generating an input file costs about as much as writing it.
/// </summary>
public sealed class PseudoRandomData
{
    private ulong _s0, _s1, _s2, _s3;

    public PseudoRandomData(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    public void Fill(Span<byte> buffer)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(buffer);
        for (int i = 0; i < words.Length; i++) words[i] = Next();
        int tail = buffer.Length - words.Length * 8;
        if (tail > 0)
        {
            Span<byte> last = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(last, Next());
            last[..tail].CopyTo(buffer[(words.Length * 8)..]);
        }
    }

    /// <summary>Write <paramref name="length"/> pseudo-random bytes to a new file and fsync it (clean pages, droppable).</summary>
    public static void WriteFile(string path, long length, ulong seed, CancellationToken ct = default)
    {
        var rng = new PseudoRandomData(seed);
        var buffer = new byte[1 << 20];
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 0);
        for (long done = 0; done < length;)
        {
            ct.ThrowIfCancellationRequested();
            int n = (int)Math.Min(buffer.Length, length - done);
            rng.Fill(buffer.AsSpan(0, n));
            fs.Write(buffer, 0, n);
            done += n;
        }
        fs.Flush(flushToDisk: true);
    }
}
