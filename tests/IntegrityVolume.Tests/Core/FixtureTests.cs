using IntegrityVolume.Core.Hashing;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>Every kernel-made fixture: superblock fields, layout, logical content, and the kernel's verdicts.</summary>
public class FixtureTests
{
    /// <summary>Cases with an internal hash, a clean image and the kernel's view of it.</summary>
    public static TheoryData<string> StandardCases()
    {
        var data = new TheoryData<string>();
        foreach (var id in FixtureCase.AllIds())
        {
            var c = new FixtureCase(id);
            if ((string?)c.Json["kind"] is "standard" or "crash" or "recalc_partial") data.Add(id);
        }
        return data;
    }

    public static TheoryData<string> CorruptCases()
    {
        var data = new TheoryData<string>();
        foreach (var id in FixtureCase.AllIds())
            if (new FixtureCase(id).KernelFailedSectors.Length > 0) data.Add(id);
        return data;
    }

    internal static VolumeLocation Location(FixtureCase c, bool corrupt = false)
    {
        if (c.Has("meta.img.gz"))
            return new VolumeLocation { Path = c.Image(corrupt ? "corrupt-meta.img.gz" : "meta.img.gz"), DataDevicePath = c.Image(corrupt ? "corrupt-data.img.gz" : "data.img.gz") };
        return new VolumeLocation { Path = c.Image(corrupt ? "corrupt.img.gz" : "clean.img.gz") };
    }

    internal static IntegrityAlgorithmSpec Integrity(FixtureCase c) => new() { Algorithm = TagAlgorithm.Parse(c.Algorithm!), Key = TestKey.Of(c.Key) };

    /// <summary>The verify request the kernel's open options correspond to (journal MAC and its key when the case has one).</summary>
    internal static VerifyRequest Verify(FixtureCase c, VolumeLocation? location = null) => new()
    {
        Volume = location ?? Location(c), Integrity = Integrity(c),
        JournalIntegrity = c.JournalKey is null ? null : TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = TestKey.Of(c.JournalKey),
    };

    [Fact]
    public void AllFixturesAreCovered()
    {
        // The public set: a missing case would silently shrink the proof.
        Assert.Equal(new[] { "p01", "p02", "p03", "p04", "p05", "p05b", "p06", "p07", "p08", "p09", "p10", "p11", "p12", "p12b", "p13", "p14", "p15", "p16" },
            FixtureCase.AllIds().ToArray());
    }

    [Theory]
    [MemberData(nameof(StandardCases))]
    public void SuperblockMatchesIntegritysetupDump(string id)
    {
        var c = new FixtureCase(id);
        var f = c.Json["dump"]!["fields"]!.AsObject();
        var v = VolumeOperations.Inspect(Location(c));
        Assert.Equal((int)f["superblock_version"]!, v.SuperblockVersion);
        Assert.Equal((int)f["log2_interleave_sectors"]!, v.Log2InterleaveSectors);
        Assert.Equal((int)f["integrity_tag_size"]!, v.IntegrityTagSize);
        Assert.Equal((uint)f["journal_sections"]!, v.JournalSections);
        Assert.Equal((ulong)f["provided_data_sectors"]!, v.ProvidedDataSectors);
        Assert.Equal((int)f["sector_size"]!, v.SectorSize);
        Assert.Equal((int)f["log2_blocks_per_bitmap"]!, v.Log2BlocksPerBitmap);
        Assert.Equal(f["flags"]!.AsArray().Select(n => (string)n!).ToArray(), v.Flags);
        Assert.Equal(f["recalc_sector"] is null ? null : (ulong?)f["recalc_sector"], v.RecalcSector);
        Assert.Equal((string)c.Json["superblock"]!["salt_hex"]!, v.Salt);
    }

    [Theory]
    [MemberData(nameof(StandardCases))]
    public void LayoutMatchesKernelGeometry(string id)
    {
        var c = new FixtureCase(id);
        var geo = c.Json["geometry"]!.AsObject();
        using var reader = new LogicalReader(Location(c));
        var g = reader.Geometry;
        Assert.Equal((ulong)geo["initial_sectors"]!, g.InitialSectors);
        Assert.Equal((int)geo["journal_section_sectors"]!, g.JournalSectionSectors);
        Assert.Equal((int)geo["journal_entry_size"]!, g.JournalEntrySize);
        if (geo["metadata_run_sectors"] is { } run) Assert.Equal((ulong)run, g.MetadataRunSectors);
        if (geo["areas"] is { } areas) Assert.Equal((ulong)areas, g.Areas);
    }

