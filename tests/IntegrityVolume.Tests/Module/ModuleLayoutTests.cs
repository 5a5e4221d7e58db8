using System.Reflection;
using IntegrityVolume.Tests.Module.Support;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>What ships: the build output of src/IntegrityVolume and the packaging rules of build.ps1.</summary>
public class ModuleLayoutTests
{
    [Fact]
    public void System_Management_Automation_is_not_in_the_build_output()
    {
        // A copied stub would shadow pwsh's engine (every call on it returns null).
        Assert.False(File.Exists(Path.Combine(ModulePaths.ModuleBinDir, "System.Management.Automation.dll")),
            "System.Management.Automation.dll is in " + ModulePaths.ModuleBinDir + " (PowerShellStandard.Library needs ExcludeAssets=\"runtime\")");
        Assert.DoesNotContain("\"System.Management.Automation", File.ReadAllText(Path.Combine(ModulePaths.ModuleBinDir, "IntegrityVolume.deps.json")));
    }

    [Fact]
    public void The_module_references_SMA_only_as_PowerShellStandard_3_0()
    {
        var sma = ModuleMetadata.AssemblyReferences.Where(r => r.StartsWith("System.Management.Automation,", StringComparison.Ordinal)).ToArray();
        Assert.Equal(new[] { "System.Management.Automation, 3.0.0.0" }, sma);
    }

    [Fact]
    public void The_SMA_stub_is_the_stable_PowerShellStandard_Library_5_1_1()
    {
        // Issue 13: the stable 5.1.1 replaced 5.1.0-preview-06 (same reference surface, no preview dependency).
        Assert.Equal("5.1.1", ModulePaths.SmaStubVersion);
        Assert.True(File.Exists(ModulePaths.SmaStub), ModulePaths.SmaStub);
    }

    [Fact]
    public void Every_module_source_folder_is_its_namespace()
    {
        // Issue 14 item 9: folders match namespaces (Commands, Common, Host under the root namespace IntegrityVolume);
        // no folder is called Engine (that word means IntegrityVolume.Core).
        foreach (var file in Directory.GetFiles(ModulePaths.ModuleProjectDir, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")))
        {
            string folder = Path.GetRelativePath(ModulePaths.ModuleProjectDir, Path.GetDirectoryName(file)!).Replace(Path.DirectorySeparatorChar, '.');
            string expected = folder == "." ? "IntegrityVolume" : "IntegrityVolume." + folder;
            Assert.Contains($"namespace {expected};", File.ReadAllText(file), StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(Path.Combine(ModulePaths.ModuleProjectDir, "Engine")));
    }

    [Fact]
    public void Microsoft_Extensions_ObjectPool_if_ever_used_is_referenced_at_8_0_and_not_shipped()
    {
        // pwsh ships its own copy in $PSHOME (7.4.2+: 8.0.x, 7.6: 10.0.x); see about_IntegrityVolume, DEPENDENCIES.
        foreach (var dll in Directory.GetFiles(ModulePaths.ModuleBinDir, "IntegrityVolume*.dll"))
        {
            foreach (var r in ReadReferences(dll).Where(r => r.Name == "Microsoft.Extensions.ObjectPool"))
                Assert.Equal(8, r.Version!.Major);
        }
        string build = File.ReadAllText(Path.Combine(ModulePaths.RepoRoot, "build.ps1"));
        Assert.Contains("Microsoft.Extensions.ObjectPool.dll", build, StringComparison.Ordinal);
        Assert.Contains("System.Management.Automation.dll", build, StringComparison.Ordinal);
    }

    private static AssemblyName[] ReadReferences(string dll)
    {
        using var mlc = ModuleMetadata.CreateContext();
        return mlc.LoadFromAssemblyPath(dll).GetReferencedAssemblies();
    }

    [Fact]
    public void Build_script_defines_the_documented_tasks_and_layout()
    {
        string build = File.ReadAllText(Path.Combine(ModulePaths.RepoRoot, "build.ps1"));
        foreach (var task in new[] { "Build", "Test", "Package", "Docs" })
            Assert.Contains($"'{task}'", build, StringComparison.Ordinal);
        Assert.Contains("New-ExternalHelp", build, StringComparison.Ordinal);
        Assert.Contains("Invoke-Pester", build, StringComparison.Ordinal);
        Assert.Contains(".format.ps1xml", build, StringComparison.Ordinal);
        Assert.Contains("en-US", build, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_cmdlet_has_a_Pester_file_and_root_tests_are_tagged()
    {
        foreach (var c in ModuleMetadata.Cmdlets)
        {
            string file = Path.Combine(ModulePaths.PesterDir, c.Name + ".Tests.ps1");
            Assert.True(File.Exists(file), file);
            string text = File.ReadAllText(file);
            Assert.Contains(". $PSScriptRoot/common.ps1", text, StringComparison.Ordinal);
            Assert.Contains("Describe", text, StringComparison.Ordinal);
        }
        Assert.True(File.Exists(Path.Combine(ModulePaths.PesterDir, "common.ps1")));
        // Tests needing root / device-mapper / loop devices are tagged Acceptance (excluded by default).
        foreach (var file in Directory.GetFiles(ModulePaths.PesterDir, "*.Tests.ps1"))
            foreach (var line in File.ReadAllLines(file).Where(l => l.Contains("losetup") || l.Contains("integritysetup open") || l.Contains("dmsetup")))
                Assert.Contains("Acceptance", File.ReadAllText(file), StringComparison.Ordinal);
    }
}
