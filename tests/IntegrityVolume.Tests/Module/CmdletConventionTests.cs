using System.Text.RegularExpressions;
using IntegrityVolume.Core;
using IntegrityVolume.Engine;
using IntegrityVolume.Tests.Module.Support;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>PowerShell cmdlet guidelines checked on the compiled IntegrityVolume.dll (MetadataLoadContext).</summary>
public class CmdletConventionTests
{
    /// <summary>Verbs that change state: such cmdlets must support -WhatIf/-Confirm.</summary>
    private static readonly string[] StateChangingVerbs =
    {
        "New", "Set", "Remove", "Clear", "Add", "Write", "Import", "Open", "Close", "Repair", "Resize", "Initialize",
        "Reset", "Update", "Start", "Stop", "Restart", "Install", "Uninstall", "Mount", "Dismount", "Enable", "Disable",
        "Move", "Rename", "Copy", "Restore", "Unregister", "Register", "Format", "Convert", "Lock", "Unlock", "Suspend", "Resume",
    };

    private static readonly string[] ReservedParameterNames =
    {
        "Confirm", "Debug", "ErrorAction", "ErrorVariable", "OutBuffer", "OutVariable", "WarningAction", "WarningVariable",
        "WhatIf", "UseTransaction", "Verbose", "InformationAction", "InformationVariable", "PipelineVariable", "ProgressAction",
    };

    public static TheoryData<string> CmdletNames() => HelpTests.CmdletNames();
    private static CmdletModel Cmdlet(string name) => ModuleMetadata.Cmdlets.Single(c => c.Name == name);