    /// <summary>The kernel's format picks the same provided_data_sectors for the same device and options.</summary>
    [Theory]
    [MemberData(nameof(StandardCases))]
    public void FormatGeometryReproducesProvidedDataSectors(string id)
    {
        var c = new FixtureCase(id);
        if (c.Json["dump_after_format"]?["fields"] is not JsonObject after || c.FormatOptions.Length == 0) return; // p05 formatted via dmsetup, checked below
        var request = FixtureFormat.Request(c, Path.Combine(Path.GetTempPath(), "unused"));
        var sizes = c.Has("meta.img.gz")
            ? ((ulong)c.Json["raw_meta_image_bytes"]! / 512, (ulong)c.Json["raw_data_image_bytes"]! / 512)
            : (FormattedSize(c) / 512, 0UL);
        var alg = request.Integrity.Algorithm;
        var g = Geometry.ForFormat(new Geometry.FormatInput
        {
            TagSize = request.TagSize ?? alg.DigestSize, Log2SectorsPerBlock = System.Numerics.BitOperations.Log2((uint)request.SectorSize / 512),
            HaveJournalMac = request.JournalIntegrity is not null, FixedPadding = !request.LegacyPadding && request.Volume.DataDevicePath is null,
            JournalSectors = request.JournalSizeBytes is long j ? (ulong)j / 512 : null, InterleaveSectors = request.InterleaveSectors,
            MetadataDeviceSectors = sizes.Item1, DataDeviceSectors = sizes.Item2, SeparateMetadata = request.Volume.DataDevicePath is not null,
        });
        Assert.Equal((ulong)after["provided_data_sectors"]!, g.ProvidedDataSectors);
        Assert.Equal((uint)after["journal_sections"]!, g.JournalSections);
        Assert.Equal((int)after["log2_blocks_per_bitmap"]!, g.Log2BlocksPerBitmapBit());
    }

    /// <summary>Size of the image when it was formatted: the first "truncate -s N" of the case's command log (p16 grew later).</summary>
    private static ulong FormattedSize(FixtureCase c)
    {
        foreach (var cmd in c.Json["commands"]!.AsArray())
            if (System.Text.RegularExpressions.Regex.Match((string)cmd!["cmd"]!, @"^truncate -s (\d+) ") is { Success: true } m)
                return ulong.Parse(m.Groups[1].Value);
        return (ulong)c.Json["raw_image_bytes"]!;
    }

    [Theory]
    [MemberData(nameof(StandardCases))]
    public void LogicalContentHashesToKernelSha256(string id)
    {
        var c = new FixtureCase(id);
        using var reader = new LogicalReader(Location(c));
        Assert.Equal((long)c.Json["logical_device_bytes"]!, reader.Length);
        using var sha = new HashingStream();
        reader.CopyTo(sha);
        Assert.Equal((string)c.Json["logical_sha256"]!, sha.Hex());
    }

    [Theory]
    [MemberData(nameof(StandardCases))]
    public void CleanImageVerifiesHealthy(string id)
    {
        var c = new FixtureCase(id);
        var r = VolumeOperations.Verify(Verify(c));
        // A recalculation stopped part way leaves blocks nothing can verify yet: incomplete, never corrupt.
        var expected = (string?)c.Json["kind"] == "recalc_partial" ? VerifyVerdict.Incomplete : VerifyVerdict.Healthy;
        Assert.True(r.Verdict == expected, $"{id}: {r.Verdict} {string.Join(", ", r.MismatchedSectors.Select(x => x.ToString()))} {string.Join(" ", r.NotVerified)}");
        Assert.Empty(r.MismatchedSectors);
        Assert.Equal(r.ProvidedDataSectors / (ulong)(r.SectorSize / 512), r.BlocksChecked);
    }

