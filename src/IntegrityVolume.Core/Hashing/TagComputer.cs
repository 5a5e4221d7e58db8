using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using IntegrityVolume.Core.Format;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// integrity_sector_checksum: tag = first tag_size bytes of H([salt if FIXED_HMAC] ‖ LE64(logical sector) ‖ block),
/// zero-padded when the digest is shorter than the tag. One per worker thread.
/// </summary>
public sealed class TagComputer : IDisposable
{
    private readonly TagHasher _hasher;
    private readonly int _sectorOffset;
    // The prefix (salt ‖ sector) and the digest are written for every tag: one array with a cache line of padding on
    // each side, so that no other worker's data shares their lines (two workers' small arrays side by side on one
    // line is false sharing: docs/benchmark.md).
    private readonly byte[] _scratch;
    private readonly int _digestLength;

    public TagComputer(TagAlgorithm algorithm, IntegrityKey? key, int tagSize, ReadOnlySpan<byte> salt)
    {
        _hasher = algorithm.CreateHasher(key);
        TagSize = tagSize;
        _sectorOffset = salt.Length;
        _digestLength = Math.Max(_hasher.DigestSize, tagSize);
        _scratch = new byte[TagHasher.CacheLineBytes + salt.Length + 8 + _digestLength + TagHasher.CacheLineBytes];
        salt.CopyTo(Prefix);
    }

    private Span<byte> Prefix => _scratch.AsSpan(TagHasher.CacheLineBytes, _sectorOffset + 8);
    private Span<byte> Digest => _scratch.AsSpan(TagHasher.CacheLineBytes + _sectorOffset + 8, _digestLength);

    public static TagComputer ForVolume(Superblock sb, TagAlgorithm algorithm, IntegrityKey? key) =>
        new(algorithm, key, sb.IntegrityTagSize, sb.HasFlag(SuperblockFlags.FixedHmac) ? sb.Salt : ReadOnlySpan<byte>.Empty);

    public int TagSize { get; }

    public void Compute(ulong logicalSector, ReadOnlySpan<byte> block, Span<byte> tag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Prefix[_sectorOffset..], logicalSector);
        _hasher.Hash(Prefix, block, Digest);
        Digest[..TagSize].CopyTo(tag);
    }

    /// <summary>Tag of an all-zero block (tag initialisation); O(1) for CRCs.</summary>
    public void ComputeZero(ulong logicalSector, int blockSize, Span<byte> tag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Prefix[_sectorOffset..], logicalSector);
        if (!_hasher.TryHashZeros(Prefix, blockSize, Digest))
        {
            if (_zeroBlock.Length != blockSize) _zeroBlock = new byte[blockSize];
            _hasher.Hash(Prefix, _zeroBlock, Digest);
        }
        Digest[..TagSize].CopyTo(tag);
    }

    private byte[] _zeroBlock = Array.Empty<byte>();

    /// <summary>Tags of <paramref name="count"/> consecutive all-zero blocks (tag initialisation), into tags[k·TagSize ..].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ComputeZeroConsecutive(ulong firstSector, int sectorsPerBlock, int blockSize, int count, Span<byte> tags)
    {
        if (_hasher.DigestSize == TagSize &&
            _hasher.TryHashZerosConsecutive(Prefix[.._sectorOffset], firstSector, (ulong)sectorsPerBlock, count, blockSize, tags[..(count * TagSize)]))
            return;
        for (int k = 0; k < count; k++)
            ComputeZero(firstSector + (ulong)k * (ulong)sectorsPerBlock, blockSize, tags.Slice(k * TagSize, TagSize));
    }

    /// <summary>Compute and compare one block (journal entries; bulk verification uses ComputeConsecutive).</summary>
    public bool Matches(ulong logicalSector, ReadOnlySpan<byte> block, ReadOnlySpan<byte> storedTag)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Prefix[_sectorOffset..], logicalSector);
        _hasher.Hash(Prefix, block, Digest);
        return Digest[..TagSize].SequenceEqual(storedTag);
    }

    /// <summary>
    /// Tags of consecutive blocks (block k at logical sector firstSector + k·sectorsPerBlock) into
    /// tags[k·TagSize ..]: the verification and write hot path, batched where the hash gains from it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ComputeConsecutive(ulong firstSector, int sectorsPerBlock, ReadOnlySpan<byte> blocks, int blockSize, Span<byte> tags)
    {
        int count = blocks.Length / blockSize;
        if (_hasher.DigestSize == TagSize &&
            _hasher.TryHashConsecutive(Prefix[.._sectorOffset], firstSector, (ulong)sectorsPerBlock, blocks, blockSize, tags[..(count * TagSize)]))
            return;
        for (int k = 0; k < count; k++)
            Compute(firstSector + (ulong)k * (ulong)sectorsPerBlock, blocks.Slice(k * blockSize, blockSize), tags.Slice(k * TagSize, TagSize));
    }

    /// <summary>Test hook: the hasher, to inspect its key-derived state.</summary>
    internal TagHasher HasherForTests => _hasher;

    public void Dispose() => _hasher.Dispose();
}
