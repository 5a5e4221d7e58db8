using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Operations;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Repair's memory grows with the number of outcome changes, not with the volume ("never an allocation beyond the
/// device's size"; issue 15's whole-leg case): runs of blocks, given ranges merged without listing their blocks.
/// </summary>
public class RepairPlanTests
{
    [Fact]
    public void ConsecutiveBlocksWithTheSameOutcomeAreOneRun()
    {
        var plan = new RepairPlan(8);
        for (ulong b = 0; b < 1_000_000; b++) plan.Add(b * 8, RepairOutcome.Zeroed, "lost");
        plan.Add(8_000_008, RepairOutcome.Zeroed, "lost");          // a gap of one block: a new run
        plan.Add(8_000_016, RepairOutcome.Healed, "from the copy");  // another outcome: a new run
        plan.Add(8_000_024, RepairOutcome.AlreadyValid, "valid");
        Assert.Equal(new[] { (0UL, 1_000_000UL), (8_000_008UL, 1UL), (8_000_016UL, 1UL), (8_000_024UL, 1UL) },
            plan.Runs.Select(r => (r.Start, r.Blocks)));
        Assert.Equal(1_000_002UL, plan.BlocksToWrite);
        Assert.Equal(1_000_002UL, plan.Mismatched);
        Assert.Equal(new[] { new SectorRange(0, 8_000_000), new SectorRange(8_000_008, 8) }, plan.Sectors(o => o is RepairOutcome.Zeroed));
        Assert.Equal((0UL, 8_000_024UL), plan.WrittenSpan);
        Assert.Throws<InvalidOperationException>(() => plan.Add(8, RepairOutcome.Zeroed, "lost"));
    }

    [Fact]
    public void WriteBatchesAreConsecutiveAndBounded()
    {
        var plan = new RepairPlan(1);
        foreach (ulong s in new ulong[] { 0, 1, 2, 3, 4, 6, 7 }) plan.Add(s, s == 2 ? RepairOutcome.Retagged : RepairOutcome.Zeroed, "x");
        plan.Add(8, RepairOutcome.NoGoodCopy, "no copy");
        plan.Add(9, RepairOutcome.Zeroed, "x");
        var batches = plan.WriteBatches(3).Select(b => b.Select(w => w.Sector).ToArray()).ToList();
        Assert.Equal(new[] { new ulong[] { 0, 1, 2 }, [3, 4], [6, 7], [9] }, batches);
    }

    [Fact]
    public void GivenRangesAreWidenedToBlocksSortedAndMergedWithoutListingThem()
    {
        Exception Past(SectorRange r) => new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument, $"{r}", "v");
        var merged = RepairPlan.GivenBlocks([new SectorRange(28, 3), new SectorRange(1, 1), new SectorRange(5, 10), new SectorRange(16, 0), new SectorRange(15, 1)], 64, 8, Past);
        Assert.Equal(new[] { new SectorRange(0, 16), new SectorRange(24, 8) }, merged);
        // 2^60 sectors of 4 KiB blocks: one range, counted, never enumerated.
        ulong limit = 1UL << 60;
        var whole = RepairPlan.GivenBlocks([new SectorRange(0, limit), new SectorRange(12345, 1)], limit, 8, Past);
        Assert.Equal(new[] { new SectorRange(0, limit) }, whole);
        Assert.Equal(limit / 8, RepairPlan.BlockCount(whole, 8));
        // Near 2^64: the end is rounded up to a block without overflowing, and past the limit is refused.
        ulong top = ulong.MaxValue & ~7UL;
        Assert.Equal(new[] { new SectorRange(top - 8, 8) }, RepairPlan.GivenBlocks([new SectorRange(top - 7, 2)], top, 8, Past));
        Assert.Throws<IntegrityVolumeException>(() => RepairPlan.GivenBlocks([new SectorRange(top - 1, 2)], top, 8, Past));
    }

    /// <summary>A kernel-made volume whose data was overwritten from its fourth block to its end, healed from the kernel's
    /// clean image: one run in the result, and the volume reads the kernel's content again. (With every block overwritten
    /// nothing proves the algorithm, and repair refuses: see AlgorithmProof.)</summary>
    [Fact]
    public void AWhollyOverwrittenVolumeHealsFromItsCopyAsOneRun()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("clean.img.gz");
        string clean = c.Image("clean.img.gz");
        var volume = new VolumeLocation { Path = target.Path };
        var spec = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(c.Algorithm!), Key = TestKey.Of(c.Key) };
        // Every block's data from block 3 on overwritten (at the layout's data sectors; tags and journal untouched).
        var sb = Superblock.Parse(File.ReadAllBytes(target.Path).AsSpan(0, 4096));
        var g = Geometry.FromSuperblock(sb, (ulong)new FileInfo(target.Path).Length / 512);
        var junk = new byte[g.BlockSize];
        new Random(15).NextBytes(junk);
        using (var fs = new FileStream(target.Path, FileMode.Open, FileAccess.Write))
            for (ulong s = 3UL * (ulong)g.SectorsPerBlock; s < g.ProvidedDataSectors; s += (ulong)g.SectorsPerBlock)
            {
                fs.Position = checked((long)g.DataSector(s) * 512);
                fs.Write(junk);
            }
        var before = VolumeOperations.Verify(new VerifyRequest { Volume = volume, Integrity = spec });
        Assert.Equal(g.Blocks - 3, before.MismatchedBlocks);

        var r = VolumeOperations.Repair(new RepairRequest { Volume = volume, Integrity = spec, Source = new RepairSource { Path = clean } });
        Assert.Equal(g.Blocks - 3, r.HealedBlocks);
        var run = Assert.Single(r.Ranges);
        ulong first = 3UL * (ulong)g.SectorsPerBlock;
        Assert.Equal((first, g.ProvidedDataSectors - first, RepairOutcome.Healed), (run.StartSector, run.Sectors, run.Outcome));
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = volume, Integrity = spec }).Healthy);
        using var ours = new LogicalReader(volume);
        using var theirs = new LogicalReader(new VolumeLocation { Path = clean });
        using var a = new MemoryStream(); using var b = new MemoryStream();
        ours.CopyTo(a); theirs.CopyTo(b);
        Assert.True(a.ToArray().AsSpan().SequenceEqual(b.ToArray()), "the healed volume does not read the clean image's content");
    }
}
