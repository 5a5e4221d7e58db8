using System.Runtime.InteropServices;
using Xunit;

namespace IntegrityVolume.Tests.Architecture;

/// <summary>
/// The suite runs on the runtime the product targets (net8.0): the test project is self-contained with the 8.0
/// runtime pack, although the machines have only the .NET 10 runtime. If a change ever lets it run on another
/// runtime (a roll-forward, a framework-dependent build), this fails.
/// </summary>
public class RuntimeTests
{
    [Fact]
    public void TheTestsRunOnDotNet8()
    {
        Assert.Equal(8, Environment.Version.Major);
        Assert.StartsWith(".NET 8.", RuntimeInformation.FrameworkDescription, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRuntimeIsTheOneShippedWithTheTests()
    {
        // Self-contained: CoreLib is loaded from the test's own output folder, not from a shared framework folder.
        string coreLib = typeof(object).Assembly.Location;
        Assert.Equal(Path.GetFullPath(AppContext.BaseDirectory), Path.GetFullPath(Path.GetDirectoryName(coreLib)! + Path.DirectorySeparatorChar));
    }
}
