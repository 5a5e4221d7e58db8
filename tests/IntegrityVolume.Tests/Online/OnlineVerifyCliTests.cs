using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using IntegrityVolume.Cli.Commands;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;
using IntegrityVolume.Tests.Cli;
using Xunit;

namespace IntegrityVolume.Tests.Online;

/// <summary>ivol verify --name on the host: argument rules, the error without device-mapper, and its JSON shape.</summary>
public class OnlineVerifyCliTests
{
    [Fact]
    public void Verify_takes_a_device_or_a_name_but_not_both()
    {
        var (none, _, noneErr) = CliTests.Ivol("verify");
        Assert.Equal(2, none);
        Assert.Contains("--name", noneErr);
        var (both, _, bothErr) = CliTests.Ivol("verify", "x.img", "--name", "v");
        Assert.Equal(2, both);
        Assert.Contains("not both", bothErr);
        var (help, helpOut, _) = CliTests.Ivol("verify", "--help");
        Assert.Equal(0, help);
        Assert.Contains("--name", helpOut);
    }

    [Fact]
    public void Without_device_mapper_the_error_has_its_stable_id()
    {
        if (File.Exists("/dev/mapper/control")) return;
        var (code, stdout, stderr) = CliTests.Ivol("verify", "--name", "v", "--json");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("DeviceMapperUnavailable", (string?)JsonNode.Parse(stderr)!["error"]);
    }

    [Fact]
    public void Json_has_the_property_names_of_the_PowerShell_object_in_camelCase()
    {
        var r = new OnlineVerifyResult
        {
            Name = "v", Path = "/dev/mapper/v", DeviceNumber = "254:0", Algorithm = "crc32c", Mode = IntegrityMode.Journal, SectorSize = 512,
            ProvidedDataSectors = 8, BlocksChecked = 8, ValidBlocks = 6, MismatchedBlocks = 1, UnreadableBlocks = 1,
            MismatchedSectors = new[] { new SectorRange(3, 1) }, UnreadableSectors = new[] { new SectorRange(5, 1) },
            FailuresBefore = 2, FailuresAfter = 4, DirectIo = true, Duration = TimeSpan.FromSeconds(1), ThroughputMiBps = 1.5,
            Warnings = new[] { "w" },
        };
        string generated = JsonSerializer.Serialize(r, OnlineVerifyJsonContext.Default.OnlineVerifyResult);
        var reflection = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        Assert.Equal(JsonSerializer.Serialize(r, reflection), generated);
        var j = JsonNode.Parse(generated)!;
        Assert.False((bool)j["healthy"]!);
        Assert.Equal(2UL, (ulong)j["failuresDelta"]!);
        Assert.Equal(3UL, (ulong)j["mismatchedSectors"]![0]!["start"]!);
        Assert.Equal(5UL, (ulong)j["unreadableSectors"]![0]!["start"]!);
        foreach (var p in typeof(OnlineVerifyResult).GetProperties())   // every property is written (null ones too)
            Assert.True(j.AsObject().ContainsKey(JsonNamingPolicy.CamelCase.ConvertName(p.Name)), p.Name);
    }
}
