using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Tests.Cli;
using Xunit;

namespace IntegrityVolume.Tests.Online;

/// <summary>
/// ivol repair --name / VolumeOperations.RepairActive on the host (no device-mapper here): the argument rules, the
/// checks made before any device is touched, and the stable ids. The repair through the kernel itself is kernel
/// scenario 13 (tests/kernel/scenarios/13-repair.sh).
/// </summary>
public class OnlineRepairTests
{
    private static string Id(OnlineRepairRequest r) => Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.RepairActive(r)).ErrorId;

    [Fact]
    public void Repair_takes_a_device_or_a_name_but_not_both()
    {
        var (none, _, noneErr) = CliTests.Ivol("repair", "--zero-lost");
        Assert.Equal(2, none);
        Assert.Contains("--name", noneErr);
        var (both, _, bothErr) = CliTests.Ivol("repair", "x.img", "--name", "v", "--zero-lost");
        Assert.Equal(2, both);
        Assert.Contains("not both", bothErr);
        var (help, helpOut, _) = CliTests.Ivol("repair", "--help");
        Assert.Equal(0, help);
        Assert.Contains("--name", helpOut);
    }

    [Theory]
    [InlineData("--reserved-sectors", "8")]
    [InlineData("--data-device", "/dev/null")]
    [InlineData("--integrity", "sha256")]
    [InlineData("--wait", null)]
    public void Options_of_a_closed_volume_are_refused_with_a_name(string option, string? value)
    {
        var args = new List<string> { "repair", "--name", "v", "--zero-lost", option };
        if (value is not null) args.Add(value);
        var (code, stdout, stderr) = CliTests.Ivol(args.ToArray());
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"{option} is for a closed volume", stderr);
    }

    [Fact]
    public void The_mode_rules_are_the_offline_ones_and_are_checked_before_any_device()
    {
        var leg = new RepairSource { Path = "/nonexistent/leg.img" };
        Assert.Equal(ErrorIds.InvalidParameter, Id(new OnlineRepairRequest { Name = "v" }));                                        // nothing to do
        Assert.Equal(ErrorIds.InvalidParameter, Id(new OnlineRepairRequest { Name = "v", Retag = true }));                          // re-tag needs sectors
        Assert.Equal(ErrorIds.InvalidParameter, Id(new OnlineRepairRequest { Name = "v", Retag = true, Source = leg, Sectors = [new SectorRange(0, 1)] }));
        Assert.Equal(ErrorIds.InvalidParameter, Id(new OnlineRepairRequest { Name = "v", ZeroLost = true, TrustCopy = true }));     // trust needs a copy
        Assert.Equal(ErrorIds.InvalidParameter, Id(new OnlineRepairRequest { Name = "v", ZeroLost = true, Threads = -1 }));
        Assert.Equal(ErrorIds.InvalidMapperName, Id(new OnlineRepairRequest { Name = "a/b", ZeroLost = true }));
    }

    [Fact]
    public void Without_device_mapper_the_error_has_its_stable_id_and_a_dry_run_too()
    {
        if (Directory.Exists("/sys/module/dm_mod")) return;   // device-mapper works here (a bare /dev/mapper/control node does not count)
        foreach (var extra in new[] { "--zero-lost", "--dry-run" })
        {
            var (code, stdout, stderr) = CliTests.Ivol("repair", "--name", "v", "--zero-lost", extra, "--json");
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal("DeviceMapperUnavailable", (string?)JsonNode.Parse(stderr)!["error"]);
        }
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, Id(new OnlineRepairRequest { Name = "v", ZeroLost = true, DryRun = true }));
    }
}
