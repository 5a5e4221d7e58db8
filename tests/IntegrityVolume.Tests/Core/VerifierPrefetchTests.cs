using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Verification;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Where hashing is slower than reading, the verifier asks the kernel for each worker's next work item (WILLNEED)
/// while it hashes the current one, so that cold reads overlap the hashing; crc32c, as fast as a cached read, does not.
/// </summary>
public class VerifierPrefetchTests
{
    private sealed class RecordingReader(IBlockReader inner) : IBlockReader
    {
        public readonly List<(long Offset, long Length)> Hints = new();
        public readonly List<(long Offset, long Length)> Reads = new();
        public string Path => inner.Path;
        public long Length => inner.Length;
        public void Read(long offset, Span<byte> buffer) { lock (Reads) Reads.Add((offset, buffer.Length)); inner.Read(offset, buffer); }
        public void WillNeed(long offset, long length) { lock (Hints) Hints.Add((offset, length)); }
    }

    [Theory]
    [InlineData("sha256", 4096, true)]
    [InlineData("sha256", 512, true)]
    [InlineData("crc32c", 4096, false)]
    public void HashBoundVerifyHintsEachNextItemAndOnlyDataItReads(string algorithm, int blockSize, bool expectHints)
    {
        using var image = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest
        {
            Volume = new VolumeLocation { Path = image.Path }, CreateSizeBytes = 40 << 20, SectorSize = blockSize,
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm) },
        });
        using var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = image.Path }, write: false);
        var alg = TagAlgorithm.Parse(algorithm);
        var journal = JournalInspector.Inspect(v.Meta, v.Superblock, v.Geometry);
        var data = new RecordingReader(v.Data);
        var r = new TagVerifier(v.Meta, data, v.Superblock, v.Geometry, alg, null, journal, null).Run(1, 10, null, default);

        Assert.Equal(v.Geometry.ProvidedDataSectors / (ulong)(blockSize / 512), r.Valid);
        if (!expectHints) { Assert.Empty(data.Hints); return; }
        // One worker: every item but the first is hinted once, before it is read, and the hints cover exactly the
        // bytes the verifier then reads from the data area.
        Assert.True(data.Hints.Count >= 8, $"{data.Hints.Count} hints");
        Assert.Equal(data.Hints.Count, data.Hints.Distinct().Count());
        long hinted = data.Hints.Sum(h => h.Length), read = data.Reads.Sum(x => (long)x.Length);
        long first = data.Reads.TakeWhile(x => x.Offset < data.Hints.Min(h => h.Offset)).Sum(x => (long)x.Length);
        Assert.Equal(read - first, hinted);
        foreach (var (offset, length) in data.Hints)
            Assert.Equal(length, data.Reads.Where(x => x.Offset >= offset && x.Offset < offset + length).Sum(x => (long)x.Length));
    }
}