    [Fact]
    public void The_module_defines_the_expected_cmdlets()
    {
        var names = ModuleMetadata.Cmdlets.Select(c => c.Name).ToArray();
        foreach (var expected in new[] { "Get-IntegrityVolume", "New-IntegrityVolume", "Test-IntegrityVolume", "Write-IntegrityVolumeData" })
            Assert.Contains(expected, names);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Verb_is_approved(string name)
    {
        var c = Cmdlet(name);
        Assert.True(ModuleMetadata.Facts.ApprovedVerbs.TryGetValue(c.Verb, out _), $"{c.Verb} is not an approved verb (Verbs* classes of SMA)");
        Assert.Equal(ModuleMetadata.Facts.ApprovedVerbs.Keys.First(k => k.Equals(c.Verb, StringComparison.OrdinalIgnoreCase)), c.Verb);
        Assert.StartsWith("IntegrityVolume", c.Noun, StringComparison.Ordinal);
        Assert.False(c.Noun.EndsWith('s'), "nouns are singular");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_cmdlet_declares_OutputType(string name)
    {
        var c = Cmdlet(name);
        Assert.NotEmpty(c.OutputTypes);
        Assert.All(c.OutputTypes, t => Assert.False(string.IsNullOrEmpty(t)));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void State_changing_cmdlets_support_ShouldProcess(string name)
    {
        var c = Cmdlet(name);
        if (StateChangingVerbs.Contains(c.Verb))
            Assert.True(c.SupportsShouldProcess, $"{name} changes state but has no SupportsShouldProcess");
        if (c.Verb is "Get" or "Test")
            Assert.False(c.SupportsShouldProcess, $"{name} is read-only; -WhatIf would be misleading");
    }

    [Fact]
    public void Formatting_a_volume_has_high_confirm_impact()
    {
        Assert.Equal("High", Cmdlet("New-IntegrityVolume").ConfirmImpact);
        Assert.Equal("Medium", Cmdlet("Write-IntegrityVolumeData").ConfirmImpact);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Class_is_a_public_sealed_VerbNounCommand_over_the_shared_base(string name)
    {
        var c = Cmdlet(name);
        Assert.Equal($"{c.Verb}{c.Noun}Command", c.ClassName);
        Assert.Equal($"IntegrityVolume.Commands.{c.ClassName}", c.ClassFullName);
        Assert.True(c.IsPublic && c.IsSealed, $"{c.ClassName} must be public sealed");
        Assert.Equal("IntegrityVolume.Commands.IntegrityVolumeCmdletBase", c.BaseTypeFullName);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void One_cmdlet_per_file_named_after_the_class(string name)
    {
        var c = Cmdlet(name);
        string file = Path.Combine(ModulePaths.CommandsDir, c.ClassName + ".cs");
        Assert.True(File.Exists(file), file);
        Assert.Single(Regex.Matches(File.ReadAllText(file), @"\[Cmdlet\("));
    }

    [Fact]
    public void Commands_folder_holds_only_cmdlets_and_their_base()
    {
        var expected = ModuleMetadata.Cmdlets.Select(c => c.ClassName + ".cs").Append("IntegrityVolumeCmdletBase.cs").OrderBy(n => n);
        Assert.Equal(expected, Directory.GetFiles(ModulePaths.CommandsDir, "*.cs").Select(Path.GetFileName).OrderBy(n => n));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Parameters_follow_the_binding_guidelines(string name)
    {
        var c = Cmdlet(name);
        foreach (var p in c.DeclaredParameters)
        {
            Assert.DoesNotContain(p.Name, ReservedParameterNames);
            Assert.NotEqual("System.Boolean", p.TypeFullName);   // switches, not bool parameters
            Assert.All(p.Aliases, a => Assert.DoesNotContain(a, ReservedParameterNames));
        }
        foreach (string set in c.ParameterSets)
        {
            var inSet = c.DeclaredParameters.Where(p => p.InSet(set)).ToArray();
            Assert.True(inSet.Count(p => p.BindingFor(set).ByValue) <= 1, $"{name}/{set}: more than one ValueFromPipeline parameter");
            Assert.True(inSet.Any(p => p.BindingFor(set).ByValue || p.BindingFor(set).ByPropertyName), $"{name}/{set}: no pipeline input");
            var positions = inSet.Select(p => p.BindingFor(set).Position).Where(x => x is not null).Select(x => x!.Value).OrderBy(x => x).ToArray();
            Assert.Equal(Enumerable.Range(0, positions.Length), positions);
            var names = inSet.SelectMany(p => p.Aliases.Prepend(p.Name)).ToArray();
            Assert.Equal(names.Length, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        }
        if (c.DefaultParameterSetName is { } dps)
            Assert.Contains(dps, c.ParameterSets);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Path_is_mandatory_first_and_binds_files_and_volume_objects(string name)
    {
        var path = Cmdlet(name).DeclaredParameters.Single(p => p.Name == "Path");
        var b = path.Sets.Single();
        Assert.True(b.Mandatory);
        Assert.Equal(0, b.Position);
        Assert.True(b.ByPropertyName);
        Assert.Equal(new[] { "PSPath", "FullName", "DevicePath" }, path.Aliases);
        // Pipeline composition: properties of VolumeInfo / WriteResult that bind by name.
        var volumeProps = typeof(VolumeInfo).GetProperties().Select(p => p.Name).ToHashSet();
        Assert.Contains("Path", volumeProps);
        Assert.Contains("Path", typeof(WriteResult).GetProperties().Select(p => p.Name));
        foreach (var p in Cmdlet(name).DeclaredParameters.Where(p => p.Sets.Any(s => s.ByPropertyName) && p.Name is "DataDevice" or "ReservedSectors"))
            Assert.True(volumeProps.Contains(p.Name) || p.Aliases.Any(volumeProps.Contains), $"{name} -{p.Name} does not bind from VolumeInfo");
    }

    [Fact]
    public void Get_and_Test_use_a_named_Path_set_so_a_live_Name_set_can_be_added()
    {
        foreach (var name in new[] { "Get-IntegrityVolume", "Test-IntegrityVolume" })
        {
            var c = Cmdlet(name);
            Assert.Equal("Path", c.DefaultParameterSetName);
            Assert.Equal(new[] { "Path" }, c.ParameterSets);
            foreach (var device in new[] { "Path", "DataDevice", "ReservedSectors" })
                Assert.Equal("Path", c.DeclaredParameters.Single(p => p.Name == device).Sets.Single().SetName);
        }
    }

    [Fact]
    public void Test_returns_results_or_booleans_and_New_returns_the_volume()
    {
        Assert.Equal(new[] { "IntegrityVolume.Core.VerifyResult", "System.Boolean" }, Cmdlet("Test-IntegrityVolume").OutputTypes.OrderBy(x => x));
        Assert.Equal(new[] { "IntegrityVolume.Core.VolumeInfo" }, Cmdlet("New-IntegrityVolume").OutputTypes);
        Assert.Equal(new[] { "IntegrityVolume.Core.VolumeInfo" }, Cmdlet("Get-IntegrityVolume").OutputTypes);
        Assert.Equal(new[] { "IntegrityVolume.Core.WriteResult" }, Cmdlet("Write-IntegrityVolumeData").OutputTypes);
    }

    [Fact]
    public void Sector_size_is_validated_against_the_kernel_block_sizes()
    {
        var p = Cmdlet("New-IntegrityVolume").DeclaredParameters.Single(x => x.Name == "SectorSize");
        Assert.Equal(new[] { "512", "1024", "2048", "4096" }, p.ValidateSet);
    }

    [Fact]
    public void The_module_never_touches_the_console()
    {
        var parents = ModuleMetadata.ReferencedMemberParents();
        Assert.DoesNotContain("System.Console", parents);
        foreach (var file in Directory.GetFiles(ModulePaths.ModuleProjectDir, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            string text = File.ReadAllText(file);
            Assert.DoesNotContain("Console.", text, StringComparison.Ordinal);
            Assert.DoesNotContain("WriteHost", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Host.UI", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Engine_sources_do_not_use_System_Management_Automation()
    {
        // The test project compiles them without SMA, so a use would not even build; this names the rule.
        foreach (var file in Directory.GetFiles(ModulePaths.EngineDir, "*.cs", SearchOption.AllDirectories))
        {
            var code = File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal));
            Assert.DoesNotContain(code, l => l.Contains("System.Management.Automation", StringComparison.Ordinal) || l.Contains("PSCmdlet", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Error_category_mirror_matches_the_real_ErrorCategory()
    {
        var real = ModuleMetadata.Facts.ErrorCategories;
        foreach (var value in Enum.GetValues<ErrorCategoryName>())
        {
            Assert.True(real.TryGetValue(value.ToString(), out int v), $"ErrorCategory has no member {value}");
            Assert.Equal(v, (int)value);
        }
    }

    [Fact]
    public void Only_the_display_helper_and_the_cmdlets_are_public()
    {
        var allowed = ModuleMetadata.Cmdlets.Select(c => c.ClassFullName)
            .Append("IntegrityVolume.Commands.IntegrityVolumeCmdletBase")
            .Append("IntegrityVolume.Engine.Display")
            .OrderBy(n => n);
        Assert.Equal(allowed, ModuleMetadata.PublicTypeNames);
    }
}