    [Theory]
    [MemberData(nameof(CorruptCases))]
    public void CorruptImageMismatchesEqualKernelChecksumFailures(string id)
    {
        var c = new FixtureCase(id);
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c, corrupt: true), Integrity = Integrity(c) });
        Assert.False(r.Healthy);
        int spb = r.SectorSize / 512;
        // The kernel reports the first sector of each failing block; a range covers whole blocks.
        var ours = r.MismatchedSectors.SelectMany(x => Enumerable.Range(0, (int)(x.Sectors / (ulong)spb)).Select(b => x.Start + (ulong)(b * spb))).ToArray();
        Assert.Equal(c.KernelFailedSectors, ours);
        Assert.Equal((ulong)c.KernelFailedSectors.Length, r.MismatchedBlocks);
    }

    [Fact]
    public void CrashedJournalIsFoundAndItsBlocksAreNotCorruption()
    {
        var c = new FixtureCase("p09");
        var v = VolumeOperations.Inspect(Location(c));
        Assert.Equal(JournalState.Pending, v.JournalState);
        int expectedEntries = c.Json["journal_offline_analysis"]!["sections"]!.AsArray().Sum(s => (int)s!["non_unused_entries"]!);
        Assert.Equal(expectedEntries, v.PendingJournalEntries);
        // Every block of phase 2 (pattern B) is in the journal, none of them reported as corrupt.
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c), Integrity = Integrity(c) });
        Assert.True(r.Healthy);
        Assert.Equal(JournalState.Pending, r.JournalState);
        var journalBlocks = c.Json["phase2"]!["journal_blocks"]!.AsArray().Select(n => (ulong)n!).ToHashSet();
        Assert.Equal((ulong)journalBlocks.Count, r.JournalPendingBlocks);
        // After the kernel replayed and closed it, the journal still holds the old entries, all already applied.
        var replayed = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = c.Image("replayed.img.gz") }, Integrity = Integrity(c) });
        Assert.True(replayed.Healthy);
        Assert.Equal(0UL, replayed.JournalPendingBlocks);
    }

    [Fact]
    public void DiscardedBlocksAreClassifiedNotCorrupt()
    {
        var c = new FixtureCase("p11");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c), Integrity = Integrity(c) });
        Assert.True(r.Healthy);
        Assert.Equal((ulong)(int)c.Json["discard"]!["blocks"]!, r.DiscardedBlocks);
    }

    [Fact]
    public void InterruptedRecalculationLeavesTailUninitialized()
    {
        var c = new FixtureCase("p12b");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c), Integrity = Integrity(c) });
        Assert.Equal(0UL, r.MismatchedBlocks);
        Assert.Equal(VerifyVerdict.Incomplete, r.Verdict);   // the tail is not protected yet
        ulong recalc = (ulong)c.Json["superblock"]!["recalc_sector"]!;
        Assert.Equal(recalc, r.ValidBlocks);
        Assert.Equal(r.ProvidedDataSectors - recalc, r.UninitializedBlocks);
    }

    [Fact]
    public void WrongAlgorithmWithSameTagSizeReportsEveryBlock()
    {
        var c = new FixtureCase("p01");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c), Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("crc32") } });
        Assert.False(r.Healthy);
        Assert.Equal(0UL, r.ValidBlocks);
        Assert.Contains(r.Warnings, w => w.Contains("algorithm", StringComparison.Ordinal));
    }

    [Fact]
    public void WrongKeyReportsEveryBlock()
    {
        var c = new FixtureCase("p04");
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = Location(c), Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = new IntegrityKey(new byte[32]) } });
        Assert.Equal(r.BlocksChecked, r.MismatchedBlocks);
    }

    [Fact]
    public void SuperblockDamageVariantsBehaveAsTheKernel()
    {
        var c = new FixtureCase("p14");
        var bad = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = c.Image("corrupt.img.gz") }));
        Assert.Equal(ErrorIds.SuperblockBadMagic, bad.ErrorId);
        // The kernel refuses a provided_data_sectors larger than the device allows ...
        var large = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = c.Image("corrupt-provided-large.img.gz") }));
        Assert.Equal(ErrorIds.SuperblockProvidedSectorsTooLarge, large.ErrorId);
        // ... and accepts a smaller one (it maps only that many sectors and rewrites the value on close:
        // the shipped image is the state after that close).
        var small = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = c.Image("corrupt-provided-small.img.gz") } });
        Assert.True(small.Healthy);
        Assert.Equal((ulong)c.Json["variants"]!["corrupt-provided-small.img"]!["superblock_after_close"]!["provided_data_sectors"]!, small.ProvidedDataSectors);
        using (var copy = new FixtureCase("p01").CopyOf("clean.img.gz"))
        {
            ulong smaller = (ulong)c.Json["variants"]!["corrupt-provided-small.img"]!["new_value"]!;
            using (var fs = new FileStream(copy.Path, FileMode.Open, FileAccess.Write)) { fs.Position = 16; fs.Write(BitConverter.GetBytes(smaller)); }
            var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = copy.Path } });
            Assert.True(r.Healthy);
            Assert.Equal(smaller, r.BlocksChecked);
        }
        foreach (var variant in c.Json["variants"]!.AsObject())
        {
            bool kernelOpens = (int)variant.Value!["open"]!["rc"]! == 0;
            var loc = new VolumeLocation { Path = c.Image(variant.Key + ".gz") };
            if (kernelOpens) VolumeOperations.Verify(new VerifyRequest { Volume = loc });
            else Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = loc }));
        }
    }

    [Fact]
    public void LuksIntegritySuperblockIsReadAtTheDataOffset()
    {
        var c = new FixtureCase("p15");
        ulong reserved = (ulong)c.Json["luks2_data_offset_bytes"]! / 512;
        var v = VolumeOperations.Inspect(new VolumeLocation { Path = c.Image("clean.img.gz"), ReservedSectors = reserved });
        var sb = c.Json["integrity_superblock_at_data_offset"]!;
        Assert.Equal((ulong)sb["provided_data_sectors"]!, v.ProvidedDataSectors);
        Assert.Equal((int)sb["integrity_tag_size"]!, v.IntegrityTagSize);
        Assert.Equal((int)sb["version"]!, v.SuperblockVersion);
        // Without the reserved offset the LUKS2 header is read and leads to the same superblock (Luks2ContainerTests).
        var found = VolumeOperations.Inspect(new VolumeLocation { Path = c.Image("clean.img.gz") });
        Assert.Equal(reserved, found.ReservedSectors);
        Assert.Equal(v.ProvidedDataSectors, found.ProvidedDataSectors);
    }
}

/// <summary>A write-only stream that SHA-256s what passes through it.</summary>
internal sealed class HashingStream : Stream
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    public string Hex() => Convert.ToHexString(_sha.GetHashAndReset()).ToLowerInvariant();
    public override void Write(byte[] buffer, int offset, int count) => _sha.AppendData(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _sha.AppendData(buffer);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) _sha.Dispose(); base.Dispose(disposing); }
}
