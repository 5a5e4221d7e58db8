using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using K4os.Hash.xxHash;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// One hash function as the kernel's crypto API computes it, fed in two pieces (the tag prefix, then the block).
/// Not thread-safe: each verification worker owns one.
/// </summary>
public abstract class TagHasher : IDisposable
{
    /// <summary>Padding that keeps a worker's per-tag state off other threads' cache lines.</summary>
    internal const int CacheLineBytes = 64;

    public abstract int DigestSize { get; }
    /// <summary>digest = H(prefix ‖ block), in the byte order the kernel stores it.</summary>
    public abstract void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest);

    /// <summary>digest = H(prefix ‖ 0^zeroBytes) without touching the zeros, where the hash allows it (CRCs).</summary>
    public virtual bool TryHashZeros(ReadOnlySpan<byte> prefix, int zeroBytes, Span<byte> digest) => false;

    /// <summary>
    /// Digests of consecutive blocks in one call, where the hash gains from it (independent CRC chains):
    /// digest k = H(salt ‖ LE64(firstSector + k·sectorStep) ‖ block k), written at k·DigestSize.
    /// </summary>
    public virtual bool TryHashConsecutive(ReadOnlySpan<byte> salt, ulong firstSector, ulong sectorStep,
        ReadOnlySpan<byte> blocks, int blockSize, Span<byte> digests) => false;

    /// <summary>Digests of <paramref name="count"/> consecutive all-zero blocks without touching zeros (CRCs).</summary>
    public virtual bool TryHashZerosConsecutive(ReadOnlySpan<byte> salt, ulong firstSector, ulong sectorStep, int count,
        int zeroBytes, Span<byte> digests) => false;

    public virtual void Dispose() { }
}

/// <summary>
/// A CRC tag: register update from an initial value, final XOR, stored little-endian. Zero blocks go through
/// ZeroShift (crc(prefix ‖ 0^n) = Shift_n(crc(prefix))), so tag initialisation costs O(1) per block.
/// </summary>
internal abstract class CrcTagHasher : TagHasher
{
    private ZeroShift? _shift;
    private int _shiftBytes;
    protected abstract uint Initial { get; }
    protected abstract uint FinalXor { get; }
    protected abstract uint Update(uint crc, ReadOnlySpan<byte> data);
    public override int DigestSize => 4;

