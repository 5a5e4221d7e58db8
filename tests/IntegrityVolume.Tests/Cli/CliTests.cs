using System.Diagnostics;
using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Tests.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Cli;

/// <summary>The ivol executable end to end: arguments, JSON, exit codes, and integritysetup as a witness.</summary>
public class CliTests
{
    internal static (int Code, string Out, string Err) Ivol(params string[] args) => IvolWithEnvironment(null, args);

    /// <summary>ivol with extra environment variables (the crash tests' IVOL_TEST_KILL_AT_WRITE).</summary>
    internal static (int Code, string Out, string Err) IvolWithEnvironment(Dictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ivol.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_ROLL_FORWARD"] = "Major";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "ivol did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    internal static (int Code, string Out) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o);
    }

    [Fact]
    public void VerifyJsonListsTheKernelsFailedSectorsAndExitsOne()
    {
        var c = new FixtureCase("p01");
        var (code, stdout, _) = Ivol("verify", c.Image("corrupt.img.gz"), "--integrity", "crc32c", "--json");
        Assert.Equal(1, code);
        var j = JsonNode.Parse(stdout)!;
        Assert.False((bool)j["healthy"]!);
        Assert.Equal(32328UL, (ulong)j["blocksChecked"]!);
        var sectors = j["mismatchedSectors"]!.AsArray()
            .SelectMany(r => Enumerable.Range(0, (int)(ulong)r!["sectors"]!).Select(k => (ulong)r!["start"]! + (ulong)k)).ToArray();
        Assert.Equal(c.KernelFailedSectors, sectors);
    }

    [Fact]
    public void VerifyCleanExitsZero()
    {
        var c = new FixtureCase("p04");
        var (code, stdout, _) = Ivol("verify", c.Image("clean.img.gz"), "--integrity", "hmac-sha256", "--integrity-key-file", c.KeyFile("key.bin"), "--integrity-key-size", "32");
        Assert.Equal(0, code);
        Assert.Contains("healthy", stdout);
    }

    [Fact]
    public void DumpJsonHasEverySuperblockField()
    {
        var c = new FixtureCase("p12b");
        var (code, stdout, _) = Ivol("dump", c.Image("clean.img.gz"), "--json");
        Assert.Equal(0, code);
        var j = JsonNode.Parse(stdout)!;
        var f = c.Json["dump"]!["fields"]!;
        Assert.Equal((ulong)f["provided_data_sectors"]!, (ulong)j["providedDataSectors"]!);
        Assert.Equal((int)f["superblock_version"]!, (int)j["superblockVersion"]!);
        Assert.Equal((int)f["integrity_tag_size"]!, (int)j["integrityTagSize"]!);
        Assert.Equal((uint)f["journal_sections"]!, (uint)j["journalSections"]!);
        Assert.Equal((int)f["log2_interleave_sectors"]!, (int)j["log2InterleaveSectors"]!);
        Assert.Equal((int)f["sector_size"]!, (int)j["sectorSize"]!);
        Assert.Equal((int)f["log2_blocks_per_bitmap"]!, (int)j["log2BlocksPerBitmap"]!);
        Assert.Equal((ulong)f["recalc_sector"]!, (ulong)j["recalcSector"]!);
        Assert.Equal("clean", (string)j["journalState"]!);
    }

    /// <summary>integritysetup (cryptsetup-bin, installed by .ci/run) reads the superblocks we write and prints what we print.</summary>
    [Theory]
    [InlineData("--integrity", "crc32c")]
    [InlineData("--integrity", "sha256", "--sector-size", "4096")]
    [InlineData("--integrity", "crc32", "--integrity-legacy-padding", "--integrity-legacy-hmac")]
    [InlineData("--integrity", "xxhash64", "--journal-size", "1048576", "--interleave-sectors", "8192")]
    [InlineData("--integrity", "crc32c", "--no-wipe")]
    public void IntegritysetupDumpReadsOurSuperblock(params string[] options)
    {
        Assert.True(File.Exists("/usr/sbin/integritysetup") || File.Exists("/sbin/integritysetup"),
            "integritysetup is the independent witness of this test: apt-get install cryptsetup-bin (.ci/run does).");
        using var img = new TempFile(".img");
        var (code, _, err) = Ivol(new[] { "format", img.Path, "--size", "48M", "--batch-mode" }.Concat(options).ToArray());
        Assert.True(code == 0, err);
        var (rc, theirs) = Run("integritysetup", "dump", img.Path);
        Assert.Equal(0, rc);
        var (_, ours, _) = Ivol("dump", img.Path);
        var fields = theirs.Split('\n').Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.True(fields.Length >= 8);
        Assert.Equal(fields, ours.Split('\n').Skip(1).Take(fields.Length).ToArray());
    }

    /// <summary>
    /// integritysetup dump of a metadata device (separate data device) prints its superblock alone (case S01 of
    /// docs/integritysetup-compat.md): ivol dump without --data-device prints the same lines and says the layout needs it.
    /// </summary>
    [Fact]
    public void DumpOfAMetadataDeviceWithoutItsDataDeviceIsIntegritysetups()
    {
        Assert.True(File.Exists("/usr/sbin/integritysetup") || File.Exists("/sbin/integritysetup"),
            "integritysetup is the independent witness of this test: apt-get install cryptsetup-bin (.ci/run does).");
        using var meta = new TempFile(".img");
        using var data = new TempFile(".img");
        File.WriteAllBytes(data.Path, new byte[4 << 20]);
        var (code, _, err) = Ivol("format", meta.Path, "--size", "4M", "--data-device", data.Path, "--batch-mode");
        Assert.True(code == 0, err);
        var (rc, theirs) = Run("integritysetup", "dump", meta.Path);
        Assert.Equal(0, rc);
        (code, var ours, err) = Ivol("dump", meta.Path);
        Assert.True(code == 0, err);
        var fields = theirs.Split('\n').Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.Contains("log2_interleave_sectors 0", fields);
        Assert.Equal(fields, ours.Split('\n').Skip(1).Take(fields.Length).ToArray());
        Assert.Contains("--data-device", ours);
        // JSON needs the layout: still refused without the data device.
        (code, _, err) = Ivol("dump", meta.Path, "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.DataDeviceMismatch, (string)JsonNode.Parse(err)!["error"]!);
    }

    /// <summary>integritysetup resize's spellings (docs/integritysetup-compat.md, Z01-Z10): --device-size 0 is the whole
    /// device (an image stays as it is), --wipe is ivol's default stated, and it excludes --no-wipe.</summary>
    [Fact]
    public void ResizeTakesIntegritysetupsDeviceSizeZeroAndWipe()
    {
        using var img = new TempFile(".img");
        var (code, _, err) = Ivol("format", img.Path, "--size", "16M", "--batch-mode");
        Assert.True(code == 0, err);
        var before = File.ReadAllBytes(img.Path);
        (code, var json, err) = Ivol("resize", img.Path, "--device-size", "0", "--json");
        Assert.True(code == 0, err);
        Assert.Equal("unchanged", (string)JsonNode.Parse(json)!["action"]!);
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(img.Path)), "a resize to the whole device changed the image");
        (code, _, err) = Ivol("resize", "--name", "ivol-no-such-mapping", "--wipe", "--no-wipe", "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, (string)JsonNode.Parse(err)!["error"]!);
    }

    [Fact]
    public void FormatWithoutTerminalAsksForBatchModeAndWritesNothing()
    {
        using var img = new TempFile(".img");
        var (code, _, err) = Ivol("format", img.Path, "--size", "16M");
        Assert.Equal(2, code);
        Assert.Contains("--batch-mode", err);
        Assert.False(File.Exists(img.Path));
    }

    [Fact]
    public void FormatDryRunWritesNothing()
    {
        using var img = new TempFile(".img");
        var (code, stdout, _) = Ivol("format", img.Path, "--size", "64M", "--dry-run", "--json");
        Assert.Equal(0, code);
        Assert.Equal(129160UL, (ulong)JsonNode.Parse(stdout)!["volume"]!["providedDataSectors"]!);
        Assert.False(File.Exists(img.Path));
    }

    [Fact]
    public void KernelFormatDryRunPlansTheKernelsWipeAndWritesNothing()
    {
        using var img = new TempFile(".img");
        var (code, stdout, _) = Ivol("format", img.Path, "--size", "64M", "--kernel", "--dry-run", "--json");
        Assert.Equal(0, code);
        var plan = JsonNode.Parse(stdout)!;
        Assert.Equal("kernel-wipe", (string)plan["tagInitialization"]!);
        Assert.Equal(129160UL, (ulong)plan["volume"]!["providedDataSectors"]!);
        (code, stdout, _) = Ivol("format", img.Path, "--size", "64M", "--kernel", "--no-wipe", "--dry-run", "--json");
        Assert.Equal(0, code);
        Assert.Equal("none", (string)JsonNode.Parse(stdout)!["tagInitialization"]!);
        var (saltCode, _, err) = Ivol("format", img.Path, "--size", "64M", "--kernel", "--salt", new string('0', 32), "--dry-run", "--json");
        Assert.Equal(2, saltCode);
        Assert.Equal(ErrorIds.InvalidParameter, (string)JsonNode.Parse(err)!["error"]!);
        Assert.False(File.Exists(img.Path));
    }

    [Fact]
    public void UsageAndInputErrorsExitTwoWithStableIds()
    {
        var c = new FixtureCase("p01");
        var (code, _, err) = Ivol("verify", c.Image("clean.img.gz"), "--integrity", "md5");
        Assert.Equal(2, code);
        Assert.Contains(ErrorIds.UnknownAlgorithm, err);
        (code, _, err) = Ivol("verify", "/nonexistent/x.img", "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.DeviceNotFound, (string)JsonNode.Parse(err)!["error"]!);
        (code, _, err) = Ivol("dump", new FixtureCase("p14").Image("corrupt.img.gz"));
        Assert.Equal(2, code);
        Assert.Contains(ErrorIds.SuperblockBadMagic, err);
        (code, _, _) = Ivol("verify");
        Assert.Equal(2, code);
    }

    [Fact]
    public void WriteThenVerifyThroughTheCli()
    {
        using var img = new TempFile(".img");
        using var input = new TempFile(".bin");
        var bytes = new byte[1 << 20];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(input.Path, bytes);
        Assert.Equal(0, Ivol("format", img.Path, "--size", "32M", "--sector-size", "4096", "-q").Code);
        var (code, stdout, err) = Ivol("write", img.Path, "--input", input.Path, "--offset", "64", "--json");
        Assert.True(code == 0, err);
        Assert.Equal(2048UL, (ulong)JsonNode.Parse(stdout)!["sectorsWritten"]!);
        Assert.Equal(0, Ivol("verify", img.Path).Code);
        // Misaligned offset for 4096-byte blocks is an input error.
        Assert.Equal(2, Ivol("write", img.Path, "--input", input.Path, "--offset", "3").Code);
    }
}
