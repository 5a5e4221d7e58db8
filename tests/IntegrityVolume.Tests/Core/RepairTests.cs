using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Issue 15 (repair): kernel-made corrupt images (data and tag bytes edited, the kernel's own "Checksum failed" list in
/// case.json) repaired from the kernel-made clean image, a plain image at an offset, or zeroed; the result judged by the
/// verifier and by the kernel's sha256 of the logical device.
/// </summary>
public class RepairTests
{
    private static VolumeLocation At(string path) => new() { Path = path };

    private static IntegrityAlgorithmSpec Spec(FixtureCase c) => new() { Algorithm = TagAlgorithm.Parse(c.Algorithm!), Key = TestKey.Of(c.Key) };

    private static string LogicalSha(string path)
    {
        using var reader = new LogicalReader(At(path));
        using var sha = new HashingStream();
        reader.CopyTo(sha);
        return sha.Hex();
    }

    private static byte[] Logical(string path)
    {
        using var reader = new LogicalReader(At(path));
        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        return ms.ToArray();
    }

    private static VerifyResult Verify(FixtureCase c, string path) =>
        VolumeOperations.Verify(new VerifyRequest { Volume = At(path), Integrity = Spec(c) });

    /// <summary>First sector of every block the kernel failed, as whole blocks (the kernel names a block by its first sector).</summary>
    private static ulong[] KernelFailedBlocks(FixtureCase c) => c.KernelFailedSectors;

    private static ulong[] Blocks(IEnumerable<SectorRange> ranges, ulong spb) =>
        ranges.SelectMany(r => Enumerable.Range(0, (int)(r.Sectors / spb)).Select(i => r.Start + (ulong)i * spb)).ToArray();

    private static (string Region, ulong Sector)[] Edits(FixtureCase c) =>
        c.Json["corruption"]!["edits"]!.AsArray().Select(e => ((string)e!["region"]!, (ulong)e["logical_sector"]!)).ToArray();

    [Theory]
    [InlineData("p01")]
    [InlineData("p02")]
    [InlineData("p03")]
    [InlineData("p04")]
    [InlineData("p08")]
    public void KernelCorruptImageHealsFromTheCleanLegToTheKernelsContent(string id)
    {
        var c = new FixtureCase(id);
        using var target = c.CopyOf("corrupt.img.gz");
        string clean = c.Image("clean.img.gz");
        ulong spb = (ulong)(int)c.Json["block_size"]! / 512;
        var before = Verify(c, target.Path);
        Assert.Equal(KernelFailedBlocks(c), Blocks(before.MismatchedSectors, spb));

        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = clean } });

        Assert.True(r.SourceHasTags);
        Assert.Equal((ulong)c.KernelFailedSectors.Length, r.MismatchedBlocks);
        Assert.Equal(r.MismatchedBlocks, r.HealedBlocks);
        Assert.Equal(r.HealedBlocks, r.BlocksToWrite);
        Assert.True(r.Complete);
        Assert.Empty(r.LostSectors);
        Assert.All(r.Ranges, x => Assert.Equal(RepairOutcome.Healed, x.Outcome));
        Assert.Equal(KernelFailedBlocks(c), r.Ranges.SelectMany(x => Enumerable.Range(0, (int)x.Blocks).Select(i => x.StartSector + (ulong)i * spb)).ToArray());
        Assert.True(Verify(c, target.Path).Healthy);
        Assert.Equal((string)c.Json["logical_sha256"]!, LogicalSha(target.Path));
        Assert.Null(VolumeOperations.Inspect(At(target.Path)).InterruptedWrite);
    }

    [Fact]
    public void GivenRangesRepairExactlyThoseAndSkipTheVerifyPass()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        var found = Verify(c, target.Path);
        // Only the first two failing ranges plus a healthy block (sector 5) are given.
        var given = found.MismatchedSectors.Take(2).Append(new SectorRange(5, 1)).ToArray();
        var r = VolumeOperations.Repair(new RepairRequest
        {
            Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = c.Image("clean.img.gz") }, Sectors = given,
        });
        Assert.Equal(3UL, r.BlocksExamined);
        Assert.Equal(2UL, r.HealedBlocks);
        Assert.Equal(TimeSpan.Zero, r.VerifyDuration);
        Assert.Contains(r.Ranges, x => x.StartSector == 5 && x.Outcome == RepairOutcome.AlreadyValid);
        var after = Verify(c, target.Path);
        Assert.Equal(found.MismatchedSectors.Skip(2), after.MismatchedSectors);
    }

    [Fact]
    public void ZeroTheLostListsExactlyTheKernelsFailedBlocksAndReadsZerosThere()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        var corruptLogical = Logical(target.Path);
        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), ZeroLost = true });
        Assert.Equal("zero-lost", r.Mode);
        Assert.Equal(KernelFailedBlocks(c), Blocks(r.LostSectors, 1));
        Assert.Equal((ulong)c.KernelFailedSectors.Length, r.ZeroedBlocks);
        Assert.True(r.Complete);
        Assert.True(Verify(c, target.Path).Healthy);
        var after = Logical(target.Path);
        var lost = new HashSet<ulong>(c.KernelFailedSectors);
        for (ulong s = 0; s < (ulong)after.Length / 512; s++)
        {
            var sector = after.AsSpan((int)s * 512, 512);
            if (lost.Contains(s)) Assert.True(sector.IndexOfAnyExcept((byte)0) < 0, $"lost sector {s} does not read zeros");
            else Assert.True(sector.SequenceEqual(corruptLogical.AsSpan((int)s * 512, 512)), $"sector {s} changed");
        }
    }

    [Fact]
    public void ACopyThatIsBadToReportsNoGoodCopyAndWritesNothing()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        using var leg = c.CopyOf("corrupt.img.gz");
        var before = File.ReadAllBytes(target.Path);
        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = leg.Path } });
        Assert.False(r.Complete);
        Assert.Equal((ulong)c.KernelFailedSectors.Length, r.UnrepairedBlocks);
        Assert.All(r.Ranges, x => Assert.Equal(RepairOutcome.NoGoodCopy, x.Outcome));
        Assert.Equal(KernelFailedBlocks(c), Blocks(r.UnrepairedSectors, 1));
        Assert.Equal(0UL, r.BlocksToWrite);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(target.Path)), "the image changed");
    }

    [Fact]
    public void BadCopyWithZeroLostZeroesOnlyWhatTheCopyCannotHeal()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        using var leg = c.CopyOf("clean.img.gz");
        // The leg heals every block but the first failing one, which it has corrupt too (copied from the corrupt image).
        ulong bad = c.KernelFailedSectors[0];
        CopyBlockRaw(c.Image("corrupt.img.gz"), leg.Path, c, bad);
        var r = VolumeOperations.Repair(new RepairRequest
        {
            Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = leg.Path }, ZeroLost = true,
        });
        Assert.Equal(new[] { bad }, Blocks(r.LostSectors, 1));
        Assert.Equal((ulong)c.KernelFailedSectors.Length - 1, r.HealedBlocks);
        Assert.True(Verify(c, target.Path).Healthy);
    }

    /// <summary>Copy the raw bytes the fixture's corruption edits changed for <paramref name="sector"/> (data or tag) from one image to another.</summary>
    private static void CopyBlockRaw(string from, string to, FixtureCase c, ulong sector)
    {
        var src = File.ReadAllBytes(from);
        using var fs = new FileStream(to, FileMode.Open, FileAccess.Write);
        foreach (var e in c.Json["corruption"]!["edits"]!.AsArray())
        {
            if ((ulong)e!["logical_sector"]! != sector) continue;
            long off = (long)e["raw_offset"]!; int len = (int)e["length"]!;
            fs.Position = off;
            fs.Write(src, (int)off, len);
        }
    }

    [Fact]
    public void PlainImageAtAnOffsetHealsDataEditsAndLeavesTagEditsUnverifiableUntilTrusted()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        using var plain = new TempFile(".img");
        const ulong offset = 2048;   // 1 MiB, md's default data offset
        using (var fs = new FileStream(plain.Path, FileMode.Create))
        {
            fs.SetLength((long)offset * 512);
            fs.Position = (long)offset * 512;
            using var reader = new LogicalReader(At(c.Image("clean.img.gz")));
            reader.CopyTo(fs);
        }
        var source = new RepairSource { Path = plain.Path, OffsetSectors = offset };
        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = source });
        Assert.False(r.SourceHasTags);
        var edits = Edits(c);
        // A block whose tag was edited cannot be verified by the volume's tag; one with only its data edited can.
        var tagEdits = edits.Where(e => e.Region == "tag").Select(e => e.Sector).Distinct().Order().ToArray();
        var dataEdits = edits.Where(e => e.Region == "data").Select(e => e.Sector).Except(tagEdits).Distinct().Order().ToArray();
        Assert.NotEmpty(dataEdits);
        Assert.NotEmpty(tagEdits);
        Assert.Equal(dataEdits, Blocks(r.Ranges.Where(x => x.Outcome == RepairOutcome.Healed).Select(x => new SectorRange(x.StartSector, x.Sectors)), 1));
        Assert.Equal(tagEdits, Blocks(r.UnrepairedSectors, 1));
        Assert.All(r.Ranges.Where(x => x.Outcome != RepairOutcome.Healed), x => Assert.Equal(RepairOutcome.CopyUnverifiable, x.Outcome));

        var trusted = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = source, TrustCopy = true });
        Assert.Equal((ulong)tagEdits.Length, trusted.HealedUnverifiedBlocks);
        Assert.True(Verify(c, target.Path).Healthy);
        Assert.Equal((string)c.Json["logical_sha256"]!, LogicalSha(target.Path));
    }

    [Fact]
    public void RetagAcceptsTheCurrentDataOfTheGivenRanges()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        var corruptLogical = Logical(target.Path);
        var found = Verify(c, target.Path);
        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Retag = true, Sectors = found.MismatchedSectors });
        Assert.Equal((ulong)c.KernelFailedSectors.Length, r.RetaggedBlocks);
        Assert.True(Verify(c, target.Path).Healthy);
        Assert.True(corruptLogical.AsSpan().SequenceEqual(Logical(target.Path)), "re-tag changed data");
    }

    [Fact]
    public void DryRunAndDeclinedConfirmationWriteNothingButListThePlan()
    {
        var c = new FixtureCase("p02");
        using var target = c.CopyOf("corrupt.img.gz");
        var before = File.ReadAllBytes(target.Path);
        var request = new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = c.Image("clean.img.gz") }, DryRun = true };
        var plan = VolumeOperations.Repair(request);
        Assert.True(plan.WhatIf);
        Assert.Equal((ulong)c.KernelFailedSectors.Length, plan.BlocksToWrite);
        RepairResult? asked = null;
        var declined = VolumeOperations.Repair(request with { DryRun = false, Confirm = p => { asked = p; return false; } });
        Assert.True(declined.WhatIf);
        Assert.Equal(plan.BlocksToWrite, asked!.BlocksToWrite);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(target.Path)), "the image changed");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]    // Force never overrides the proof: zero-lost would zero every block
    [InlineData(true, true)]     // nor re-tag, which would store tags the kernel rejects over every block
    public void WrongAlgorithmIsRefusedByTheProofAndNothingIsWritten(bool force, bool retag)
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        var before = File.ReadAllBytes(target.Path);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Repair(new RepairRequest
        {
            Volume = At(target.Path), Integrity = new() { Algorithm = TagAlgorithm.Parse("sha256") }, ZeroLost = !retag, Retag = retag,
            Sectors = retag ? new[] { new SectorRange(0, 64) } : null, Force = force,
        }));
        Assert.Equal(ErrorIds.AlgorithmMismatch, ex.ErrorId);
        Assert.DoesNotContain("--force", ex.Message);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(target.Path)), "the image changed");
    }

    [Fact]
    public void BadInputGetsStableIds()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        var before = File.ReadAllBytes(target.Path);
        using var small = new TempFile(".img");
        File.WriteAllBytes(small.Path, new byte[32327 * 512]);   // one sector short of provided_data_sectors (32328)
        string Id(RepairRequest r) => Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Repair(r)).ErrorId;
        var baseRequest = new RepairRequest { Volume = At(target.Path), Integrity = Spec(c) };
        Assert.Equal(ErrorIds.RepairSourceTooSmall, Id(baseRequest with { Source = new RepairSource { Path = small.Path } }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, Id(baseRequest with { Source = new RepairSource { Path = small.Path, OffsetSectors = 40000 } }));
        Assert.Equal(ErrorIds.RepairSourceTooSmall, Id(baseRequest with { Source = new RepairSource { Path = c.Image("clean.img.gz"), OffsetSectors = 1 } }));
        Assert.Equal(ErrorIds.RepairSourceMismatch, Id(baseRequest with { Source = new RepairSource { Path = new FixtureCase("p02").Image("clean.img.gz") } }));
        Assert.Equal(ErrorIds.RepairSourceMismatch, Id(baseRequest with { Source = new RepairSource { Path = target.Path } }));
        Assert.Equal(ErrorIds.DeviceNotFound, Id(baseRequest with { Source = new RepairSource { Path = target.Path + ".missing" } }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, Id(baseRequest with { ZeroLost = true, Sectors = [new SectorRange(32327, 2)] }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, Id(baseRequest with { ZeroLost = true, Sectors = [new SectorRange(ulong.MaxValue - 1, 2)] }));
        Assert.Equal(ErrorIds.InvalidParameter, Id(baseRequest with { Retag = true }));
        Assert.Equal(ErrorIds.InvalidParameter, Id(baseRequest));
        Assert.Equal(ErrorIds.InvalidParameter, Id(baseRequest with { Retag = true, ZeroLost = true, Sectors = [] }));
        Assert.Equal(ErrorIds.InvalidParameter, Id(baseRequest with { TrustCopy = true, ZeroLost = true }));
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(target.Path)), "the image changed");
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => SectorRange.Parse("9-3")).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => SectorRange.Parse("x")).ErrorId);
        Assert.Equal(new SectorRange(8, 8), SectorRange.Parse("8-15"));
    }

    [Fact]
    public void CliRepairsFromACopyAndExitsOneWhileBlocksStayUnrepaired()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        using var leg = c.CopyOf("corrupt.img.gz");
        var (code, _, err) = Cli.CliTests.Ivol("repair", target.Path, "--from", leg.Path);
        Assert.Equal(1, code);
        (code, var output, err) = Cli.CliTests.Ivol("repair", target.Path, "--from", c.Image("clean.img.gz"), "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"healedBlocks\": 10", output);
        Assert.True(Verify(c, target.Path).Healthy);
        (code, _, err) = Cli.CliTests.Ivol("repair", target.Path, "--from", target.Path);
        Assert.Equal(2, code);
        Assert.Contains("[RepairSourceMismatch]", err);
        (code, _, err) = Cli.CliTests.Ivol("repair", target.Path, "--retag", "--sectors", "5-x");
        Assert.Equal(2, code);
        Assert.Contains("[InvalidParameter]", err);
    }

    /// <summary>Killed (SIGKILL) at every device write of a repair: each block is old or repaired with a valid tag (the
    /// verifier, which replays the journal as the kernel would, finds no mismatch outside the original set), and a re-run
    /// finishes: healthy, with the kernel's logical content.</summary>
    [Fact]
    public void KilledAtAnyWriteEveryBlockIsOldOrRepairedAndARerunFinishes()
    {
        var c = new FixtureCase("p01");
        using var probe = c.CopyOf("corrupt.img.gz");
        string clean = c.Image("clean.img.gz");
        var (code, _, err) = Cli.CliTests.IvolWithEnvironment(new() { ["IVOL_TEST_COUNT_WRITES"] = "1" }, "repair", probe.Path, "--from", clean);
        Assert.Equal(0, code);
        int writes = int.Parse(System.Text.RegularExpressions.Regex.Match(err, @"ivol-test: (\d+) writes").Groups[1].Value);
        Assert.True(writes > 10, $"only {writes} writes");
        var original = new HashSet<ulong>(c.KernelFailedSectors);
        // Every kill point of the first blocks and the end, and a stride through the middle (the machine is shared).
        var points = Enumerable.Range(1, writes).Where(n => n <= 8 || n > writes - 6 || n % 5 == 0);
        foreach (int n in points)
            foreach (string mode in new[] { "", ":torn" })
            {
                using var target = c.CopyOf("corrupt.img.gz");
                (code, _, _) = Cli.CliTests.IvolWithEnvironment(new() { ["IVOL_TEST_KILL_AT_WRITE"] = n + mode }, "repair", target.Path, "--from", clean);
                Assert.True(code != 0, $"kill at {n}{mode}: the repair was not killed");
                var mid = Verify(c, target.Path);
                Assert.All(Blocks(mid.MismatchedSectors, 1), s => Assert.True(original.Contains(s), $"kill at {n}{mode}: block {s} broke"));
                Assert.Empty(mid.FailedJournalEntries);
                if (mid.InterruptedWrite is { } record)
                {
                    Assert.True(record.Journaled);
                    Assert.Contains("Run the repair again", record.Advice);
                }
                var rerun = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = clean } });
                Assert.True(rerun.Complete, $"kill at {n}{mode}: re-run incomplete");
                Assert.True(Verify(c, target.Path).Healthy, $"kill at {n}{mode}: not healthy after the re-run");
                Assert.Equal((string)c.Json["logical_sha256"]!, LogicalSha(target.Path));
                Assert.Null(VolumeOperations.Inspect(At(target.Path)).InterruptedWrite);
            }
    }

    private sealed class SimulatedKill : Exception;

    /// <summary>
    /// A write killed after its intent record, over a block the kernel fails: a whole-volume repair with no good copy leaves
    /// that block bad, so the write's record is kept (dump and verify still name it); zero-the-lost fixes every block of
    /// it, and then the record goes.
    /// </summary>
    [Fact]
    public void AnInterruptedWritesRecordStaysWhileBlocksOfItStayBad()
    {
        var c = new FixtureCase("p01");
        using var target = c.CopyOf("corrupt.img.gz");
        ulong spb = (ulong)(int)c.Json["block_size"]! / 512;
        ulong bad = KernelFailedBlocks(c)[0];
        using var input = new TempFile(".bin");
        File.WriteAllBytes(input.Path, new byte[spb * 512]);
        string full = Path.GetFullPath(target.Path);
        int writes = 0;
        IntegrityVolume.Core.Devices.BlockDevice.TestWriteObserver.Value = (path, offset, buffer) =>
        {
            if (Path.GetFullPath(path) == full && ++writes == 2) throw new SimulatedKill();   // after the intent record
        };
        try
        {
            Assert.Throws<SimulatedKill>(() => VolumeOperations.Write(new WriteRequest
                { Volume = At(target.Path), Integrity = Spec(c), InputPath = input.Path, OffsetSectors = bad }));
        }
        finally { IntegrityVolume.Core.Devices.BlockDevice.TestWriteObserver.Value = null; }
        var record = VolumeOperations.Inspect(At(target.Path)).InterruptedWrite;
        Assert.NotNull(record);
        Assert.Equal(bad, record.StartSector);

        // The copy is another copy of the corrupt image: its block fails its own tag too (no good copy).
        using var sameDamage = c.CopyOf("corrupt.img.gz");
        var r = VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), Source = new RepairSource { Path = sameDamage.Path } });
        Assert.Contains(r.Ranges, x => x.StartSector <= bad && bad < x.StartSector + x.Blocks * spb && x.Outcome == RepairOutcome.NoGoodCopy);
        var kept = VolumeOperations.Inspect(At(target.Path)).InterruptedWrite;
        Assert.NotNull(kept);
        Assert.Equal((record.StartSector, record.EndSector, record.InputBytes, record.StartedUtc), (kept.StartSector, kept.EndSector, kept.InputBytes, kept.StartedUtc));
        Assert.Contains(r.Warnings, w => w.Contains("its record is kept"));

        VolumeOperations.Repair(new RepairRequest { Volume = At(target.Path), Integrity = Spec(c), ZeroLost = true });
        Assert.Null(VolumeOperations.Inspect(At(target.Path)).InterruptedWrite);
        Assert.True(Verify(c, target.Path).Healthy);
    }
}
