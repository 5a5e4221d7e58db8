using System.Text.RegularExpressions;
using System.Xml.Linq;
using IntegrityVolume.Tests.Module.Support;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>IntegrityVolume.psd1 (read as text: Test-ModuleManifest needs pwsh) against the compiled module.</summary>
public class ManifestTests
{
    private static readonly Lazy<string> Text = new(() => StripComments(File.ReadAllText(ModulePaths.Manifest)));

    private static string StripComments(string psd1) =>
        string.Join("\n", psd1.Replace("\r\n", "\n").Split('\n').Select(l => Regex.Replace(l, @"^\s*#.*$", "")));

    /// <summary>A scalar 'string' value of the manifest (first occurrence of the key).</summary>
    public static string ManifestValue(string key)
    {
        var m = Regex.Match(Text.Value, $@"(?m)^\s*{Regex.Escape(key)}\s*=\s*'(?<v>[^']*)'");
        Assert.True(m.Success, $"manifest key {key} not found");
        return m.Groups["v"].Value;
    }

    /// <summary>The quoted strings of an @(...) array value.</summary>
    public static string[] ManifestArray(string key)
    {
        var m = Regex.Match(Text.Value, $@"(?ms)^\s*{Regex.Escape(key)}\s*=\s*@\((?<v>[^)]*)\)");
        Assert.True(m.Success, $"manifest array {key} not found");
        return Regex.Matches(m.Groups["v"].Value, "'(?<s>[^']*)'").Select(x => x.Groups["s"].Value).ToArray();
    }

    [Fact]
    public void CmdletsToExport_equals_the_public_cmdlet_classes()
    {
        var exported = ManifestArray("CmdletsToExport").OrderBy(n => n).ToArray();
        var compiled = ModuleMetadata.Cmdlets.Where(c => c.IsPublic && !c.IsAbstract).Select(c => c.Name).OrderBy(n => n).ToArray();
        Assert.Equal(compiled, exported);
    }

    [Fact]
    public void Export_lists_are_explicit()
    {
        foreach (var key in new[] { "CmdletsToExport", "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
            Assert.DoesNotContain(ManifestArray(key), v => v.Contains('*') || v.Contains('?'));
        Assert.Empty(ManifestArray("FunctionsToExport"));
        Assert.Empty(ManifestArray("VariablesToExport"));
        Assert.Empty(ManifestArray("AliasesToExport"));
    }

    [Fact]
    public void Identity_and_compatibility_fields()
    {
        Assert.Equal("IntegrityVolume.dll", ManifestValue("RootModule"));
        Assert.Equal(Path.GetFileName(ModulePaths.ModuleAssembly), ManifestValue("RootModule"));
        Assert.True(Guid.TryParse(ManifestValue("GUID"), out var guid) && guid != Guid.Empty);
        // 7.4.2: the first pwsh that ships Microsoft.Extensions.ObjectPool 8.0.x, which Core references (pooled verify buffers).
        Assert.Equal("7.4.2", ManifestValue("PowerShellVersion"));
        Assert.Equal(new[] { "Core" }, ManifestArray("CompatiblePSEditions"));
        Assert.False(string.IsNullOrWhiteSpace(ManifestValue("Description")));
        Assert.False(string.IsNullOrWhiteSpace(ManifestValue("Author")));
    }

    [Fact]
    public void ModuleVersion_equals_the_assembly_version_from_Directory_Build_props()
    {
        var props = XDocument.Load(Path.Combine(ModulePaths.RepoRoot, "Directory.Build.props"));
        string version = props.Descendants("Version").First().Value;
        Assert.Equal(version, ManifestValue("ModuleVersion"));
        Assert.Equal(version, System.Diagnostics.FileVersionInfo.GetVersionInfo(ModulePaths.ModuleAssembly).ProductVersion?.Split('+')[0]);
    }

    [Fact]
    public void Formats_listed_exist_and_tags_cover_the_gallery_conventions()
    {
        foreach (var f in ManifestArray("FormatsToProcess"))
            Assert.True(File.Exists(Path.Combine(ModulePaths.RepoRoot, f)), f);
        Assert.Equal(new[] { "IntegrityVolume.format.ps1xml" }, ManifestArray("FormatsToProcess"));
        var tags = ManifestArray("Tags");
        foreach (var t in new[] { "dm-integrity", "storage", "Linux", "PSEdition_Core" })
            Assert.Contains(t, tags);
        Assert.DoesNotContain(tags, t => t.Contains(' '));   // the gallery rejects tags with spaces
        Assert.EndsWith("README.md", ManifestValue("ProjectUri"));
        Assert.EndsWith("LICENSE", ManifestValue("LicenseUri"));
        Assert.Matches(@"(?s)ReleaseNotes\s*=\s*@'\n.*0\.1\.0", Text.Value);
    }

    [Fact]
    public void Open_and_Close_are_exported_only_when_their_classes_exist()
    {
        var exported = ManifestArray("CmdletsToExport");
        foreach (var name in new[] { "Open-IntegrityVolume", "Close-IntegrityVolume" })
        {
            bool exists = ModuleMetadata.Cmdlets.Any(c => c.Name == name);
            Assert.Equal(exists, exported.Contains(name));
        }
    }
}