    /// <summary>The register after the LE64 sector number (the only per-block input of a zero-block tag).</summary>
    protected virtual uint UpdateSector(uint crc, ulong sector)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, sector);
        return Update(crc, bytes);
    }

    private ZeroShift Shift(int zeroBytes)
    {
        if (_shiftBytes != zeroBytes) { _shift = new ZeroShift(zeroBytes, Update); _shiftBytes = zeroBytes; _sectorTerms = null; }
        return _shift!;
    }

    // Shift(UpdateSector(0, j·step)) for j < SectorTermBlocks: the sector's share of a zero-block tag (see below).
    private const int SectorTermBlocks = 4096;
    private uint[]? _sectorTerms;
    private ulong _sectorTermsStep;

    private uint[] SectorTerms(ZeroShift shift, ulong sectorStep)
    {
        if (_sectorTerms is null || _sectorTermsStep != sectorStep)
        {
            var terms = new uint[SectorTermBlocks];
            for (int j = 0; j < terms.Length; j++) terms[j] = shift.Apply(UpdateSector(0, (ulong)j * sectorStep));
            (_sectorTerms, _sectorTermsStep) = (terms, sectorStep);
        }
        return _sectorTerms;
    }

    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest) =>
        BinaryPrimitives.WriteUInt32LittleEndian(digest, Update(Update(Initial, prefix), block) ^ FinalXor);

    public override bool TryHashZeros(ReadOnlySpan<byte> prefix, int zeroBytes, Span<byte> digest)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(digest, Shift(zeroBytes).Apply(Update(Initial, prefix)) ^ FinalXor);
        return true;
    }

    /// <summary>
    /// A CRC register update is linear over GF(2): Update(a, x) = Update(a, 0) ^ Update(0, x), and so is Shift. A
    /// zero-block tag is therefore affine in the sector: tag(s) = C ^ T(s) with C = FinalXor ^ Shift(UpdateSector(afterSalt, 0))
    /// and T(s) = Shift(UpdateSector(0, s)) linear, so T(high | low) = T(high) ^ T(low). A run of blocks costs one
    /// XOR per tag against a precomputed table of T(low).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override bool TryHashZerosConsecutive(ReadOnlySpan<byte> salt, ulong firstSector, ulong sectorStep, int count,
        int zeroBytes, Span<byte> digests)
    {
        var shift = Shift(zeroBytes);
        uint afterSalt = Update(Initial, salt), finalXor = FinalXor; // the salt is the same for every block: hashed once
        if (!BitConverter.IsLittleEndian || !BitOperations.IsPow2(sectorStep) || firstSector % sectorStep != 0)
        {
            for (int k = 0; k < count; k++)
                BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k)..],
                    shift.Apply(UpdateSector(afterSalt, firstSector + (ulong)k * sectorStep)) ^ finalXor);
            return true;
        }
        var terms = SectorTerms(shift, sectorStep);
        var tags = MemoryMarshal.Cast<byte, uint>(digests[..(4 * count)]);   // little-endian tags
        uint constant = finalXor ^ shift.Apply(UpdateSector(afterSalt, 0));
        ulong lowMask = (ulong)SectorTermBlocks * sectorStep - 1;
        for (int k = 0; k < count;)
        {
            ulong sector = firstSector + (ulong)k * sectorStep;
            int j = (int)((sector & lowMask) / sectorStep);
            int run = Math.Min(count - k, SectorTermBlocks - j);
            uint high = constant ^ shift.Apply(UpdateSector(0, sector & ~lowMask));
            XorInto(terms.AsSpan(j, run), high, tags.Slice(k, run));
            k += run;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorInto(ReadOnlySpan<uint> source, uint value, Span<uint> destination)
    {
        int i = 0;
        var v = new Vector<uint>(value);
        for (; i + Vector<uint>.Count <= source.Length; i += Vector<uint>.Count)
            (new Vector<uint>(source[i..]) ^ v).CopyTo(destination[i..]);
        for (; i < source.Length; i++) destination[i] = source[i] ^ value;
    }
}

/// <summary>
/// crc32c: init ~0, final XOR ~0, stored little-endian (crypto/crc32c_generic.c); a 4-byte key (setkey) replaces the
/// initial register with get_unaligned_le32(key), the final XOR stays.
/// </summary>
internal sealed class Crc32CHasher : CrcTagHasher
{
    private readonly uint _seed;
    public Crc32CHasher(uint seed = 0xFFFFFFFFu) => _seed = seed;
    public static uint SeedFromKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32LittleEndian(key);
    protected override uint Initial => _seed;
    protected override uint FinalXor => 0xFFFFFFFFu;
    protected override uint Update(uint crc, ReadOnlySpan<byte> data) => Crc32C.Update(crc, data);

