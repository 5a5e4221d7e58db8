using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Issue 12 defect 7: a write killed after ANY device write (or inside one, torn) leaves every block of its range old
/// or new with a valid tag once the journal is replayed by the kernel's rules (our JournalInspector emulation), never a
/// journal the kernel fails on. Kill-free: the write's device writes are recorded (BlockDevice.TestWriteObserver) and
/// every prefix, and every write torn at a page or sector boundary, is rebuilt in memory and replayed.
/// </summary>
public class JournaledWriteTests
{
    private static VolumeLocation At(string path) => new() { Path = path };

    private sealed class MemoryReader(byte[] image) : IBlockReader
    {
        public string Path => "memory";
        public long Length => image.Length;
        public void Read(long offset, Span<byte> buffer) => image.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    private static List<(long Offset, byte[] Data)> Record(string path, Action run)
    {
        var writes = new List<(long, byte[])>();
        BlockDevice.TestWriteObserver.Value = (p, offset, buffer) => { if (p == path) writes.Add((offset, buffer.ToArray())); };
        try { run(); }
        finally { BlockDevice.TestWriteObserver.Value = null; }
        return writes;
    }

    private static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Cuts of one write that a kill can leave: the page-aligned half (FaultInjection's torn), one sector, all but one.</summary>
    private static IEnumerable<int> Cuts(int length)
    {
        var cuts = new SortedSet<int> { length / 2 / 4096 * 4096, 512, length - 512 };
        foreach (int c in cuts) if (c > 0 && c < length) yield return c;
    }

    /// <summary>
    /// The logical content of [start, end) after the kernel's replay of this image: each block must be the old or the
    /// new one and carry a valid tag; the journal must be one the kernel accepts (no commit id failure, no tag mismatch).
    /// Returns how many blocks are new.
    /// </summary>
    private static int CheckState(byte[] image, Superblock sb, Geometry g, TagComputer tags, TagHasher? mac,
        ulong start, byte[] oldContent, byte[] newContent, string what)
    {
        var reader = new MemoryReader(image);
        Assert.True(JournalInspector.Ring(reader, g) is not null, $"{what}: the kernel would fail the device (journal commit id)");
        var report = JournalInspector.Inspect(reader, sb, g, tags, reader, default, mac);
        Assert.NotEqual(JournalState.Unreadable, report.State);
        Assert.False(report.FailedEntries.Any(), $"{what}: tag mismatch when replaying journal");
        Assert.Empty(report.MacFailedSections);
        int blocks = oldContent.Length / g.BlockSize, fresh = 0;
        foreach (ulong s in report.ReplayImage.Keys)
            Assert.True(s >= start && s < start + ((ulong)blocks << g.Log2SectorsPerBlock), $"{what}: the journal replays sector {s}, outside the write");
        var block = new byte[g.BlockSize];
        var tag = new byte[g.TagSize];
        for (int b = 0; b < blocks; b++)
        {
            ulong sector = start + ((ulong)b << g.Log2SectorsPerBlock);
            if (report.ReplayImage.TryGetValue(sector, out var replayed)) { replayed.Data.CopyTo(block, 0); replayed.Tag.CopyTo(tag, 0); }
            else
            {
                image.AsSpan((int)(g.DataSector(sector) * 512), g.BlockSize).CopyTo(block);
                image.AsSpan((int)g.TagOffset(sector), g.TagSize).CopyTo(tag);
            }
            Assert.True(tags.Matches(sector, block, tag), $"{what}: block at sector {sector} fails its tag (torn)");
            bool isNew = block.AsSpan().SequenceEqual(newContent.AsSpan(b * g.BlockSize, g.BlockSize));
            Assert.True(isNew || block.AsSpan().SequenceEqual(oldContent.AsSpan(b * g.BlockSize, g.BlockSize)),
                $"{what}: block at sector {sector} is neither old nor new");
            if (isNew) fresh++;
        }
        return fresh;
    }

    public static TheoryData<string, int, int, int, bool> Cases() => new()
    {
        // algorithm, block size, journal sections, input bytes (a partial last block), journal_mac
        { "crc32c", 512, 3, 3 * 168 * 512 * 2 + 700 * 512 + 300, false },   // two whole laps and part of a third
        { "sha256", 4096, 2, 100 * 4096 + 100, false },
        { "crc32c", 512, 2, 400 * 512, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryPrefixOfTheWritesReplaysToOldOrNewBlocksWithValidTags(string algorithm, int blockSize, int sections, int inputBytes, bool journalMac)
    {
        var alg = TagAlgorithm.Parse(algorithm);
        var macAlg = journalMac ? TagAlgorithm.Parse("hmac-sha256") : null;
        using var macKey = journalMac ? new IntegrityKey(Bytes(32, 9)) : null;
        using var img = new TempFile(".img");
        var shape = Geometry.ComputeJournalShape(alg.DigestSize, blockSize == 4096 ? 3 : 0, journalMac);
        VolumeOperations.Format(new FormatRequest
        {
            Volume = At(img.Path), CreateSizeBytes = 16 << 20, SectorSize = blockSize, Integrity = new IntegrityAlgorithmSpec { Algorithm = alg },
            JournalSizeBytes = (long)sections * shape.SectionSectors * 512, InterleaveSectors = 2048,
            JournalIntegrity = macAlg, JournalIntegrityKey = macKey is null ? null : new IntegrityKey(macKey.Span),
        });
        ulong start = (ulong)(blockSize / 512) * 37;
        int wholeBytes = (inputBytes + blockSize - 1) / blockSize * blockSize;
        using var first = new TempFile(".bin");
        using var second = new TempFile(".bin");
        File.WriteAllBytes(first.Path, Bytes(wholeBytes, 1));
        File.WriteAllBytes(second.Path, Bytes(inputBytes, 2));
        WriteRequest Request(string input) => new()
        {
            Volume = At(img.Path), InputPath = input, OffsetSectors = start, Integrity = new IntegrityAlgorithmSpec { Algorithm = alg },
            JournalIntegrity = macAlg, JournalIntegrityKey = macKey is null ? null : new IntegrityKey(macKey.Span),
        };
        // The first write leaves the ring part-way round (the kernel's clean-suspend state); the second is the one killed.
        var w1 = VolumeOperations.Write(Request(first.Path));
        Assert.DoesNotContain(w1.Warnings, w => w.Contains("in place"));
        var baseImage = File.ReadAllBytes(img.Path);
        var writes = Record(img.Path, () => VolumeOperations.Write(Request(second.Path)));
        var finalImage = File.ReadAllBytes(img.Path);

        var sb = Superblock.Parse(baseImage.AsSpan(0, Superblock.AreaSize));
        var g = Geometry.FromSuperblock(sb, (ulong)baseImage.Length / 512);
        Assert.Equal((uint)sections, g.JournalSections);
        using var tags = TagComputer.ForVolume(sb, alg, null);
        using var mac = macAlg?.CreateHasher(macKey);
        var oldContent = new byte[wholeBytes];
        var newContent = new byte[wholeBytes];
        using (var r = new LogicalReader(At(img.Path)))
        {
            using var ms = new MemoryStream();
            r.CopyTo(ms);
            ms.GetBuffer().AsSpan((int)start * 512, wholeBytes).CopyTo(newContent);
        }
        File.ReadAllBytes(first.Path).CopyTo(oldContent, 0);
        File.ReadAllBytes(second.Path).CopyTo(newContent, 0);
        // the partial last block keeps the old tail (the first write's bytes): already in newContent from the reader

        int blocks = wholeBytes / blockSize;
        var image = (byte[])baseImage.Clone();
        int states = 0, sawNew = 0;
        for (int k = 0; k <= writes.Count; k++)
        {
            string what = $"killed before write {k + 1} of {writes.Count}";
            int fresh = CheckState(image, sb, g, tags, mac, start, oldContent, newContent, what);
            states++;
            if (fresh == blocks) sawNew++;
            if (k == writes.Count) break;
            var (offset, data) = writes[k];
            foreach (int cut in Cuts(data.Length))
            {
                var saved = image.AsSpan((int)offset, cut).ToArray();
                data.AsSpan(0, cut).CopyTo(image.AsSpan((int)offset));
                CheckState(image, sb, g, tags, mac, start, oldContent, newContent, $"write {k + 1} of {writes.Count} torn after {cut} bytes");
                saved.CopyTo(image.AsSpan((int)offset));
                states++;
            }
            data.CopyTo(image.AsSpan((int)offset));
        }
        Assert.True(image.AsSpan().SequenceEqual(finalImage), "the recorded writes do not rebuild the final image");
        Assert.Equal(JournalState.Clean, JournalInspector.Inspect(new MemoryReader(image), sb, g).State);
        Assert.True(sawNew > 0);
        Assert.True(states > 3 * (blocks / g.JournalSectionEntries), $"only {states} states checked");
    }

    [Fact]
    public void ANextWriteAppliesTheKilledWritesJournalAsTheKernelWouldAndFinishesIt()
    {
        using var img = new TempFile(".img");
        var shape = Geometry.ComputeJournalShape(4, 0, false);
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20, JournalSizeBytes = 3L * shape.SectionSectors * 512 });
        using var input = new TempFile(".bin");
        var content = Bytes(5 * 168 * 512, 5);
        File.WriteAllBytes(input.Path, content);
        var baseImage = File.ReadAllBytes(img.Path);
        var writes = Record(img.Path, () => VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = input.Path, OffsetSectors = 64 }));
        // Rebuild the image of a kill right after the second batch's journal commit (its blocks only in the journal).
        var sb = Superblock.Parse(baseImage.AsSpan(0, Superblock.AreaSize));
        var g = Geometry.FromSuperblock(sb, (ulong)baseImage.Length / 512);
        long journalStart = (long)g.JournalStartSector * 512, journalEnd = journalStart + (long)g.JournalSectors * 512;
        int commits = 0, k = 0;
        for (; k < writes.Count && commits < 2; k++)
            if (writes[k].Offset >= journalStart && writes[k].Offset < journalEnd) commits++;
        var image = (byte[])baseImage.Clone();
        for (int i = 0; i < k; i++) writes[i].Data.CopyTo(image.AsSpan((int)writes[i].Offset));
        File.WriteAllBytes(img.Path, image);

