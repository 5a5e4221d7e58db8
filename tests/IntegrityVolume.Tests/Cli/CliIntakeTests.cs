using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Cli;

/// <summary>
/// ivol does intake only; Core's requests validate. Options that were dropped silently (a journal key without
/// --journal-integrity, --threads -1, a watermark over 100 reaching the kernel) now fail with a stable id.
/// </summary>
public class CliIntakeTests
{
    private static string ErrorId(string stderr) => (string)JsonNode.Parse(stderr)!["error"]!;

    [Fact]
    public void VerifyRefusesAJournalKeyWithoutTheJournalAlgorithm()
    {
        var c = new FixtureCase("p13");
        var (code, _, err) = CliTests.Ivol("verify", c.Image("clean.img.gz"), "--journal-integrity-key-file", c.KeyFile("journal-key.bin"), "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, ErrorId(err));
        Assert.Contains("--journal-integrity", err);
    }

    [Fact]
    public void FormatRefusesAJournalKeyWithoutTheJournalAlgorithmAndCreatesNothing()
    {
        var c = new FixtureCase("p13");
        using var img = new TempFile(".img");
        var (code, _, err) = CliTests.Ivol("format", img.Path, "--size", "16M", "--batch-mode", "--journal-integrity-key-file", c.KeyFile("journal-key.bin"), "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, ErrorId(err));
        Assert.False(File.Exists(img.Path));
    }

    [Fact]
    public void OpenRefusesAJournalKeyWithoutTheJournalAlgorithmAndAWatermarkOver100BeforeTheKernel()
    {
        var c = new FixtureCase("p13");
        var (code, _, err) = CliTests.Ivol("open", c.Image("clean.img.gz"), "ivol-intake", "--journal-integrity-key-file", c.KeyFile("journal-key.bin"), "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, ErrorId(err));
        (code, _, err) = CliTests.Ivol("open", c.Image("clean.img.gz"), "ivol-intake", "--journal-watermark", "101", "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, ErrorId(err));
    }

    [Fact]
    public void VerifyRefusesANegativeThreadCount()
    {
        var (code, _, err) = CliTests.Ivol("verify", new FixtureCase("p01").Image("clean.img.gz"), "--threads", "-1", "--json");
        Assert.Equal(2, code);
        Assert.Equal(ErrorIds.InvalidParameter, ErrorId(err));
    }

    [Fact]
    public void HelpListsTheRegistrysNamesAndEachOptionOnce()
    {
        foreach (var command in new[] { "format", "verify", "write", "open" })
        {
            var (code, stdout, _) = CliTests.Ivol(command, "--help");
            Assert.Equal(0, code);
            foreach (var name in TagAlgorithm.Names) Assert.Contains(name, stdout);
            foreach (var option in new[] { "--integrity-key-file", "--integrity-key-size", "--data-device", "--reserved-sectors" })
                Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
            if (command != "write")
                foreach (var option in new[] { "--journal-integrity", "--journal-integrity-key-file", "--journal-integrity-key-size" })
                    Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
        }
    }
}
