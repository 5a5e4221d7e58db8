using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Tests.Cli;
using IntegrityVolume.Tests.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Verdicts;

/// <summary>
/// Honest verdicts (issue 12, defects 3 and 4): what the kernel would fail is Corrupt, what was not checked is
/// Incomplete, and the result says how much was verified.
/// </summary>
public class VerdictTests
{
    /// <summary>A copy of p09 (kernel crash with a committed journal) with one byte of one committed entry's tag flipped.</summary>
    internal static (TempFile Image, JournalEntryInfo Entry) ForgedJournal()
    {
        var c = new FixtureCase("p09");
        var img = c.CopyOf("clean.img.gz");
        var loc = new VolumeLocation { Path = img.Path };
        var sb = VolumeOperations.ReadSuperblock(loc);
        var g = Geometry.FromSuperblock(sb, (ulong)new FileInfo(img.Path).Length / 512);
        var entry = FirstPendingEntry(c, img.Path);
        // Entry n of a section: metadata sector n % 8, byte (n / 8) * entry_size; its tag follows sector and last_bytes.
        long offset = ((long)g.JournalStartSector + (long)entry.Section * g.JournalSectionSectors) * 512 +
                      entry.Entry % 8 * 512 + entry.Entry / 8 * g.JournalEntrySize + 8 + 8 * g.SectorsPerBlock;
        using (var f = new FileStream(img.Path, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = offset;
            int b = f.ReadByte();
            f.Position = offset;
            f.WriteByte((byte)(b ^ 0x5A));
        }
        return (img, entry);
    }

    private static JournalEntryInfo FirstPendingEntry(FixtureCase c, string path)
    {
        var loc = new VolumeLocation { Path = path };
        var sb = VolumeOperations.ReadSuperblock(loc);
        var g = Geometry.FromSuperblock(sb, (ulong)new FileInfo(path).Length / 512);
        using var dev = IntegrityVolume.Core.Devices.BlockDevice.Open(path, write: false);
        using var tags = IntegrityVolume.Core.Hashing.TagComputer.ForVolume(sb, IntegrityVolume.Core.Hashing.TagAlgorithm.Parse(c.Algorithm!), TestKey.Of(c.Key));
        var report = JournalInspector.Inspect(dev, sb, g, tags, dev);
        var e = report.PendingEntries.First(x => !x.AlreadyApplied);
        Assert.True(e.TagValid);
        return e;
    }

    [Fact]
    public void CommittedJournalEntryWithABadTagIsCorruptAndListed()
    {
        var (img, entry) = ForgedJournal();
        using (img)
        {
            var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img.Path }, Integrity = new() { Algorithm = IntegrityVolume.Core.Hashing.TagAlgorithm.Parse("crc32c") } });
            Assert.Equal(VerifyVerdict.Corrupt, r.Verdict);
            Assert.False(r.Healthy);
            var failed = Assert.Single(r.FailedJournalEntries);
            Assert.Equal((entry.Section, entry.Entry, entry.Sector), (failed.Section, failed.Entry, failed.Sector));
            Assert.Equal(0UL, r.MismatchedBlocks);   // the data area itself is fine: the replay is what the kernel fails
        }
    }

    [Fact]
    public void CliExitsOneAndListsTheFailedJournalEntryInJson()
    {
        var (img, entry) = ForgedJournal();
        using (img)
        {
            var (code, stdout, _) = CliTests.Ivol("verify", img.Path, "--integrity", "crc32c", "--json");
            Assert.Equal(1, code);
            var j = JsonNode.Parse(stdout)!;
            Assert.Equal("corrupt", (string)j["verdict"]!);
            Assert.False((bool)j["healthy"]!);
            var e = Assert.Single(j["failedJournalEntries"]!.AsArray())!;
            Assert.Equal(entry.Section, (uint)e["section"]!);
            Assert.Equal(entry.Entry, (int)e["entry"]!);
            (code, stdout, _) = CliTests.Ivol("verify", img.Path, "--integrity", "crc32c");
            Assert.Equal(1, code);
            Assert.Contains($"journal section {entry.Section} entry {entry.Entry}", stdout);
        }
    }

    [Fact]
    public void TheUnforgedCrashJournalStaysHealthyWithFullCoverage()
    {
        var c = new FixtureCase("p09");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = FixtureTests.Location(c), Integrity = FixtureTests.Integrity(c) });
        Assert.Equal(VerifyVerdict.Healthy, r.Verdict);
        Assert.Empty(r.FailedJournalEntries);
        Assert.Equal(r.BlocksChecked, r.VerifiedBlocks);
        Assert.Equal(100.0, r.Coverage);
    }

    private static TempFile RecalculatingFromZero()
    {
        // p12b: a kernel-made volume left RECALCULATING; recalc_sector set back to 0 (what "recalculate" does in ctr).
        var img = new FixtureCase("p12b").CopyOf("clean.img.gz");
        using var f = new FileStream(img.Path, FileMode.Open, FileAccess.Write);
        f.Position = 32;
        f.Write(new byte[8]);
        return img;
    }

    [Fact]
    public void RecalculatingFromSectorZeroVerifiesNothingAndIsIncomplete()
    {
        using var img = RecalculatingFromZero();
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img.Path }, Integrity = FixtureTests.Integrity(new FixtureCase("p12b")) });
        Assert.Equal(VerifyVerdict.Incomplete, r.Verdict);
        Assert.False(r.Healthy);
        Assert.Equal(0UL, r.VerifiedBlocks);
        Assert.Equal(0.0, r.Coverage);
        Assert.Contains(r.NotVerified, n => n.StartsWith("Nothing verified", StringComparison.Ordinal));
    }

    [Fact]
    public void CliExitCodeOfIncompleteIsSixAndTheJsonSaysHowMuchWasVerified()
    {
        using var img = RecalculatingFromZero();
        var c = new FixtureCase("p12b");
        var (code, stdout, _) = CliTests.Ivol("verify", img.Path, "--integrity", c.Algorithm!, "--json");
        Assert.Equal(6, code);
        var j = JsonNode.Parse(stdout)!;
        Assert.Equal("incomplete", (string)j["verdict"]!);
        Assert.Equal(0UL, (ulong)j["verifiedBlocks"]!);
        Assert.Equal(0.0, (double)j["coverage"]!);
        Assert.NotEmpty(j["notVerified"]!.AsArray());
        (code, stdout, _) = CliTests.Ivol("verify", img.Path, "--integrity", c.Algorithm!);
        Assert.Equal(6, code);
        Assert.Contains("INCOMPLETE", stdout);
        Assert.Contains("verified 0 of", stdout);
    }

    [Fact]
    public void PartialRecalculationReportsItsCoverage()
    {
        var c = new FixtureCase("p12b");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = FixtureTests.Location(c), Integrity = FixtureTests.Integrity(c) });
        ulong recalc = (ulong)c.Json["superblock"]!["recalc_sector"]!;
        Assert.Equal(VerifyVerdict.Incomplete, r.Verdict);
        Assert.Equal(recalc, r.VerifiedBlocks);
        Assert.Equal(Math.Floor(10000.0 * recalc / r.BlocksChecked) / 100, r.Coverage);
    }

    [Fact]
    public void JournalMacVolumeVerifiedWithoutTheJournalKeyIsIncomplete()
    {
        var c = new FixtureCase("p13");
        var loc = FixtureTests.Location(c);
        var without = VolumeOperations.Verify(new VerifyRequest { Volume = loc, Integrity = FixtureTests.Integrity(c) });
        Assert.Equal(VerifyVerdict.Incomplete, without.Verdict);
        Assert.Contains(without.NotVerified, n => n.Contains("Journal MAC not checked", StringComparison.Ordinal));
        Assert.Equal(without.BlocksChecked, without.VerifiedBlocks);   // every block checked, only the MAC is missing
        var with = VolumeOperations.Verify(new VerifyRequest { Volume = loc, Integrity = FixtureTests.Integrity(c), JournalIntegrity = IntegrityVolume.Core.Hashing.TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = TestKey.Of(c.JournalKey) });
        Assert.Equal(VerifyVerdict.Healthy, with.Verdict);
        var (code, _, _) = CliTests.Ivol("verify", loc.Path, "--integrity", c.Algorithm!);
        Assert.Equal(6, code);
    }
}