        var pending = VolumeOperations.Inspect(At(img.Path));
        Assert.Equal(JournalState.Pending, pending.JournalState);
        Assert.True(pending.InterruptedWrite is { Journaled: true });
        var v = VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path) });
        Assert.True(v.Healthy, string.Join("; ", v.Warnings));       // old or new blocks, every tag valid after replay
        Assert.NotNull(v.InterruptedWrite);                            // and still says the write did not finish
        Assert.Contains(v.Warnings, w => w.Contains("run") && w.Contains("same write"));
        // Another range is still refused (the record names the unfinished one); the same write applies the journal and finishes.
        using var other = new TempFile(".bin");
        File.WriteAllBytes(other.Path, Bytes(4096, 6));
        Assert.Equal(ErrorIds.WriteInterrupted, Assert.Throws<IntegrityVolumeException>(() =>
            VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = other.Path, OffsetSectors = 4000 })).ErrorId);
        Assert.Equal(JournalState.Pending, VolumeOperations.Inspect(At(img.Path)).JournalState);
        var w = VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = input.Path, OffsetSectors = 64 });
        Assert.Contains(w.Warnings, x => x.Contains("Applied") && x.Contains("journal entries"));
        var info = VolumeOperations.Inspect(At(img.Path));
        Assert.Equal(JournalState.Clean, info.JournalState);
        Assert.Null(info.InterruptedWrite);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path) }).Healthy);
        using var reader = new LogicalReader(At(img.Path));
        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        Assert.True(ms.GetBuffer().AsSpan(64 * 512, content.Length).SequenceEqual(content));
    }

    [Fact]
    public void APendingJournalWithTheWrongAlgorithmIsRefusedAndNothingIsWritten()
    {
        using var img = new TempFile(".img");
        var shape = Geometry.ComputeJournalShape(4, 0, false);
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20, JournalSizeBytes = 2L * shape.SectionSectors * 512 });
        using var input = new TempFile(".bin");
        File.WriteAllBytes(input.Path, Bytes(300 * 512, 7));
        var baseImage = File.ReadAllBytes(img.Path);
        var writes = Record(img.Path, () => VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = input.Path }));
        var image = (byte[])baseImage.Clone();
        for (int i = 0; i < 2; i++) writes[i].Data.CopyTo(image.AsSpan((int)writes[i].Offset));   // record + first commit
        File.WriteAllBytes(img.Path, image);
        Assert.Equal(JournalState.Pending, VolumeOperations.Inspect(At(img.Path)).JournalState);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = At(img.Path), InputPath = input.Path, Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("xxhash64") } }));
        Assert.Equal(ErrorIds.JournalPending, ex.ErrorId);
        Assert.Contains("fail their tag check", ex.Message);
        Assert.True(image.AsSpan().SequenceEqual(File.ReadAllBytes(img.Path)), "a refused write changed the image");
    }
}
