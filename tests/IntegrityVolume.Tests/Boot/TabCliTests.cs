using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Tests.Cli;
using Xunit;

namespace IntegrityVolume.Tests.Boot;

/// <summary>ivol tab end to end: JSON the Ansible role relies on, idempotence, exit codes, stable error ids.</summary>
public class TabCliTests
{
    [Fact]
    public void AddIsIdempotentAndListShowsTheEntry()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab");
        File.WriteAllText(tab, "# boot volumes\nhome PARTUUID=4973d0b8 - allow-discards\n");

        var (code, stdout, err) = CliTests.Ivol("tab", "add", "data", "/dev/disk/by-partlabel/data", "--allow-discards", "--mode", "bitmap", "--file", tab, "--json");
        Assert.True(code == 0, err);
        var j = JsonNode.Parse(stdout)!;
        Assert.True((bool)j["changed"]!);
        Assert.Equal("added", (string)j["action"]!);
        Assert.Equal("data /dev/disk/by-partlabel/data - mode=bitmap,allow-discards", (string)j["line"]!);

        (code, stdout, err) = CliTests.Ivol("tab", "add", "data", "/dev/disk/by-partlabel/data", "--mode", "bitmap", "--allow-discards", "--file", tab, "--json");
        Assert.True(code == 0, err);
        Assert.False((bool)JsonNode.Parse(stdout)!["changed"]!);
        (code, stdout, _) = CliTests.Ivol("tab", "add", "data", "/dev/disk/by-partlabel/data", "--mode", "bitmap", "--allow-discards", "--file", tab);
        Assert.Equal(0, code);
        Assert.Contains("unchanged", stdout);
        Assert.Equal("# boot volumes\nhome PARTUUID=4973d0b8 - allow-discards\ndata /dev/disk/by-partlabel/data - mode=bitmap,allow-discards\n", File.ReadAllText(tab));

        (code, stdout, _) = CliTests.Ivol("tab", "list", "--file", tab, "--json");
        Assert.Equal(0, code);
        var entries = JsonNode.Parse(stdout)!["entries"]!.AsArray();
        Assert.Equal(new[] { "home", "data" }, entries.Select(e => (string)e!["name"]!));
        Assert.Equal("bitmap", (string)entries[1]!["mode"]!);
        Assert.Equal("crc32c", (string)entries[1]!["algorithm"]!);
        Assert.True((bool)entries[1]!["allowDiscards"]!);
        Assert.Equal(3, (int)entries[1]!["line"]!);
    }

    [Fact]
    public void RemoveThenRemoveAgainIsUnchanged()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab");
        File.WriteAllText(tab, "a /dev/sda\nb /dev/sdb\n");
        var (code, stdout, _) = CliTests.Ivol("tab", "remove", "a", "--file", tab, "--json");
        Assert.Equal(0, code);
        Assert.True((bool)JsonNode.Parse(stdout)!["changed"]!);
        (code, stdout, _) = CliTests.Ivol("tab", "remove", "a", "--file", tab, "--json");
        Assert.Equal(0, code);
        Assert.False((bool)JsonNode.Parse(stdout)!["changed"]!);
        Assert.Equal("b /dev/sdb\n", File.ReadAllText(tab));
    }

    [Fact]
    public void DryRunWritesNothingAndRelativePathsBecomeAbsolute()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab");
        var (code, stdout, err) = CliTests.Ivol("tab", "add", "v", "relative/disk.img", "--file", tab, "--dry-run", "--json");
        Assert.True(code == 0, err);
        var j = JsonNode.Parse(stdout)!;
        Assert.True((bool)j["changed"]!);
        Assert.True((bool)j["dryRun"]!);
        Assert.StartsWith("v /", (string)j["line"]!);
        Assert.False(File.Exists(tab));
    }

    [Fact]
    public void BadInputExitsTwoWithTheStableId()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab");
        var (code, _, err) = CliTests.Ivol("tab", "add", "bad/name", "/dev/sda", "--file", tab, "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.IntegrityTabInvalidName, (string)JsonNode.Parse(err)!["error"]!);
        (code, _, err) = CliTests.Ivol("tab", "add", "v", "/dev/sda", "--integrity", "hmac-sha256", "--file", tab, "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.IntegrityTabKeyMismatch, (string)JsonNode.Parse(err)!["error"]!);
        (code, _, _) = CliTests.Ivol("tab", "add", "v", "/dev/sda", "--mode", "turbo", "--file", tab);
        Assert.Equal(2, code);
        Assert.False(File.Exists(tab));
    }

    [Fact]
    public void CheckReportsErrorsWithLineNumbersAndExitsTwo()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab");
        File.WriteAllText(tab, "# ok\na /dev/sda\nlonely\na /dev/sdb - mode=fast,x-unknown\n");
        var (code, stdout, _) = CliTests.Ivol("tab", "check", "--file", tab, "--json");
        Assert.Equal(2, code);
        var j = JsonNode.Parse(stdout)!;
        Assert.False((bool)j["valid"]!);
        var problems = j["problems"]!.AsArray().Select(p => ((int)p!["lineNumber"]!, (string)p!["errorId"]!, (string)p!["severity"]!)).ToArray();
        Assert.Contains((3, ErrorIds.IntegrityTabTooFewFields, "error"), problems);
        Assert.Contains((4, ErrorIds.IntegrityTabInvalidOption, "error"), problems);
        Assert.Contains((4, ErrorIds.IntegrityTabUnknownOption, "warning"), problems);
        Assert.Contains((4, ErrorIds.IntegrityTabDuplicateName, "error"), problems);

        File.WriteAllText(tab, "a /dev/sda - x-unknown\n");
        (code, _, _) = CliTests.Ivol("tab", "check", "--file", tab);
        Assert.Equal(0, code); // warnings only
    }

    [Fact]
    public void KeyFileImpliesHmacSha256AndOversizedKeysAreRefused()
    {
        using var dir = new TempDir();
        string tab = dir.File("integritytab"), key = dir.File("k.bin"), big = dir.File("big.bin");
        File.WriteAllBytes(key, new byte[32]);
        File.WriteAllBytes(big, new byte[4097]);
        var (code, stdout, err) = CliTests.Ivol("tab", "add", "v", "UUID=1234", "--integrity-key-file", key, "--file", tab, "--json");
        Assert.True(code == 0, err);
        Assert.Equal($"v UUID=1234 {key}", (string)JsonNode.Parse(stdout)!["line"]!);
        (code, stdout, _) = CliTests.Ivol("tab", "list", "--file", tab, "--json");
        Assert.Equal("hmac-sha256", (string)JsonNode.Parse(stdout)!["entries"]![0]!["algorithm"]!);
        (code, _, err) = CliTests.Ivol("tab", "add", "w", "UUID=1234", "--integrity-key-file", big, "--file", tab, "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.IntegrityTabInvalidKeyFile, (string)JsonNode.Parse(err)!["error"]!);
    }
}
