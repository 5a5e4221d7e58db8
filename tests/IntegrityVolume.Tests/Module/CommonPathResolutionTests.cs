using IntegrityVolume.Core;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

public class CommonPathResolutionTests
{
    /// <summary>A provider that resolves relative paths against /work, with a fixed set of items.</summary>
    private sealed class FakeHost : IProviderPathHost
    {
        public Dictionary<string, PathItemKind> Items { get; } = new(StringComparer.Ordinal);
        public string Provider { get; set; } = "FileSystem";
        public List<string> Globbed { get; } = new();

        public string GetUnresolvedProviderPath(string path, out string providerName)
        {
            providerName = Provider;
            if (path.StartsWith("nodrive:", StringComparison.Ordinal))
                throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, "Cannot find drive nodrive.", path);
            return path.StartsWith('/') ? path : "/work/" + path;
        }

        public IReadOnlyList<string> GetResolvedProviderPaths(string path, out string providerName)
        {
            providerName = Provider;
            Globbed.Add(path);
            var pattern = "^" + System.Text.RegularExpressions.Regex.Escape(GetUnresolvedProviderPath(path, out _))
                .Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]").Replace(@"\[", "[").Replace(@"]", "]") + "$";
            return Items.Keys.Where(k => System.Text.RegularExpressions.Regex.IsMatch(k, pattern)).OrderBy(k => k).ToArray();
        }

        public PathItemKind GetItemKind(string providerPath) => Items.GetValueOrDefault(providerPath, PathItemKind.None);
    }

    private static (PathResolver, FakeHost) Create(params (string Path, PathItemKind Kind)[] items)
    {
        var host = new FakeHost();
        foreach (var (p, k) in items) host.Items[p] = k;
        return (new PathResolver(host), host);
    }

    [Theory]
    [InlineData("disk.img", false)]
    [InlineData("/dev/sdb", false)]
    [InlineData("*.img", true)]
    [InlineData("disk?.img", true)]
    [InlineData("disk[12].img", true)]
    [InlineData("disk`[1`].img", false)]
    [InlineData("a`*b", false)]
    public void Wildcard_detection_honours_backtick_escapes(string path, bool expected) =>
        Assert.Equal(expected, PathResolver.HasWildcards(path));

    [Fact]
    public void Relative_paths_resolve_against_the_PowerShell_location()
    {
        var (r, _) = Create(("/work/disk.img", PathItemKind.File));
        Assert.Equal(new[] { "/work/disk.img" }, r.ResolveExisting("disk.img"));
    }

    [Fact]
    public void An_item_existing_under_its_literal_name_wins_over_wildcard_expansion()
    {
        var (r, host) = Create(("/work/disk[1].img", PathItemKind.File), ("/work/disk1.img", PathItemKind.File));
        Assert.Equal(new[] { "/work/disk[1].img" }, r.ResolveExisting("disk[1].img"));
        Assert.Empty(host.Globbed);
    }

    [Fact]
    public void Wildcards_expand_and_skip_directories()
    {
        var (r, _) = Create(("/work/a.img", PathItemKind.File), ("/work/b.img", PathItemKind.File), ("/work/c.img", PathItemKind.Directory), ("/work/d.raw", PathItemKind.File));
        Assert.Equal(new[] { "/work/a.img", "/work/b.img" }, r.ResolveExisting("*.img"));
    }

    [Fact]
    public void No_match_is_DeviceNotFound()
    {
        var (r, _) = Create();
        var ex = Assert.Throws<IntegrityVolumeException>(() => r.ResolveExisting("*.img"));
        Assert.Equal(ErrorIds.DeviceNotFound, ex.ErrorId);
        Assert.Equal(ErrorKind.NotFound, ex.Kind);
        ex = Assert.Throws<IntegrityVolumeException>(() => r.ResolveExisting("missing.img"));
        Assert.Equal(ErrorIds.DeviceNotFound, ex.ErrorId);
        Assert.Equal("/work/missing.img", ex.Target);
    }

    [Fact]
    public void A_directory_given_literally_is_InvalidParameter()
    {
        var (r, _) = Create(("/work/images", PathItemKind.Directory));
        var ex = Assert.Throws<IntegrityVolumeException>(() => r.ResolveExisting("images"));
        Assert.Equal(ErrorIds.InvalidParameter, ex.ErrorId);
    }

    [Fact]
    public void Other_providers_are_refused()
    {
        var (r, host) = Create();
        host.Provider = "Environment";
        foreach (Func<object> call in new Func<object>[] { () => r.ResolveExisting("Env:HOME"), () => r.ResolveLiteral("Env:HOME", "KeyFile") })
        {
            var ex = Assert.Throws<IntegrityVolumeException>(call);
            Assert.Equal(ModuleErrorIds.PathNotFileSystem, ex.ErrorId);
            Assert.Contains("Environment", ex.Message);
        }
    }

    [Fact]
    public void Host_errors_pass_through()
    {
        var (r, _) = Create();
        Assert.Equal(ErrorIds.DeviceNotFound, Assert.Throws<IntegrityVolumeException>(() => r.ResolveExisting("nodrive:x")).ErrorId);
    }

    [Fact]
    public void Single_item_parameters_refuse_ambiguous_wildcards()
    {
        var (r, _) = Create(("/work/a.img", PathItemKind.File), ("/work/b.img", PathItemKind.File));
        Assert.Equal("/work/a.img", r.ResolveSingleExisting("a*.img"));
        var ex = Assert.Throws<IntegrityVolumeException>(() => r.ResolveSingleExisting("*.img"));
        Assert.Equal(ModuleErrorIds.PathAmbiguous, ex.ErrorId);
        Assert.Contains("/work/a.img", ex.Message);
    }

    [Fact]
    public void Literal_paths_need_not_exist_and_are_not_globbed()
    {
        var (r, host) = Create();
        Assert.Equal("/work/new[1].img", r.ResolveLiteral("new[1].img", "Path"));
        Assert.Empty(host.Globbed);
        Assert.Null(r.ResolveOptionalLiteral(null, "KeyFile"));
        Assert.Null(r.ResolveOptionalLiteral("", "KeyFile"));
        Assert.Equal("/etc/k", r.ResolveOptionalLiteral("/etc/k", "KeyFile"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_paths_are_InvalidParameter(string path)
    {
        var (r, _) = Create();
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => r.ResolveExisting(path)).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => r.ResolveLiteral(path, "InputPath")).ErrorId);
    }
}
