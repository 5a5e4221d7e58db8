using System.Text.RegularExpressions;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Common;
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

    /// <summary>Cmdlets that address volumes by device or image path (Close addresses active volumes by name only).</summary>
    public static TheoryData<string> CmdletsWithPath()
    {
        var data = new TheoryData<string>();
        foreach (var c in ModuleMetadata.Cmdlets.Where(c => c.DeclaredParameters.Any(p => p.Name == "Path"))) data.Add(c.Name);
        return data;
    }
    private static CmdletModel Cmdlet(string name) => ModuleMetadata.Cmdlets.Single(c => c.Name == name);

    [Fact]
    public void The_module_defines_the_expected_cmdlets()
    {
        var names = ModuleMetadata.Cmdlets.Select(c => c.Name).ToArray();
        foreach (var expected in new[] { "Get-IntegrityVolume", "New-IntegrityVolume", "Test-IntegrityVolume", "Write-IntegrityVolumeData",
                     "Open-IntegrityVolume", "Close-IntegrityVolume" })
            Assert.Contains(expected, names);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Verb_is_approved(string name)
    {
        var c = Cmdlet(name);
        Assert.True(ModuleMetadata.Facts.ApprovedVerbs.TryGetValue(c.Verb, out _), $"{c.Verb} is not an approved verb (Verbs* classes of SMA)");
        Assert.Equal(ModuleMetadata.Facts.ApprovedVerbs.Keys.First(k => k.Equals(c.Verb, StringComparison.OrdinalIgnoreCase)), c.Verb);
        // IntegrityVolume*, and IntegrityArray* for md arrays over integrity volumes (issue 16).
        Assert.True(c.Noun.StartsWith("IntegrityVolume", StringComparison.Ordinal) || c.Noun.StartsWith("IntegrityArray", StringComparison.Ordinal), c.Noun);
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
        Assert.Equal("Medium", Cmdlet("Open-IntegrityVolume").ConfirmImpact);
        Assert.Equal("Medium", Cmdlet("Close-IntegrityVolume").ConfirmImpact);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Class_is_a_public_sealed_VerbNounCommand_over_the_shared_base(string name)
    {
        var c = Cmdlet(name);
        Assert.Equal($"{c.Verb}{c.Noun}Command", c.ClassName);
        Assert.Equal($"IntegrityVolume.Commands.{c.ClassName}", c.ClassFullName);
        Assert.True(c.IsPublic && c.IsSealed, $"{c.ClassName} must be public sealed");
        // Shared parameters are declared once, in intermediate bases (issue 14 item 7; HashCmdletBase's manner).
        string expectedBase = name switch
        {
            "Close-IntegrityVolume" or "Resolve-IntegrityVolumeSector" or "Get-IntegrityArray" or "Start-IntegrityArrayScrub"
                or "Close-IntegrityArray" => "IntegrityVolumeCmdletBase",
            "Switch-IntegrityArrayLeg" => "ArrayLuksCmdletBase",
            "New-IntegrityArray" or "Open-IntegrityArray" => "ArrayLegsCmdletBase",
            "Get-IntegrityVolume" => "VolumeCmdletBase",
            "Open-IntegrityVolume" or "Test-IntegrityVolume" => "JournalCryptVolumeCmdletBase",
            "Repair-IntegrityVolume" => "KeyedVolumeCmdletBase",
            _ => "JournalKeyedVolumeCmdletBase",
        };
        Assert.Equal($"IntegrityVolume.Commands.{expectedBase}", c.BaseTypeFullName);
    }

    [Theory]
    [InlineData("public virtual string[] Path {", "VolumeCmdletBase.cs")]
    [InlineData("public string[] LiteralPath {", "VolumeCmdletBase.cs")]
    [InlineData("public string? DataDevice {", "VolumeCmdletBase.cs")]
    [InlineData("public ulong ReservedSectors {", "VolumeCmdletBase.cs")]
    [InlineData("public string? Algorithm {", "KeyedVolumeCmdletBase.cs")]
    [InlineData("public virtual string? KeyFile {", "KeyedVolumeCmdletBase.cs")]
    [InlineData("public virtual string? JournalIntegrity {", "JournalKeyedVolumeCmdletBase.cs")]
    [InlineData("public string? LuksKeyFile {", "ArrayLuksCmdletBase.cs")]
    [InlineData("public virtual string? JournalCryptKeyFile {", "JournalCryptVolumeCmdletBase.cs")]
    [InlineData("public string[]? LegName {", "ArrayLegsCmdletBase.cs")]
    [InlineData("public virtual string? JournalIntegrityKeyFile {", "JournalKeyedVolumeCmdletBase.cs")]
    public void Shared_parameters_are_declared_in_one_base_class(string declaration, string file)
    {
        var declaring = Directory.GetFiles(ModulePaths.CommandsDir, "*.cs")
            .Where(f => File.ReadAllText(f).Contains(declaration, StringComparison.Ordinal))
            .Select(Path.GetFileName);
        Assert.Equal(new[] { file }, declaring);
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
        var expected = ModuleMetadata.Cmdlets.Select(c => c.ClassName + ".cs")
            .Concat(new[] { "IntegrityVolumeCmdletBase.cs", "VolumeCmdletBase.cs", "KeyedVolumeCmdletBase.cs", "JournalKeyedVolumeCmdletBase.cs", "ArrayLegsCmdletBase.cs", "JournalCryptVolumeCmdletBase.cs", "ArrayLuksCmdletBase.cs" }).OrderBy(n => n);
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
            // Test's Name set is the one without: strings go to -Path, live objects to -InputObject.
            if (!(name == "Test-IntegrityVolume" && set == "Name"))
                Assert.True(inSet.Any(p => p.BindingFor(set).ByValue || p.BindingFor(set).ByPropertyName), $"{name}/{set}: no pipeline input");
            var positions = inSet.Select(p => p.BindingFor(set).Position).Where(x => x is not null).Select(x => x!.Value).OrderBy(x => x).ToArray();
            // -LiteralPath is named (a positional value means -Path), so its set may start at position 1.
            if (set == "LiteralPath") Assert.Equal(positions.Length, positions.Distinct().Count());
            else Assert.Equal(Enumerable.Range(0, positions.Length), positions);
            var names = inSet.SelectMany(p => p.Aliases.Prepend(p.Name)).ToArray();
            Assert.Equal(names.Length, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        }
        if (c.DefaultParameterSetName is { } dps)
            Assert.Contains(dps, c.ParameterSets);
    }

    [Theory]
    [MemberData(nameof(CmdletsWithPath))]
    public void Path_is_mandatory_first_and_binds_files_and_volume_objects(string name)
    {
        var path = Cmdlet(name).DeclaredParameters.Single(p => p.Name == "Path");
        var b = path.Sets.Single();
        Assert.Equal("Path", b.SetName);
        Assert.True(b.Mandatory);
        Assert.Equal(0, b.Position);
        Assert.True(b.ByPropertyName && b.ByValue);   // VolumeInfo by property name, plain strings by value
        Assert.Equal(new[] { "DevicePath" }, path.Aliases);
        // -LiteralPath beside it: named, FileInfo objects by PSPath (issue 13, defect 2).
        var literal = Cmdlet(name).DeclaredParameters.Single(p => p.Name == "LiteralPath");
        var lb = literal.Sets.Single();
        Assert.Equal("LiteralPath", lb.SetName);
        Assert.True(lb.Mandatory && lb.ByPropertyName && !lb.ByValue);
        Assert.Null(lb.Position);
        Assert.Equal(new[] { "PSPath", "LP", "FullName" }, literal.Aliases);
        Assert.Equal("System.String[]", path.TypeFullName);
        // Pipeline composition: properties of VolumeInfo / WriteResult that bind by name.
        var volumeProps = typeof(VolumeInfo).GetProperties().Select(p => p.Name).ToHashSet();
        Assert.Contains("Path", volumeProps);
        Assert.Contains("Path", typeof(WriteResult).GetProperties().Select(p => p.Name));
        foreach (var p in Cmdlet(name).DeclaredParameters.Where(p => p.Sets.Any(s => s.ByPropertyName) && p.Name is "DataDevice" or "ReservedSectors"))
            Assert.True(volumeProps.Contains(p.Name) || p.Aliases.Any(volumeProps.Contains), $"{name} -{p.Name} does not bind from VolumeInfo");
    }

    [Fact]
    public void Get_and_Test_keep_the_Path_set_and_add_live_sets()
    {
        foreach (var name in new[] { "Get-IntegrityVolume", "Test-IntegrityVolume" })
        {
            var c = Cmdlet(name);
            Assert.Contains("Path", c.ParameterSets);
            foreach (var device in new[] { "DataDevice", "ReservedSectors" })
                Assert.Equal(new[] { "LiteralPath", "Path" }, c.DeclaredParameters.Single(p => p.Name == device).Sets.Select(s => s.SetName).OrderBy(x => x));
            // Positional arguments always mean a path: no live set has a positional parameter.
            Assert.All(c.DeclaredParameters.Where(p => p.Sets.Any(s => s.SetName is not "Path" and not "LiteralPath")), p => Assert.All(p.Sets, s => Assert.Null(s.Position)));
        }
        // Get: no argument lists the active mappings, so its default set is one without mandatory parameters.
        var get = Cmdlet("Get-IntegrityVolume");
        Assert.Equal("Name", get.DefaultParameterSetName);
        Assert.Equal(new[] { "LiteralPath", "Name", "Path" }, get.ParameterSets.OrderBy(x => x));
        Assert.DoesNotContain(get.DeclaredParameters.Where(p => p.InSet("Name")), p => p.BindingFor("Name").Mandatory);
        // Test: the Path set stays the default; live volumes by name or as objects.
        var test = Cmdlet("Test-IntegrityVolume");
        Assert.Equal("Path", test.DefaultParameterSetName);
        Assert.Equal(new[] { "InputObject", "LiteralPath", "Name", "Path" }, test.ParameterSets.OrderBy(x => x));
        foreach (var offlineOnly in new[] { "Algorithm", "KeyFile", "JournalIntegrity", "JournalIntegrityKeyFile" })
            Assert.Equal(new[] { "LiteralPath", "Path" }, test.DeclaredParameters.Single(p => p.Name == offlineOnly).Sets.Select(s => s.SetName).OrderBy(x => x));
        foreach (var shared in new[] { "ThrottleLimit", "Quiet" })
            Assert.Equal(ParameterSetBinding.AllSets, test.DeclaredParameters.Single(p => p.Name == shared).Sets.Single().SetName);
    }

    /// <summary>
    /// PowerShell's pipeline binder tries, per object: by value without coercion, then by property name without
    /// coercion, and within each step the default set first. These shapes make each input land in the right set.
    /// </summary>
    [Fact]
    public void Pipeline_input_lands_in_the_intended_parameter_set()
    {
        var fileInfoProps = typeof(FileInfo).GetProperties().Select(p => p.Name).Append("PSPath").ToHashSet();
        var mappingProps = typeof(IntegrityMappingInfo).GetProperties().Select(p => p.Name).ToHashSet();
        Assert.Contains("Name", fileInfoProps);     // why Get's and Open's -Name must not bind by property name
        Assert.Contains("Path", mappingProps);      // why live objects must bind by value, not by property name

        // Get: files and VolumeInfo go to -Path (the default Name set takes nothing by property name); strings to -Name.
        var get = Cmdlet("Get-IntegrityVolume");
        Assert.DoesNotContain(get.DeclaredParameters.Where(p => p.InSet("Name")), p => p.BindingFor("Name").ByPropertyName);
        var getName = get.DeclaredParameters.Single(p => p.Name == "Name");
        Assert.True(getName.Sets.Single().ByValue);
        Assert.Equal("System.String[]", getName.TypeFullName);

        // Test and Close: IntegrityMappingInfo binds -InputObject by value without coercion (tried before plain
        // strings, which bind with coercion: Test's -Path, Close's -Name).
        foreach (var name in new[] { "Test-IntegrityVolume", "Close-IntegrityVolume" })
        {
            var c = Cmdlet(name);
            var input = c.DeclaredParameters.Single(p => p.Name == "InputObject");
            Assert.Equal("IntegrityVolume.Core.Kernel.IntegrityMappingInfo[]", input.TypeFullName);
            var b = input.Sets.Single();
            Assert.Equal("InputObject", b.SetName);
            Assert.True(b.Mandatory && b.ByValue && !b.ByPropertyName);
            Assert.Equal("Name", c.DeclaredParameters.Single(p => p.Name == "Name").Sets.Single().SetName);
            // One string parameter per cmdlet takes values from the pipeline.
            Assert.Equal(2, c.DeclaredParameters.Count(p => p.Sets.Any(s => s.ByValue)));
        }
        // Test's -Name does not bind by property name: a FileInfo has a Name (it binds -LiteralPath by PSPath).
        var testName = Cmdlet("Test-IntegrityVolume").DeclaredParameters.Single(p => p.Name == "Name").Sets.Single();
        Assert.True(testName.Mandatory && !testName.ByPropertyName && !testName.ByValue);
        var closeName = Cmdlet("Close-IntegrityVolume").DeclaredParameters.Single(p => p.Name == "Name").Sets.Single();
        Assert.True(closeName.Mandatory && closeName.ByPropertyName && closeName.ByValue);
        Assert.Equal("Name", Cmdlet("Close-IntegrityVolume").DefaultParameterSetName);
        Assert.Equal(0, Cmdlet("Close-IntegrityVolume").DeclaredParameters.Single(p => p.Name == "Name").Sets.Single().Position);

        // Open: the mapper name is given, never taken from a piped file's Name.
        var open = Cmdlet("Open-IntegrityVolume").DeclaredParameters.Single(p => p.Name == "Name").Sets.Single();
        Assert.True(open.Mandatory);
        Assert.Equal(1, open.Position);
        Assert.False(open.ByValue || open.ByPropertyName);
    }

    [Fact]
    public void Mapper_names_complete_from_the_active_mappings()
    {
        foreach (var name in new[] { "Get-IntegrityVolume", "Test-IntegrityVolume", "Close-IntegrityVolume" })
            Assert.Equal("IntegrityVolume.Host.MapperNameCompleter", Cmdlet(name).DeclaredParameters.Single(p => p.Name == "Name").CompleterType);
        Assert.Null(Cmdlet("Open-IntegrityVolume").DeclaredParameters.Single(p => p.Name == "Name").CompleterType);
        foreach (var name in new[] { "Algorithm", "JournalIntegrity" })
            Assert.Equal("IntegrityVolume.Host.AlgorithmCompleter", Cmdlet("Open-IntegrityVolume").DeclaredParameters.Single(p => p.Name == name).CompleterType);
    }

    [Fact]
    public void Open_mode_is_one_of_the_kernel_modes_a_user_may_ask_for()
    {
        var p = Cmdlet("Open-IntegrityVolume").DeclaredParameters.Single(x => x.Name == "Mode");
        // Core's one mode type, limited to the modes a user may open with (Inline comes from the superblock).
        Assert.Equal(IntegrityModes.Openable.Select(m => m.ToString()), p.ValidateSet);
        Assert.Equal(typeof(IntegrityMode).FullName, p.TypeFullName);
    }

    [Fact]
    public void Test_returns_results_or_booleans_and_New_returns_the_volume()
    {
        Assert.Equal(new[] { "IntegrityVolume.Core.Verification.OnlineVerifyResult", "IntegrityVolume.Core.VerifyResult", "System.Boolean" },
            Cmdlet("Test-IntegrityVolume").OutputTypes.OrderBy(x => x));
        Assert.Equal(new[] { "IntegrityVolume.Core.VolumeInfo" }, Cmdlet("New-IntegrityVolume").OutputTypes);
        Assert.Equal(new[] { "IntegrityVolume.Core.Kernel.IntegrityMappingInfo", "IntegrityVolume.Core.VolumeInfo" }, Cmdlet("Get-IntegrityVolume").OutputTypes.OrderBy(x => x));
        Assert.Equal(new[] { "IntegrityVolume.Core.WriteResult" }, Cmdlet("Write-IntegrityVolumeData").OutputTypes);
        Assert.Equal(new[] { "IntegrityVolume.Core.Kernel.IntegrityMappingInfo" }, Cmdlet("Open-IntegrityVolume").OutputTypes);
        Assert.Equal(new[] { "IntegrityVolume.Core.Kernel.IntegrityCloseResult" }, Cmdlet("Close-IntegrityVolume").OutputTypes);
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
    public void Common_sources_do_not_use_System_Management_Automation()
    {
        // The test project compiles them without SMA, so a use would not even build; this names the rule.
        foreach (var file in Directory.GetFiles(ModulePaths.CommonDir, "*.cs", SearchOption.AllDirectories))
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
            .Append("IntegrityVolume.Commands.VolumeCmdletBase")
            .Append("IntegrityVolume.Commands.KeyedVolumeCmdletBase")
            .Append("IntegrityVolume.Commands.JournalKeyedVolumeCmdletBase")
            .Append("IntegrityVolume.Commands.ArrayLegsCmdletBase")
            .Append("IntegrityVolume.Commands.JournalCryptVolumeCmdletBase")
            .Append("IntegrityVolume.Commands.ArrayLuksCmdletBase")
            .Append("IntegrityVolume.Common.Display")
            .OrderBy(n => n);
        Assert.Equal(allowed, ModuleMetadata.PublicTypeNames);
    }
}
