using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>Damaged superblocks and devices: a clear error with a stable id or a correct result, never a crash or a write.</summary>
public class BadInputTests
{
    public static TheoryData<int> SuperblockBytes()
    {
        var d = new TheoryData<int>();
        for (int i = 0; i < 64; i++) d.Add(i);
        return d;
    }

    [Theory]
    [MemberData(nameof(SuperblockBytes))]
    public void EveryMutatedSuperblockByteGivesAnErrorOrAResult(int offset)
    {
        var c = new FixtureCase("p01");
        var original = File.ReadAllBytes(c.Image("clean.img.gz"));
        foreach (byte value in new byte[] { 0x00, 0x01, 0x07, 0x20, 0x80, 0xFF, (byte)(original[offset] ^ 0x01) })
        {
            using var img = new TempFile(".img");
            var bytes = (byte[])original.Clone();
            bytes[offset] = value;
            File.WriteAllBytes(img.Path, bytes);
            var loc = new VolumeLocation { Path = img.Path };
            try
            {
                var v = VolumeOperations.Inspect(loc);
                var r = VolumeOperations.Verify(new VerifyRequest { Volume = loc });
                Assert.Equal(v.ProvidedDataSectors, r.ProvidedDataSectors);
                Assert.True(r.BlocksChecked > 0);
            }
            catch (IntegrityVolumeException ex)
            {
                Assert.False(string.IsNullOrEmpty(ex.ErrorId));
                Assert.Contains(img.Path, ex.Message);
            }
            // Inspection and verification never write to the device.
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(img.Path)));
        }
    }

    [Theory]
    [InlineData(8, 0, ErrorIds.SuperblockUnknownVersion)]
    [InlineData(8, 7, ErrorIds.SuperblockUnknownVersion)]
    [InlineData(10, 0, ErrorIds.SuperblockBadTagSize)]
    [InlineData(28, 4, ErrorIds.SuperblockBadBlockSize)]
    [InlineData(9, 2, ErrorIds.SuperblockBadInterleave)]
    [InlineData(12, 0, ErrorIds.SuperblockBadJournalSections)]
    [InlineData(27, 0x80, ErrorIds.SuperblockUnknownFlags)]
    [InlineData(24, 0x38, ErrorIds.InlineModeNotSupported)]
    [InlineData(9, 0, ErrorIds.DataDeviceMismatch)]   // log2_interleave 0 means a separate data device: asked for, not damage
    public void SpecificDamageHasItsOwnErrorId(int offset, byte value, string errorId)
    {
        using var img = new FixtureCase("p01").CopyOf("clean.img.gz");
        using (var f = new FileStream(img.Path, FileMode.Open, FileAccess.Write)) { f.Position = offset; f.WriteByte(value); }
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = img.Path }));
        Assert.Equal(errorId, ex.ErrorId);
    }

    [Theory]
    [InlineData(2048)]          // only the superblock area
    [InlineData(8 << 20)]       // half the device: provided_data_sectors no longer fits
    public void TruncatedDeviceIsAnError(long length)
    {
        using var img = new FixtureCase("p01").CopyOf("clean.img.gz");
        using (var f = new FileStream(img.Path, FileMode.Open, FileAccess.Write)) f.SetLength(length);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img.Path } }));
        Assert.Contains(ex.ErrorId, new[] { ErrorIds.DeviceTruncated, ErrorIds.SuperblockProvidedSectorsTooLarge });
    }

    [Fact]
    public void EmptyFileAndDirectoryAreErrors()
    {
        using var img = new TempFile(".img");
        File.WriteAllBytes(img.Path, Array.Empty<byte>());
        Assert.Equal(ErrorIds.DeviceTruncated, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = img.Path })).ErrorId);
        Assert.Equal(ErrorIds.PathIsDirectory, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = Path.GetTempPath() })).ErrorId);
    }

    [Fact]
    public void MetadataDeviceWithoutDataDeviceIsExplained()
    {
        var c = new FixtureCase("p10");
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = c.Image("meta.img.gz") }));
        Assert.Equal(ErrorIds.DataDeviceMismatch, ex.ErrorId);
        Assert.Contains("data device", ex.Message);
    }

    [Fact]
    public void CancellationStopsVerification()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => VolumeOperations.Verify(
            new VerifyRequest { Volume = new VolumeLocation { Path = new FixtureCase("p01").Image("clean.img.gz") } }, null, cts.Token));
    }

    [Fact]
    public void ProgressIsReportedOnTheCallingThreadAndEndsComplete()
    {
        var reports = new List<(int Thread, OperationProgress P)>();
        var progress = new SyncProgress(p => reports.Add((Environment.CurrentManagedThreadId, p)));
        VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = new FixtureCase("p12b").Image("clean.img.gz") } }, progress);
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.Equal(Environment.CurrentManagedThreadId, r.Thread));
        Assert.Equal(100, reports[^1].P.PercentComplete);
    }

    private sealed class SyncProgress(Action<OperationProgress> report) : IProgress<OperationProgress>
    {
        public void Report(OperationProgress value) => report(value);
    }
}

public class SuperblockMacTests
{
    [Fact]
    public void SuperblockMacVerifiesWithTheJournalKeyAndNotWithAnother()
    {
        var c = new FixtureCase("p13");
        var loc = new VolumeLocation { Path = c.Image("clean.img.gz") };
        var ok = VolumeOperations.Verify(new VerifyRequest { Volume = loc, JournalIntegrity = TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = TestKey.Of(c.JournalKey) });
        Assert.True(ok.Healthy);
        var wrongKey = c.JournalKey!.Select(b => (byte)(b ^ 1)).ToArray();
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = loc, JournalIntegrity = TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = TestKey.Of(wrongKey) }));
        Assert.Equal(ErrorIds.SuperblockMacMismatch, ex.ErrorId);
        // A volume formatted without a journal MAC refuses one, as the kernel does ("Journal mac mismatch").
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest
            { Volume = new VolumeLocation { Path = new FixtureCase("p01").Image("clean.img.gz") }, JournalIntegrity = TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = TestKey.Of(c.JournalKey) }));
        Assert.Equal(ErrorIds.AlgorithmMismatch, ex.ErrorId);
    }
}
