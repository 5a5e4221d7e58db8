using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>
/// Open-/Close-/Get-IntegrityVolume -Name and Test-IntegrityVolume -Name without PowerShell and without
/// device-mapper: parameter → kernel-layer request, the -WhatIf checks on real images, name lookup and completion
/// over injected List/Status, and the error categories of the kernel layer's ids.
/// </summary>
public sealed class CommonMappingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-map-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string P(string name) => Path.Combine(_dir, name);

    private string Volume(string name, IntegrityAlgorithmSpec? integrity = null)
    {
        var request = new FormatRequest { Volume = new VolumeLocation { Path = P(name) }, CreateSizeBytes = 8 << 20, Integrity = integrity ?? new() };
        try { VolumeOperations.Format(request); }
        finally { request.Dispose(); }
        return P(name);
    }

    /// <summary>What Open-IntegrityVolume builds for -Path <paramref name="path"/> -Name v and nothing else.</summary>
    private static IntegrityOpenRequest OpenOf(string path, IntegrityActivationOptions? options = null) =>
        new() { Device = path, Name = "v", Options = options ?? new IntegrityActivationOptions { Algorithm = "crc32c" } };

    private static IntegrityMappingInfo Mapping(string name, ulong failures = 0) => new()
    {
        Name = name, Type = "INTEGRITY", Path = "/dev/mapper/" + name, DeviceNumber = "254:0", SizeSectors = 1000, TagSize = 4,
        Algorithm = "crc32c", Mode = IntegrityMode.Journal, SectorSize = 512, InterleaveSectors = 32768, Failures = failures,
        ProvidedDataSectors = 1000, Table = "0 1000 integrity 7:0 0 4 J 0", Status = $"0 1000 integrity {failures} 1000 -",
    };

    // ------------------------------------------------------------------ Open: intake (the cmdlet builds the request)

    [Theory]
    [InlineData("Journal", IntegrityMode.Journal)]
    [InlineData("bitmap", IntegrityMode.Bitmap)]
    [InlineData("DIRECT", IntegrityMode.Direct)]
    [InlineData("Recovery", IntegrityMode.Recovery)]
    [InlineData("B", IntegrityMode.Bitmap)]
    [InlineData("j", IntegrityMode.Journal)]
    [InlineData(null, IntegrityMode.Journal)]
    public void Modes_parse_as_integritysetup_names_them(string? mode, IntegrityMode expected) =>
        Assert.Equal(expected, IntegrityModes.Parse(mode));

    [Fact]
    public void One_mode_type_has_every_spelling()
    {
        // Table letters round-trip, JSON and integritytab use the lowercase name, integritytab takes three modes.
        foreach (var m in Enum.GetValues<IntegrityMode>())
        {
            Assert.Equal(m, IntegrityModes.FromLetter(IntegrityModes.Letter(m).ToString()));
            Assert.Equal(m.ToString().ToLowerInvariant(), IntegrityModes.Name(m));
        }
        Assert.Equal(IntegrityMode.Bitmap, IntegrityModes.Parse("bitmap", IntegrityModes.IntegrityTab));
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => IntegrityModes.Parse("recovery", IntegrityModes.IntegrityTab)).ErrorId);
        Assert.Throws<FormatException>(() => IntegrityModes.FromLetter("X"));
    }

    [Fact]
    public void Open_refuses_what_never_reaches_the_kernel()
    {
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() => IntegrityModes.Parse("inline")).ErrorId);
        Assert.Equal(ErrorIds.InvalidMapperName, Assert.Throws<IntegrityVolumeException>(() =>
            MappingRequests.ValidateName("a/b")).ErrorId);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("tab\there", false)]
    [InlineData("data0", true)]
    [InlineData("with space", true)]
    [InlineData("ümlaut-é", true)]
    [InlineData("...", true)]
    public void Mapper_name_rules_are_the_kernel_layers(string name, bool valid)
    {
        bool ours = Accepts(() => MappingRequests.ValidateName(name));
        bool theirs = Accepts(() => DeviceMapperClient.ValidateName(name));
        Assert.Equal(valid, ours);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void Mapper_name_length_limit_is_the_kernels()
    {
        Assert.True(Accepts(() => MappingRequests.ValidateName(new string('a', 127))));
        Assert.False(Accepts(() => MappingRequests.ValidateName(new string('a', 128))));
        Assert.False(Accepts(() => MappingRequests.ValidateName(new string('é', 64))));   // 128 bytes in UTF-8
    }

    private static bool Accepts(Action a)
    {
        try { a(); return true; }
        catch (IntegrityVolumeException e) when (e.ErrorId == ErrorIds.InvalidMapperName) { return false; }
    }

    // ------------------------------------------------------------------ Open -WhatIf: superblock against the options

    [Fact]
    public void WhatIf_plans_the_table_integritysetup_would_load_and_hides_keys()
    {
        string key = P("k.bin");
        File.WriteAllBytes(key, Enumerable.Repeat((byte)0xAB, 32).ToArray());
        string img = Volume("h.img", new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = new IntegrityKey(File.ReadAllBytes(key)) });
        var r = OpenOf(img, new IntegrityActivationOptions { Algorithm = "hmac-sha256", Key = new IntegrityKey(File.ReadAllBytes(key)) });
        string table = MappingRequests.Plan(r, VolumeOperations.ReadSuperblock(new VolumeLocation { Path = img }));
        Assert.StartsWith(img + " 0 32 J ", table);
        Assert.Contains("internal_hash:hmac(sha256):" + new string('0', 64), table);
        Assert.DoesNotContain("abab", table, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("fix_padding", table);
    }

    [Fact]
    public void WhatIf_reports_what_the_kernel_would_refuse_for_the_same_reason()
    {
        string img = Volume("p.img");
        var sb = VolumeOperations.ReadSuperblock(new VolumeLocation { Path = img });
        IntegrityVolumeException Plan(IntegrityOpenRequest r) => Assert.Throws<IntegrityVolumeException>(() => MappingRequests.Plan(r, sb));
        var crc = new IntegrityActivationOptions { Algorithm = "crc32c" };

        Assert.Equal(ErrorIds.InvalidParameter, Plan(OpenOf(img, crc with { Mode = IntegrityMode.Bitmap, JournalWatermark = 60 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Plan(OpenOf(img, crc with { SectorsPerBit = 8 })).ErrorId);
        Assert.Equal(ErrorIds.KeyRequired, Plan(OpenOf(img, crc with { Algorithm = "hmac-sha256" })).ErrorId);
        Assert.Equal(ErrorIds.DataDeviceMismatch, Plan(OpenOf(img) with { DataDevice = P("data.img") }).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Plan(OpenOf(img, crc with { JournalMacAlgorithm = "hmac-sha256" })).ErrorId);
        // A volume that is not one: the superblock read fails before any table is built.
        string zeros = P("zeros.bin");
        File.WriteAllBytes(zeros, new byte[1 << 20]);
        Assert.Equal(ErrorIds.SuperblockBadMagic, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.ReadSuperblock(new VolumeLocation { Path = zeros })).ErrorId);
    }

    [Fact]
    public void ShouldProcess_texts_name_the_device_and_the_mapper_node()
    {
        var r = OpenOf("/srv/a.img") with { Name = "a" };
        Assert.Equal("/srv/a.img as /dev/mapper/a", MappingRequests.OpenTarget(r));
        Assert.Equal("/srv/a.img as /dev/mapper/a with data device /dev/sdy (read-only)",
            MappingRequests.OpenTarget(r with { DataDevice = "/dev/sdy", ReadOnly = true }));
        Assert.Equal("/dev/mapper/a", MappingRequests.CloseTarget("a"));
        Assert.Equal(MappingRequests.CloseAction, MappingRequests.CloseActionFor(false));
        Assert.Equal(MappingRequests.DeferredCloseAction, MappingRequests.CloseActionFor(true));
        Assert.Equal("Performing the operation \"Activate dm-integrity volume\" on target \"/srv/a.img as /dev/mapper/a\".",
            ShouldProcessText.For(MappingRequests.OpenTarget(r), MappingRequests.OpenAction).Description);
    }

    [Fact]
    public void Verbose_lines_after_open_and_close()
    {
        Assert.Equal("/dev/mapper/a is active (254:0): 1000 sectors, 512-byte blocks, crc32c, journal.", MappingRequests.Describe(Mapping("a")));
        Assert.Equal("Removed /dev/mapper/a and detached /dev/loop3.", MappingRequests.Describe(new IntegrityCloseResult("a", false, new[] { "/dev/loop3" })));
        Assert.Equal("Removed /dev/mapper/a.", MappingRequests.Describe(new IntegrityCloseResult("a", false, Array.Empty<string>())));
        Assert.Contains("last user", MappingRequests.Describe(new IntegrityCloseResult("a", true, Array.Empty<string>())));
    }

    // ------------------------------------------------------------------ Get -Name and completion

    [Fact]
    public void Name_patterns_filter_the_list_and_literal_names_must_exist()
    {
        var all = new[] { Mapping("data1"), Mapping("Data0"), Mapping("scratch"), Mapping("x[1]") };
        int listCalls = 0;
        IReadOnlyList<IntegrityMappingInfo> List() { listCalls++; return all; }
        IntegrityMappingInfo? Status(string n) => all.FirstOrDefault(m => m.Name == n);

        Assert.Equal(new[] { "Data0", "data1" }, MappingQuery.Find("data*", List, Status).Select(m => m.Name));
        Assert.Equal(new[] { "data1" }, MappingQuery.Find("d?ta[1-2]", List, Status).Select(m => m.Name));
        Assert.Empty(MappingQuery.Find("nothing*", List, Status));
        Assert.Equal(3, listCalls);
        Assert.Equal("scratch", MappingQuery.Find("scratch", List, Status).Single().Name);
        Assert.Equal("x[1]", MappingQuery.Find("x`[1`]", List, Status).Single().Name);   // escaped: a literal name
        Assert.Equal(3, listCalls);                                                      // literal names use Status
        var missing = Assert.Throws<IntegrityVolumeException>(() => MappingQuery.Find("gone", List, Status));
        Assert.Equal(ErrorIds.MapperDeviceNotFound, missing.ErrorId);
        Assert.Equal(ErrorKind.NotFound, missing.Kind);
        Assert.Equal("gone", missing.Target);
        Assert.Equal(new[] { "Data0", "data1", "scratch", "x[1]" }, MappingQuery.All(List).Select(m => m.Name));
    }

    [Fact]
    public void Wildcards_follow_PowerShell()
    {
        Assert.True(new Wildcard("*").IsMatch(""));
        Assert.True(new Wildcard("a*c").IsMatch("ABBC"));
        Assert.False(new Wildcard("a?c").IsMatch("ac"));
        Assert.True(new Wildcard("[ab]x").IsMatch("bx"));
        Assert.True(new Wildcard("v[0-9]").IsMatch("v7"));
        Assert.False(new Wildcard("v[0-9]").IsMatch("vx"));
        Assert.True(new Wildcard("a.b+c").IsMatch("a.b+c"));
        Assert.False(new Wildcard("a.b").IsMatch("axb"));
        Assert.True(new Wildcard("a`*").IsMatch("a*"));
        Assert.False(new Wildcard("a`*").IsMatch("ab"));
        Assert.Equal("a*[b]", Wildcard.Unescape("a`*`[b`]"));
    }

    [Fact]
    public void Completion_offers_active_names_and_never_throws()
    {
        string[] names = { "data1", "Data0", "scratch", "my vol", "it's" };
        Assert.Equal(new[] { "Data0", "data1" }, MappingQuery.CompleteNames("da", () => names));
        Assert.Equal(new[] { "Data0", "data1" }, MappingQuery.CompleteNames("'Da", () => names));
        Assert.Equal(new[] { "Data0", "data1", "'it''s'", "'my vol'", "scratch" }, MappingQuery.CompleteNames("", () => names));
        Assert.Equal(new[] { "'my vol'" }, MappingQuery.CompleteNames(null!, () => names).Where(n => n.Contains(' ')));
        // Without device-mapper (this host), without root, or anything else: nothing, quietly.
        Assert.Empty(MappingQuery.CompleteNames("d", () => throw new IntegrityVolumeException(ErrorIds.DeviceMapperUnavailable, ErrorKind.NotSupported, "no dm")));
        Assert.Empty(MappingQuery.CompleteNames("d", () => throw new UnauthorizedAccessException()));
        Assert.Empty(MappingQuery.CompleteNames("d", () => Throwing()));
        static IEnumerable<string> Throwing() { yield return "data9"; throw new IOException("gone"); }
    }

    [Fact]
    public void Completion_over_the_real_kernel_layer_is_empty_without_device_mapper()
    {
        if (File.Exists("/dev/mapper/control")) return;   // the host has none; a guest would list real names
        Assert.Empty(MappingQuery.CompleteNames("", () => IntegrityMappings.List().Select(m => m.Name)));
    }

    // ------------------------------------------------------------------ errors of the kernel layer

    [Theory]
    [InlineData(nameof(ErrorIds.DeviceMapperUnavailable), ErrorKind.NotSupported, (int)ErrorCategoryName.ResourceUnavailable)]
    [InlineData(nameof(ErrorIds.LoopDeviceUnavailable), ErrorKind.ResourceBusy, (int)ErrorCategoryName.ResourceUnavailable)]
    [InlineData(nameof(ErrorIds.IntegrityTargetUnavailable), ErrorKind.NotSupported, (int)ErrorCategoryName.NotInstalled)]
    [InlineData(nameof(ErrorIds.NotRoot), ErrorKind.PermissionDenied, (int)ErrorCategoryName.PermissionDenied)]
    [InlineData(nameof(ErrorIds.MapperNameTaken), ErrorKind.ResourceExists, (int)ErrorCategoryName.ResourceExists)]
    [InlineData(nameof(ErrorIds.MapperDeviceNotFound), ErrorKind.NotFound, (int)ErrorCategoryName.ObjectNotFound)]
    [InlineData(nameof(ErrorIds.DeviceInUse), ErrorKind.ResourceBusy, (int)ErrorCategoryName.ResourceBusy)]
    [InlineData(nameof(ErrorIds.TableLoadRejected), ErrorKind.InvalidArgument, (int)ErrorCategoryName.InvalidArgument)]
    [InlineData(nameof(ErrorIds.InvalidMapperName), ErrorKind.InvalidArgument, (int)ErrorCategoryName.InvalidArgument)]
    [InlineData(nameof(ErrorIds.DeviceMapperIoctlFailed), ErrorKind.DeviceError, (int)ErrorCategoryName.DeviceError)]
    public void Kernel_errors_keep_their_stable_id_and_get_a_fitting_category(string id, ErrorKind kind, int category)
    {
        var mapped = ErrorMapping.TryMap(new IntegrityVolumeException(id, kind, "m", "vol"), "fallback");
        Assert.Equal(id, mapped!.ErrorId);
        Assert.Equal((ErrorCategoryName)category, mapped.Category);
        Assert.Equal("vol", mapped.Target);
    }

    [Fact]
    public void The_real_kernel_layer_fails_with_a_mapped_error_on_this_host()
    {
        if (File.Exists("/dev/mapper/control")) return;
        var ex = Assert.Throws<IntegrityVolumeException>(() => IntegrityMappings.List());
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        Assert.Equal(ErrorCategoryName.ResourceUnavailable, ErrorMapping.TryMap(ex, null)!.Category);
        var online = Assert.Throws<IntegrityVolumeException>(() => OnlineVerifier.VerifyMapping("v"));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, online.ErrorId);
    }

    // ------------------------------------------------------------------ Test -Name verbose summary

    [Fact]
    public void Online_summary_names_counts_and_the_kernel_counter()
    {
        var r = new OnlineVerifyResult
        {
            Name = "v", Path = "/dev/mapper/v", Mode = IntegrityMode.Journal, SectorSize = 512, ProvidedDataSectors = 1000, BlocksChecked = 1000,
            ValidBlocks = 997, MismatchedBlocks = 2, UnreadableBlocks = 1, MismatchedSectors = new[] { new SectorRange(3, 2) },
            UnreadableSectors = new[] { new SectorRange(9, 1) }, FailuresBefore = 1, FailuresAfter = 5, DirectIo = true,
            Duration = TimeSpan.FromSeconds(1.5), ThroughputMiBps = 0.3, Warnings = Array.Empty<string>(),
        };
        Assert.Equal("v: 1000 blocks checked, 2 mismatched, 1 unreadable; kernel mismatch counter +4 (1 -> 5); 0.3 MiB/s in 0:01.5.", OnlineVerifyText.Summary(r));
        Assert.False(r.Healthy);
        Assert.Contains("not available", OnlineVerifyText.Summary(new OnlineVerifyResult
        {
            Name = "v", Path = "/dev/dm-0", Mode = IntegrityMode.Journal, SectorSize = 512, ProvidedDataSectors = 8, BlocksChecked = 8, ValidBlocks = 8,
            MismatchedBlocks = 0, UnreadableBlocks = 0, MismatchedSectors = Array.Empty<SectorRange>(), UnreadableSectors = Array.Empty<SectorRange>(),
            DirectIo = true, Duration = TimeSpan.Zero, ThroughputMiBps = 0, Warnings = Array.Empty<string>(),
        }));
    }
}
