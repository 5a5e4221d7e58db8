using IntegrityVolume.Core.Hashing;
using System.Diagnostics;
using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Issue 12, defects 1, 5, 6 and 7: write bounds that cannot wrap, locks between writers and readers, the algorithm
/// and key proven before a write, and interrupted writes that are reported and finishable.
/// </summary>
public class WriteSafetyTests
{
    private static VolumeLocation At(string path) => new() { Path = path };

    private static TempFile Input(int bytes, int seed)
    {
        var f = new TempFile(".bin");
        var content = new byte[bytes];
        new Random(seed).NextBytes(content);
        File.WriteAllBytes(f.Path, content);
        return f;
    }

    // ---- defect 1: offset + length wrapped around 2^64 and the input landed on the superblock and journal.

    [Fact]
    public void OffsetThatWrapsAroundIsRefusedAndNothingIsWritten()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var input = Input(94_208, 1);   // 184 sectors: 18446744073709551432 + 184 = 2^64
        var before = File.ReadAllBytes(copy.Path);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = At(copy.Path), InputPath = input.Path, OffsetSectors = 18446744073709551432UL }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, ex.ErrorId);
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = At(copy.Path), InputPath = input.Path, OffsetSectors = ulong.MaxValue }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, ex.ErrorId);
        // One sector too far at the end of the volume (32328 sectors).
        ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = At(copy.Path), InputPath = input.Path, OffsetSectors = 32328 - 183 }));
        Assert.Equal(ErrorIds.InvalidSize, ex.ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)), "the image changed");
        // Exactly at the end fits.
        VolumeOperations.Write(new WriteRequest { Volume = At(copy.Path), InputPath = input.Path, OffsetSectors = 32328 - 184 });
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
    }

    [Fact]
    public void CliRefusesTheWrappingOffsetWithAnIdAndExitTwo()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var input = Input(94_208, 2);
        var before = File.ReadAllBytes(copy.Path);
        var (code, _, err) = Ivol(null, "write", copy.Path, "--input", input.Path, "--offset", "18446744073709551432");
        Assert.Equal(2, code);
        Assert.Contains("[OffsetOutOfRange]", err);
        Assert.DoesNotContain("   at ", err);   // no stack trace
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)));
    }

    // ---- defect 5: locks.

    [Fact]
    public void SecondWriterGetsDeviceInUseAndWaitProceedsAfterTheFirst()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var input = Input(8192, 3);
        var request = new WriteRequest { Volume = At(copy.Path), InputPath = input.Path, OffsetSectors = 64 };
        Task<WriteResult> waiting;
        using (BlockDevice.Open(copy.Path, write: true))   // the first writer (its own open file description)
        {
            var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(request));
            Assert.Equal(ErrorIds.DeviceInUse, ex.ErrorId);
            Assert.Equal(ErrorKind.ResourceBusy, ex.Kind);
            // A reader must not see a write half done either.
            Assert.Equal(ErrorIds.DeviceInUse, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) })).ErrorId);
            Assert.Equal(ErrorIds.DeviceInUse, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Format(new FormatRequest { Volume = At(copy.Path), Force = true })).ErrorId);
            waiting = Task.Run(() => VolumeOperations.Write(request with { Volume = At(copy.Path) with { WaitForLock = true } }));
            Assert.False(waiting.Wait(500), "the waiting writer did not wait for the lock");
        }
        Assert.Equal(16UL, waiting.Result.BlocksWritten);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
    }

    [Fact]
    public void ReadersShareTheLockAndExcludeWriters()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var input = Input(4096, 4);
        using (BlockDevice.Open(copy.Path, write: false))
        {
            Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path) }).Healthy);
            Assert.NotNull(VolumeOperations.Inspect(At(copy.Path)));
            var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest { Volume = At(copy.Path), InputPath = input.Path }));
            Assert.Equal(ErrorIds.DeviceInUse, ex.ErrorId);
        }
    }

    [Fact]
    public void CliWriterAgainstAnotherProcessesLockExitsFiveAndWaitsWithWait()
    {
        if (!File.Exists("/usr/bin/flock")) return;   // util-linux flock(1) holds the lock from a separate process
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var input = Input(4096, 5);
        using var release = new TempFile(".fifo");
        // flock(1) takes the same flock(2) lock ivol takes, and holds it until the file `release` exists.
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", new[] { "-x", copy.Path, "sh", "-c", $"echo locked; while [ ! -e {release.Path} ]; do sleep 0.05; done" })
            { RedirectStandardOutput = true })!;
        Assert.Equal("locked", holder.StandardOutput.ReadLine());
        var (code, _, err) = Ivol(null, "write", copy.Path, "--input", input.Path);
        Assert.Equal(5, code);
        Assert.Contains("[DeviceInUse]", err);
        var waiting = Task.Run(() => Ivol(null, "write", copy.Path, "--input", input.Path, "--wait"));
        Assert.False(waiting.Wait(1000), "ivol write --wait did not wait");
        File.WriteAllText(release.Path, "");
        holder.WaitForExit();
        Assert.Equal(0, waiting.Result.Code);
        Assert.Equal(0, Ivol(null, "verify", copy.Path).Code);
    }

    [Fact]
    public void FormatPlanWaitingForALockStopsWhenCancelled()
    {
        // The format's checks (size probe, signature probe) wait for the lock too: Ctrl+C (the token) must end the wait.
        if (!File.Exists("/usr/bin/flock")) return;
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var release = new TempFile(".release");
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", new[] { "-x", copy.Path, "sh", "-c", $"echo locked; while [ ! -e {release.Path} ]; do sleep 0.05; done" })
            { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            using var cts = new CancellationTokenSource();
            var planning = Task.Run(() => VolumeOperations.PlanFormat(new FormatRequest { Volume = At(copy.Path) with { WaitForLock = true }, Force = true }, cts.Token));
            Assert.False(planning.Wait(1000), "the plan did not wait for the lock");
            cts.Cancel();
            // The limit only turns a wait that ignores the token into a failure.
            Assert.True(((IAsyncResult)planning).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(60)), "the plan kept waiting after the cancellation");
            Assert.IsAssignableFrom<OperationCanceledException>(planning.Exception!.GetBaseException());
            Assert.False(holder.HasExited);
        }
        finally { File.WriteAllText(release.Path, ""); holder.WaitForExit(); }
    }

    // ---- defect 6: the algorithm and key are proven before writing.

    public static TheoryData<string, string, string?, string, string> WrongAlgorithms() => new()
    {
        // fixture, image, algorithm given, key hex (null: none), expected error
        { "p03", "clean.img.gz", "crc32c", "", ErrorIds.AlgorithmMismatch },      // sha256 volume, default algorithm
        { "p01", "clean.img.gz", "sha256", "", ErrorIds.AlgorithmMismatch },      // crc32c volume
        { "p03", "formatted.img.gz", "sha1", "", ErrorIds.AlgorithmMismatch },    // freshly formatted: zero-block tags
        { "p04", "clean.img.gz", "crc32c", "", ErrorIds.AlgorithmMismatch },      // hmac volume without its key
        { "p04", "clean.img.gz", "hmac-sha256", "00112233445566778899aabbccddeeff", ErrorIds.KeyMismatch },
        { "p04", "clean.img.gz", "hmac-sha512", "dd5cb9890474305ee258c9ffbd3625403235d40dde20cc2bd2f62ac2b0f90a97", ErrorIds.AlgorithmMismatch },
        { "p04", "formatted.img.gz", "hmac-sha256", "dd5cb9890474305ee258c9ffbd3625403235d40dde20cc2bd2f62ac2b0f90a98", ErrorIds.KeyMismatch },
    };

    [Theory]
    [MemberData(nameof(WrongAlgorithms))]
    public void WrongAlgorithmOrKeyIsRefusedBeforeAnyWrite(string id, string image, string algorithm, string keyHex, string expected)
    {
        using var copy = new FixtureCase(id).CopyOf(image);
        using var input = Input(20_000, 6);
        var before = File.ReadAllBytes(copy.Path);
        var spec = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm), Key = TestKey.Of(keyHex.Length == 0 ? null : Convert.FromHexString(keyHex)) };
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest
            { Volume = At(copy.Path), Integrity = spec, InputPath = input.Path, OffsetSectors = 8 }));
        Assert.Equal(expected, ex.ErrorId);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(copy.Path)), "a refused write changed the image");
    }

    [Fact]
    public void TheRightAlgorithmIsNamedWhenTheTagsMatchAnother()
    {
        using var copy = new FixtureCase("p03").CopyOf("clean.img.gz");
        using var input = Input(4096, 7);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(new WriteRequest { Volume = At(copy.Path), InputPath = input.Path }));
        Assert.Contains("sha256", ex.Message);
    }

    [Theory]
    [InlineData("p03", "clean.img.gz")]
    [InlineData("p03", "formatted.img.gz")]
    [InlineData("p04", "clean.img.gz")]
    [InlineData("p04", "formatted.img.gz")]
    [InlineData("p01", "formatted.img.gz")]
    public void TheRightAlgorithmAndKeyWriteAndVerify(string id, string image)
    {
        var c = new FixtureCase(id);
        using var copy = c.CopyOf(image);
        using var input = Input(50_000, 8);
        var w = VolumeOperations.Write(new WriteRequest { Volume = At(copy.Path), Integrity = FixtureTests.Integrity(c), InputPath = input.Path, OffsetSectors = 64 });
        Assert.Empty(w.Warnings);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(copy.Path), Integrity = FixtureTests.Integrity(c) }).Healthy);
    }

    [Fact]
    public void OurOwnHmacFormatRefusesAnotherKeyAndForceWritesLoudly()
    {
        using var img = new TempFile(".img");
        var keyA = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var keyB = Enumerable.Range(2, 32).Select(i => (byte)i).ToArray();
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20, SectorSize = 4096,
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = TestKey.Of(keyA) } });
        using var input = Input(40_000, 9);
        var wrong = new WriteRequest { Volume = At(img.Path), Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = TestKey.Of(keyB) }, InputPath = input.Path };
        Assert.Equal(ErrorIds.KeyMismatch, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Write(wrong)).ErrorId);
        var forced = VolumeOperations.Write(wrong with { Force = true });
        Assert.Contains(forced.Warnings, w => w.Contains("--force") && w.Contains(ErrorIds.KeyMismatch));
        // What --force wrote fails with the volume's real key: the kernel would reject those blocks.
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path), Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = TestKey.Of(keyA) } });
        Assert.Equal(10UL, r.MismatchedBlocks);
    }

    [Fact]
    public void AVolumeWithNothingToProveWithWritesWithAWarning()
    {
        using var img = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20, NoWipe = true });
        using var input = Input(4096, 10);
        var w = VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("sha256") }, InputPath = input.Path });
        Assert.Contains(w.Warnings, x => x.Contains("could prove"));
    }

    // ---- defect 7: interrupted writes are reported and finishable; SIGTERM/SIGHUP clean up like SIGINT.

    [Theory]
    [InlineData("4")]        // killed before the first batch's tags move in place (its journal is committed)
    [InlineData("5:torn")]   // killed inside the second batch's journal commit
    [InlineData("3:torn")]   // killed inside the first batch's data write
    public void KilledJournaledWriteIsHealthyReportedAndARerunFinishesIt(string killAt)
    {
        using var img = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20 });
        using var input = Input(3 << 20, 11);
        var (code, _, _) = Ivol(new() { ["IVOL_TEST_KILL_AT_WRITE"] = killAt }, "write", img.Path, "--input", input.Path, "--offset", "2048");
        Assert.Equal(128 + 9, code);   // SIGKILL
        var info = VolumeOperations.Inspect(At(img.Path));
        Assert.NotNull(info.InterruptedWrite);
        Assert.True(info.InterruptedWrite!.Journaled);
        Assert.Equal(2048UL, info.InterruptedWrite!.StartSector);
        Assert.Equal(2048UL + 6144, info.InterruptedWrite.EndSector);
        // Through the journal every block is old or new with a valid tag: healthy, and the unfinished range is still named.
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path) });
        Assert.True(r.Healthy, string.Join("; ", r.Warnings));
        Assert.NotNull(r.InterruptedWrite);
        Assert.Contains(r.Warnings, w => w.Contains("was interrupted") && w.Contains("2048-8191") && w.Contains("same write again"));
        var (vcode, vout, _) = Ivol(null, "verify", img.Path, "--json");
        Assert.Equal(0, vcode);
        Assert.Equal(2048UL, (ulong)JsonNode.Parse(vout)!["interruptedWrite"]!["startSector"]!);
        Assert.Contains("interrupted_write sectors 2048-8191", Ivol(null, "dump", img.Path).Out);
        // Another range is refused until the interrupted one is finished.
        using var other = Input(4096, 12);
        Assert.Equal(ErrorIds.WriteInterrupted, Assert.Throws<IntegrityVolumeException>(() =>
            VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = other.Path, OffsetSectors = 100 })).ErrorId);
        // Re-running the same write finishes it: healthy, no record, and the content is the input.
        var w = VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = input.Path, OffsetSectors = 2048 });
        Assert.Contains(w.Warnings, x => x.Contains("finishes an interrupted one"));
        Assert.Null(VolumeOperations.Inspect(At(img.Path)).InterruptedWrite);
        Assert.True(VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path) }).Healthy);
        using var reader = new LogicalReader(At(img.Path));
        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        Assert.True(ms.GetBuffer().AsSpan(2048 * 512, 3 << 20).SequenceEqual(File.ReadAllBytes(input.Path)));
    }

    [Fact]
    public void WithoutTheJournalMacKeyTheWriteGoesInPlaceSaysSoAndAKillIsReportedAsTorn()
    {
        using var img = new TempFile(".img");
        using var macKey = new IntegrityKey(Enumerable.Repeat((byte)0x5a, 32).ToArray());
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20,
            JournalIntegrity = TagAlgorithm.Parse("hmac-sha256"), JournalIntegrityKey = new IntegrityKey(macKey.Span) });
        using var input = Input(1 << 20, 15);
        var w = VolumeOperations.Write(new WriteRequest { Volume = At(img.Path), InputPath = input.Path });
        Assert.Contains(w.Warnings, x => x.Contains("in place, not through the journal") && x.Contains("journal_mac"));
        using var second = Input(1 << 20, 16);
        var (code, _, _) = Ivol(new() { ["IVOL_TEST_KILL_AT_WRITE"] = "3:torn" }, "write", img.Path, "--input", second.Path);
        Assert.Equal(128 + 9, code);
        var r = VolumeOperations.Verify(new VerifyRequest { Volume = At(img.Path) });
        Assert.False(r.Healthy);
        Assert.False(r.InterruptedWrite!.Journaled);
        Assert.Contains(r.Warnings, x => x.Contains("torn"));
    }

    [Fact]
    public void TheIntentRecordChangesNothingTheKernelReads()
    {
        // The record lives in sector 1 of the superblock area: the superblock sector (with its MAC) stays byte-identical.
        var c = new FixtureCase("p01");
        using var copy = c.CopyOf("clean.img.gz");
        var sector0 = File.ReadAllBytes(copy.Path).AsSpan(0, 512).ToArray();
        using var input = Input(1 << 20, 13);
        Ivol(new() { ["IVOL_TEST_KILL_AT_WRITE"] = "2" }, "write", copy.Path, "--input", input.Path);
        var after = File.ReadAllBytes(copy.Path);
        Assert.True(sector0.AsSpan().SequenceEqual(after.AsSpan(0, 512)));
        Assert.NotNull(VolumeOperations.Inspect(At(copy.Path)).InterruptedWrite);
        var original = File.ReadAllBytes(c.Image("clean.img.gz"));
        Assert.True(original.AsSpan(1024).SequenceEqual(after.AsSpan(1024)), "more than the record changed before the first data write");
    }

    [Theory]
    [InlineData("term")]
    [InlineData("hup")]
    public void SigtermAndSighupDuringFormatRemoveTheCreatedFile(string signal)
    {
        using var img = new TempFile(".img");
        var (code, _, err) = Ivol(new() { ["IVOL_TEST_KILL_AT_WRITE"] = "2:" + signal }, "format", img.Path, "--size", "64M", "--batch-mode");
        // Under nohup (SIGHUP ignored, inherited by ivol) a hang-up cancels nothing: the format completes.
        if (IntegrityVolume.Core.Devices.FaultInjection.IsIgnored(signal == "hup" ? 1 : 15))
        {
            Assert.Equal(0, code);
            Assert.True(File.Exists(img.Path));
            return;
        }
        Assert.Equal(130, code);
        Assert.Contains("cancelled", err);
        Assert.False(File.Exists(img.Path), "a cancelled format left its half-made image");
    }

    [Fact]
    public void SigtermDuringWriteLeavesAReportedInterruptedWrite()
    {
        using var img = new TempFile(".img");
        VolumeOperations.Format(new FormatRequest { Volume = At(img.Path), CreateSizeBytes = 16 << 20 });
        using var input = Input(3 << 20, 14);
        var (code, _, _) = Ivol(new() { ["IVOL_TEST_KILL_AT_WRITE"] = "3:term" }, "write", img.Path, "--input", input.Path);
        Assert.Equal(130, code);
        Assert.NotNull(VolumeOperations.Inspect(At(img.Path)).InterruptedWrite);
    }

    private static (int Code, string Out, string Err) Ivol(Dictionary<string, string>? env, params string[] args) =>
        Cli.CliTests.IvolWithEnvironment(env, args);
}
