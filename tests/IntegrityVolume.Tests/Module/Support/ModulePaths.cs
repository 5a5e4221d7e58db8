using System.Runtime.InteropServices;

namespace IntegrityVolume.Tests.Module.Support;

/// <summary>Where the module's sources and build output are, seen from the test assembly.</summary>
internal static class ModulePaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IntegrityVolume.psd1")) &&
                Directory.Exists(Path.Combine(dir.FullName, "src", "IntegrityVolume")))
                return dir.FullName;
        throw new DirectoryNotFoundException("Repository root (IntegrityVolume.psd1 + src/IntegrityVolume) not found above " + AppContext.BaseDirectory);
    }

    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string ModuleProjectDir => Path.Combine(RepoRoot, "src", "IntegrityVolume");

    /// <summary>bin/&lt;Configuration&gt;/net8.0 of src/IntegrityVolume (built first through the ProjectReference).</summary>
    public static string ModuleBinDir
    {
        get
        {
            string dir = Path.Combine(ModuleProjectDir, "bin", Configuration, "net8.0");
            if (!File.Exists(Path.Combine(dir, "IntegrityVolume.dll")))
                throw new FileNotFoundException($"IntegrityVolume.dll not found in {dir}; build src/IntegrityVolume ({Configuration}) first.");
            return dir;
        }
    }

    public static string ModuleAssembly => Path.Combine(ModuleBinDir, "IntegrityVolume.dll");

    public static string Manifest => Path.Combine(RepoRoot, "IntegrityVolume.psd1");
    public static string FormatFile => Path.Combine(RepoRoot, "IntegrityVolume.format.ps1xml");
    public static string HelpDir => Path.Combine(RepoRoot, "en-US");
    public static string Maml => Path.Combine(HelpDir, "IntegrityVolume.dll-Help.xml");
    public static string AboutTopic => Path.Combine(HelpDir, "about_IntegrityVolume.help.txt");
    public static string MarkdownDir => Path.Combine(RepoRoot, "docs", "en-US");
    public static string CommandsDir => Path.Combine(ModuleProjectDir, "Commands");
    public static string CommonDir => Path.Combine(ModuleProjectDir, "Common");
    public static string PesterDir => Path.Combine(RepoRoot, "tests");

    /// <summary>The PowerShellStandard.Library version the module project references (its csproj is the one source).</summary>
    public static string SmaStubVersion =>
        System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(ModuleProjectDir, "IntegrityVolume.csproj")),
            "Include=\"PowerShellStandard.Library\" Version=\"([^\"]+)\"").Groups[1].Value;

    /// <summary>The PowerShellStandard.Library reference assembly (compile-time stub) in the NuGet cache.</summary>
    public static string SmaStub
    {
        get
        {
            string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
                ? p
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            string path = Path.Combine(root, "powershellstandard.library", SmaStubVersion, "lib", "netstandard2.0", "System.Management.Automation.dll");
            if (!File.Exists(path))
                throw new FileNotFoundException($"PowerShellStandard.Library {SmaStubVersion} is not in the NuGet cache (restore src/IntegrityVolume).", path);
            return path;
        }
    }

    public static string RuntimeDir => RuntimeEnvironment.GetRuntimeDirectory();
}
