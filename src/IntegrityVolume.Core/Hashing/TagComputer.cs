using System.Buffers.Binary;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// integrity_sector_checksum: tag = first tag_size bytes of H([salt if FIXED_HMAC] ‖ LE64(logical sector) ‖ block),
/// zero-padded when the digest is shorter than the tag. One per worker thread.
/// </summary>
public sealed class TagComputer : IDisposable
{
    private readonly TagHasher _hasher;
    private readonly byte[] _prefix;
    private readonly int _sectorOffset;
    private readonly byte[] _digest;

    public TagComputer(TagAlgorithm algorithm, byte[]? key, int tagSize, ReadOnlySpan<byte> salt)
    {
        _hasher = algorithm.CreateHasher(key);
        TagSize = tagSize;
        _prefix = new byte[salt.Length + 8];
        salt.CopyTo(_prefix);
        _sectorOffset = salt.Length;
        _digest = new byte[Math.Max(_hasher.DigestSize, tagSize)];
    }

    public static TagComputer ForVolume(Superblock sb, TagAlgorithm algorithm, byte[]? key) =>
        new(algorithm, key, sb.IntegrityTagSize, sb.HasFlag(SuperblockFlags.FixedHmac) ? sb.Salt : ReadOnlySpan<byte>.Empty);

    public int TagSize { get; }

    public void Compute(ulong logicalSector, ReadOnlySpan<byte> block, Span<byte> tag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_prefix.AsSpan(_sectorOffset), logicalSector);
        _hasher.Hash(_prefix, block, _digest);
        _digest.AsSpan(0, TagSize).CopyTo(tag);
    }

    /// <summary>Tag of an all-zero block (tag initialisation); O(1) for CRCs.</summary>
    public void ComputeZero(ulong logicalSector, int blockSize, Span<byte> tag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_prefix.AsSpan(_sectorOffset), logicalSector);
        if (!_hasher.TryHashZeros(_prefix, blockSize, _digest))
        {
            if (_zeroBlock.Length != blockSize) _zeroBlock = new byte[blockSize];
            _hasher.Hash(_prefix, _zeroBlock, _digest);
        }
        _digest.AsSpan(0, TagSize).CopyTo(tag);
    }

    private byte[] _zeroBlock = Array.Empty<byte>();

    /// <summary>Compute and compare in one step (the verification hot path).</summary>
    public bool Matches(ulong logicalSector, ReadOnlySpan<byte> block, ReadOnlySpan<byte> storedTag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_prefix.AsSpan(_sectorOffset), logicalSector);
        _hasher.Hash(_prefix, block, _digest);
        return _digest.AsSpan(0, TagSize).SequenceEqual(storedTag);
    }

    public void Dispose() => _hasher.Dispose();
}
