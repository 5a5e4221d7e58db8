using IntegrityVolume.Core.Hashing;
using System.Text.Json;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>
/// The cmdlets' flow without PowerShell: the Core requests the cmdlets build → Core, on real image files. What the
/// cmdlet classes add on top (binding, ShouldProcess, WriteObject) is covered by the Pester suite.
/// </summary>
public sealed class CommonWorkflowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-flow-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    // The requests the cmdlets build from their parameters (New, Test, Write, Get).
    private static FormatRequest FormatOf(string path, long? size = null, string algorithm = "crc32c", string? keyFile = null,
        string? journalIntegrity = null, string? journalKeyFile = null) => new()
    {
        Volume = At(path), CreateSizeBytes = size,
        Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm), Key = keyFile is null ? null : KeyFile.Read(keyFile, "-KeyFile") },
        JournalIntegrity = journalIntegrity is null ? null : TagAlgorithm.Parse(journalIntegrity), JournalIntegrityKey = journalKeyFile is null ? null : KeyFile.Read(journalKeyFile, "-JournalIntegrityKeyFile"),
    };

    private static VerifyRequest VerifyOf(string path, string algorithm = "crc32c", string? keyFile = null, int threads = 0,
        string? journalIntegrity = null, string? journalKeyFile = null) => new()
    {
        Volume = At(path), Threads = threads,
        Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm), Key = keyFile is null ? null : KeyFile.Read(keyFile, "-KeyFile") },
        JournalIntegrity = journalIntegrity is null ? null : TagAlgorithm.Parse(journalIntegrity), JournalIntegrityKey = journalKeyFile is null ? null : KeyFile.Read(journalKeyFile, "-JournalIntegrityKeyFile"),
    };

    private static WriteRequest WriteOf(string path, string input, ulong offset = 0) => new() { Volume = At(path), InputPath = input, OffsetSectors = offset };

    private static VolumeLocation At(string path) => new() { Path = path };

    private sealed class Recorder : IProgress<OperationProgress>
    {
        public List<OperationProgress> Reports { get; } = new();
        public void Report(OperationProgress value) => Reports.Add(value);
    }

    [Fact]
    public void WhatIf_plans_without_touching_the_file_system_and_predicts_the_real_volume()
    {
        string path = P("new.img");
        var request = FormatOf(path: path, size: 8 << 20);

        var plan = VolumeOperations.PlanFormat(request);          // New-IntegrityVolume -WhatIf
        Assert.True(plan.WhatIf);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir));

        var result = VolumeOperations.Format(request);              // New-IntegrityVolume -Confirm:$false
        Assert.False(result.WhatIf);
        Assert.True(File.Exists(path));
        Assert.Equal(8L << 20, new FileInfo(path).Length);

        var inspected = VolumeOperations.Inspect(At(path: path));  // Get-IntegrityVolume
        foreach (var (a, b) in new[] { (plan.Volume, inspected), (result.Volume, inspected) })
        {
            Assert.Equal(a.ProvidedDataSectors, b.ProvidedDataSectors);
            Assert.Equal(a.SuperblockVersion, b.SuperblockVersion);
            Assert.Equal(a.IntegrityTagSize, b.IntegrityTagSize);
            Assert.Equal(a.JournalSections, b.JournalSections);
            Assert.Equal(a.Flags, b.Flags);
            Assert.Equal(a.DeviceBytes, b.DeviceBytes);
        }
        Assert.Equal(result.Volume.Salt, inspected.Salt);
        Assert.Equal(JournalState.Clean, inspected.JournalState);
    }

    [Fact]
    public void WhatIf_on_an_existing_file_without_Force_fails_and_leaves_it_untouched()
    {
        string path = P("keep.img");
        var original = Enumerable.Range(0, 1 << 16).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(path, original);
        var stamp = File.GetLastWriteTimeUtc(path);
        var ex = Assert.Throws<IntegrityVolumeException>(() =>
            VolumeOperations.PlanFormat(FormatOf(path: path, size: 1 << 20)));
        Assert.Equal(ErrorIds.FileExists, ex.ErrorId);
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void Format_write_verify_detect_corruption()
    {
        string path = P("disk.img");
        VolumeOperations.Format(FormatOf(path: path, size: 8 << 20));

        var healthy = VolumeOperations.Verify(VerifyOf(path: path, threads: 2));
        Assert.True(healthy.Healthy);
        Assert.Equal(healthy.ProvidedDataSectors, healthy.ValidBlocks);

        // Write-IntegrityVolumeData: a recognisable 64 KiB payload at sector 128.
        var payload = new byte[64 << 10];
        new Random(42).NextBytes(payload);
        string input = P("payload.bin");
        File.WriteAllBytes(input, payload);
        var progress = new Recorder();
        var written = VolumeOperations.Write(WriteOf(path: path, input: input, offset: 128), progress);
        Assert.Equal(128UL, written.StartSector);
        Assert.Equal(128UL, written.SectorsWritten);
        Assert.Equal(path, written.Path);
        Assert.True(VolumeOperations.Verify(VerifyOf(path: path)).Healthy);

        // Flip one byte of the payload inside the raw image: exactly one 512-byte block mismatches.
        var raw = File.ReadAllBytes(path);
        int at = raw.AsSpan().IndexOf(payload.AsSpan(0, 4096));
        Assert.True(at > 0);
        raw[at + 3 * 512 + 17] ^= 0xFF;
        File.WriteAllBytes(path, raw);

        var bad = VolumeOperations.Verify(VerifyOf(path: path));
        Assert.False(bad.Healthy);
        Assert.Equal(1UL, bad.MismatchedBlocks);
        Assert.Equal(new SectorRange(131, 1), Assert.Single(bad.MismatchedSectors));
        Assert.Equal("131", Display.Ranges(bad.MismatchedSectors));
    }

    [Fact]
    public void Keyed_volumes_need_the_same_key_file()
    {
        string path = P("hmac.img");
        string key = P("key.bin");
        File.WriteAllBytes(key, Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        VolumeOperations.Format(FormatOf(path: path, size: 4 << 20, algorithm: "hmac-sha256", keyFile: key));

        var good = VolumeOperations.Verify(VerifyOf(path: path, algorithm: "hmac-sha256", keyFile: key));
        Assert.True(good.Healthy);
        Assert.Equal("hmac(sha256)", good.Algorithm);

        string wrong = P("wrong.bin");
        File.WriteAllBytes(wrong, new byte[32]);
        var bad = VolumeOperations.Verify(VerifyOf(path: path, algorithm: "hmac-sha256", keyFile: wrong));
        Assert.False(bad.Healthy);
        Assert.Equal(0UL, bad.ValidBlocks);
        Assert.NotEmpty(bad.Warnings);

        var noKey = Assert.Throws<IntegrityVolumeException>(() =>
            VolumeOperations.Verify(VerifyOf(path: path, algorithm: "hmac-sha256")));
        Assert.Equal(ErrorIds.KeyRequired, noKey.ErrorId);
        var keyForCrc = Assert.Throws<IntegrityVolumeException>(() =>
            VolumeOperations.Verify(VerifyOf(path: path, algorithm: "crc32c", keyFile: key)));
        Assert.Equal(ErrorIds.KeyNotAllowed, keyForCrc.ErrorId);
    }

    [Fact]
    public void Journal_integrity_authenticates_the_superblock()
    {
        string path = P("jmac.img");
        string jkey = P("jkey.bin");
        File.WriteAllBytes(jkey, Enumerable.Range(0, 32).Select(i => (byte)(i * 3)).ToArray());
        VolumeOperations.Format(FormatOf(path: path, size: 8 << 20, journalIntegrity: "hmac-sha256", journalKeyFile: jkey));
        var ok = VolumeOperations.Verify(VerifyOf(path: path, journalIntegrity: "hmac-sha256", journalKeyFile: jkey));
        Assert.True(ok.Healthy);

        string wrong = P("wrong-jkey.bin");
        File.WriteAllBytes(wrong, new byte[32]);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(VerifyOf(path: path, journalIntegrity: "hmac-sha256", journalKeyFile: wrong)));
        Assert.Equal((ErrorIds.SuperblockMacMismatch, ErrorCategoryName.InvalidData), (ex.ErrorId, ErrorMapping.CategoryFor(ex.ErrorId, ex.Kind)));

        string plain = P("plain.img");
        VolumeOperations.Format(FormatOf(path: plain, size: 4 << 20));
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(VerifyOf(path: plain, journalIntegrity: "hmac-sha256", journalKeyFile: jkey)));
        Assert.Equal(ErrorIds.AlgorithmMismatch, ex.ErrorId);
    }

    [Fact]
    public void Errors_a_cmdlet_reports_map_to_stable_ids_and_categories()
    {
        string notVolume = P("zeros.img");
        File.WriteAllBytes(notVolume, new byte[1 << 16]);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(At(path: notVolume)));
        var mapped = ErrorMapping.TryMap(ex, notVolume)!;
        Assert.Equal(ErrorIds.SuperblockBadMagic, mapped.ErrorId);
        Assert.Equal(ErrorCategoryName.InvalidData, mapped.Category);
        Assert.Equal(notVolume, mapped.Target);

        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(At(path: P("missing.img"))));
        Assert.Equal((ErrorIds.DeviceNotFound, ErrorCategoryName.ObjectNotFound), (ErrorMapping.TryMap(ex, null)!.ErrorId, ErrorMapping.TryMap(ex, null)!.Category));

        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.PlanFormat(FormatOf(path: P("n.img"), size: 1 << 20, algorithm: "md5")));
        Assert.Equal((ErrorIds.UnknownAlgorithm, ErrorCategoryName.InvalidArgument), (ErrorMapping.TryMap(ex, null)!.ErrorId, ErrorMapping.TryMap(ex, null)!.Category));
    }

    [Fact]
    public void Cancellation_stops_a_verification_quietly()
    {
        string path = P("big.img");
        VolumeOperations.Format(FormatOf(path: path, size: 64 << 20));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex = Record.Exception(() => VolumeOperations.Verify(VerifyOf(path: path), null, cts.Token));
        Assert.NotNull(ex);
        Assert.True(ErrorMapping.IsQuietCancellation(ex!, cancellationRequested: true), ex!.GetType().Name + ": " + ex.Message);
    }

    [Fact]
    public void Progress_reports_turn_into_valid_progress_records()
    {
        string path = P("p.img");
        var progress = new Recorder();
        VolumeOperations.Format(FormatOf(path: path, size: 128 << 20), progress);
        VolumeOperations.Verify(VerifyOf(path: path, threads: 1), progress);
        foreach (var report in progress.Reports)
        {
            var view = ProgressModel.From(report);
            Assert.InRange(view.PercentComplete, 0, 100);
            Assert.True(view.SecondsRemaining >= -1);
            Assert.False(string.IsNullOrWhiteSpace(view.Activity));
            Assert.False(string.IsNullOrWhiteSpace(view.Status));
        }
    }

    [Fact]
    public void Result_objects_round_trip_through_json()
    {
        // ConvertTo-Json | ConvertFrom-Json keeps every property at depth <= 3; System.Text.Json shows the same shape.
        string path = P("j.img");
        VolumeOperations.Format(FormatOf(path: path, size: 4 << 20));
        var info = VolumeOperations.Inspect(At(path: path));
        var verify = VolumeOperations.Verify(VerifyOf(path: path));
        foreach (object o in new object[] { info, verify })
        {
            using var doc = JsonDocument.Parse(JsonSerializer.Serialize(o, o.GetType()));
            Assert.True(Depth(doc.RootElement) <= 3, $"{o.GetType().Name} nests deeper than ConvertTo-Json -Depth 3");
        }
        var back = JsonSerializer.Deserialize<JsonElement>(JsonSerializer.Serialize(info));
        Assert.Equal(info.ProvidedDataSectors, back.GetProperty("ProvidedDataSectors").GetUInt64());
        Assert.Equal(info.Path, back.GetProperty("Path").GetString());
    }

    private static int Depth(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => 1 + e.EnumerateObject().Select(p => Depth(p.Value)).DefaultIfEmpty(0).Max(),
        JsonValueKind.Array => 1 + e.EnumerateArray().Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };
}