    // The LE64 sector is one 8-byte crc32 step on a little-endian machine.
    protected override uint UpdateSector(uint crc, ulong sector) =>
        BitConverter.IsLittleEndian ? BitOperations.Crc32C(crc, sector) : base.UpdateSector(crc, sector);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override bool TryHashConsecutive(ReadOnlySpan<byte> salt, ulong firstSector, ulong sectorStep,
        ReadOnlySpan<byte> blocks, int blockSize, Span<byte> digests)
    {
        if (!BitConverter.IsLittleEndian) return false;
        int count = blocks.Length / blockSize, k = 0;
        uint afterSalt = Crc32C.Update(_seed, salt);
        // The LE64 sector is one 8-byte crc32 step on a little-endian machine.
        for (; k + 4 <= count; k += 4)
        {
            ulong s = firstSector + (ulong)k * sectorStep;
            uint c0 = BitOperations.Crc32C(afterSalt, s);
            uint c1 = BitOperations.Crc32C(afterSalt, s + sectorStep);
            uint c2 = BitOperations.Crc32C(afterSalt, s + 2 * sectorStep);
            uint c3 = BitOperations.Crc32C(afterSalt, s + 3 * sectorStep);
            var run = blocks.Slice(k * blockSize, 4 * blockSize);
            Crc32C.Update4(ref c0, ref c1, ref c2, ref c3, run[..blockSize], run.Slice(blockSize, blockSize),
                run.Slice(2 * blockSize, blockSize), run.Slice(3 * blockSize, blockSize));
            BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k)..], ~c0);
            BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k + 4)..], ~c1);
            BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k + 8)..], ~c2);
            BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k + 12)..], ~c3);
        }
        for (; k < count; k++)
        {
            uint c = BitOperations.Crc32C(afterSalt, firstSector + (ulong)k * sectorStep);
            BinaryPrimitives.WriteUInt32LittleEndian(digests[(4 * k)..], ~Crc32C.Update(c, blocks.Slice(k * blockSize, blockSize)));
        }
        return true;
    }
}

/// <summary>crc32: crc32_le with seed 0 and no final XOR, stored little-endian (crypto/crc32.c).</summary>
internal sealed class KernelCrc32Hasher : CrcTagHasher
{
    private readonly System.IO.Hashing.Crc32 _ieee = new();
    private int _zerosLength = -1;
    private uint _zerosIeee;

    protected override uint Initial => 0;
    protected override uint FinalXor => 0;
    protected override uint Update(uint crc, ReadOnlySpan<byte> data) => KernelCrc32.Update(crc, data);

    /// <summary>
    /// The IEEE CRC-32 (System.IO.Hashing, folded with carry-less multiplies) is crc32_le seeded with ~0 and inverted;
    /// by linearity crc32_le(0, m) = IEEE(m) ^ IEEE(0^|m|), and |m| (prefix + block) is the same for every block.
    /// </summary>
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        int length = prefix.Length + block.Length;
        if (length != _zerosLength)
        {
            _zerosIeee = System.IO.Hashing.Crc32.HashToUInt32(new byte[length]);
            _zerosLength = length;
        }
        _ieee.Reset();
        _ieee.Append(prefix);
        _ieee.Append(block);
        BinaryPrimitives.WriteUInt32LittleEndian(digest, _ieee.GetCurrentHashAsUInt32() ^ _zerosIeee);
    }
}

/// <summary>xxhash64 with seed 0, stored little-endian (crypto/xxhash_generic.c).</summary>
internal sealed class XxHash64Hasher : TagHasher
{
    private XXH64.State _state;
    public override int DigestSize => 8;
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        XXH64.Reset(ref _state, 0);
        XXH64.Update(ref _state, prefix);
        XXH64.Update(ref _state, block);
        BinaryPrimitives.WriteUInt64LittleEndian(digest, XXH64.Digest(in _state));
    }
}

/// <summary>SHA-1/SHA-2 and their HMACs through the platform crypto (SHA-NI where the CPU has it).</summary>
internal sealed class IncrementalHasher : TagHasher
{
    private readonly IncrementalHash _hash;
    public IncrementalHasher(IncrementalHash hash) { _hash = hash; DigestSize = hash.HashLengthInBytes; }
    public override int DigestSize { get; }
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        _hash.AppendData(prefix);
        _hash.AppendData(block);
        _hash.GetHashAndReset(digest);
    }
    public override void Dispose() => _hash.Dispose();
}

/// <summary>BLAKE2 (blake2b-256, blake2s-256) through BouncyCastle; the platform has none.</summary>
internal sealed class BouncyCastleHasher : TagHasher
{
    private readonly IDigest _digest;
    public BouncyCastleHasher(IDigest digest) => _digest = digest;
    public override int DigestSize => _digest.GetDigestSize();
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        _digest.BlockUpdate(prefix);
        _digest.BlockUpdate(block);
        _digest.DoFinal(digest);
    }
}
