using System.Buffers.Binary;
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
    public abstract int DigestSize { get; }
    /// <summary>digest = H(prefix ‖ block), in the byte order the kernel stores it.</summary>
    public abstract void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest);

    /// <summary>digest = H(prefix ‖ 0^zeroBytes) without touching the zeros, where the hash allows it (CRCs).</summary>
    public virtual bool TryHashZeros(ReadOnlySpan<byte> prefix, int zeroBytes, Span<byte> digest) => false;

    public virtual void Dispose() { }
}

/// <summary>crc32c: init ~0, final XOR ~0, stored little-endian (crypto/crc32c_generic.c).</summary>
internal sealed class Crc32CHasher : TagHasher
{
    private ZeroShift? _shift;
    private int _shiftBytes;
    public override int DigestSize => 4;
    public override bool TryHashZeros(ReadOnlySpan<byte> prefix, int zeroBytes, Span<byte> digest)
    {
        if (_shiftBytes != zeroBytes) { _shift = new ZeroShift(zeroBytes, Crc32C.Update); _shiftBytes = zeroBytes; }
        BinaryPrimitives.WriteUInt32LittleEndian(digest, ~_shift!.Apply(Crc32C.Update(0xFFFFFFFFu, prefix)));
        return true;
    }
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        uint crc = Crc32C.Update(Crc32C.Update(0xFFFFFFFFu, prefix), block);
        BinaryPrimitives.WriteUInt32LittleEndian(digest, ~crc);
    }
}

/// <summary>crc32: crc32_le with seed 0 and no final XOR, stored little-endian (crypto/crc32.c).</summary>
internal sealed class KernelCrc32Hasher : TagHasher
{
    private ZeroShift? _shift;
    private int _shiftBytes;
    public override int DigestSize => 4;
    public override bool TryHashZeros(ReadOnlySpan<byte> prefix, int zeroBytes, Span<byte> digest)
    {
        if (_shiftBytes != zeroBytes) { _shift = new ZeroShift(zeroBytes, KernelCrc32.Update); _shiftBytes = zeroBytes; }
        BinaryPrimitives.WriteUInt32LittleEndian(digest, _shift!.Apply(KernelCrc32.Update(0, prefix)));
        return true;
    }
    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        uint crc = KernelCrc32.Update(KernelCrc32.Update(0, prefix), block);
        BinaryPrimitives.WriteUInt32LittleEndian(digest, crc);
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
        BinaryPrimitives.WriteUInt64LittleEndian(digest, XXH64.Digest(ref _state));
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
