using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Boot;

/// <summary>A temporary directory for integritytab files, removed with everything in it.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ivol-tab-{Guid.NewGuid():N}"));
    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

/// <summary>integritytab(5) as systemd's generator and systemd-integritysetup read it.</summary>
public class IntegrityTabTests
{
    // Lines as they appear in integritytab(5)'s examples and on real systems.
    private const string RealWorld =
        "# /etc/integritytab: integrity-protected volumes (see integritytab(5))\n" +
        "\n" +
        "home PARTUUID=4973d0b8-1b15-c449-96ec-94bab7f6a7b8 - journal-commit-time=10,allow-discards,journal-watermark=55%\n" +
        "data PARTUUID=5d4b1808-be76-774d-88af-03c4c3a41761 - allow-discards\n" +
        "   # an indented comment\n" +
        "root\tUUID=9276d9c0-d4e3-4297-b4ff-3307cd0d092f\n" +
        "split   /dev/disk/by-partlabel/meta   -   data-device=/dev/disk/by-uuid/9276d9c0-d4e3-4297-b4ff-3307cd0d092f\n" +
        "secure LABEL=vault /etc/hmac.key\n" +
        "fast PARTLABEL=scratch - mode=bitmap,integrity-algorithm=xxhash64\n" +
        "plain /dev/sdb\n";

    [Fact]
    public void ParsesRealWorldLines()
    {
        var tab = IntegrityTab.Parse(RealWorld, "/etc/integritytab");
        var e = tab.Entries.ToDictionary(x => x.Name);
        Assert.Equal(new[] { "home", "data", "root", "split", "secure", "fast", "plain" }, tab.Entries.Select(x => x.Name));

        Assert.Equal("PARTUUID=4973d0b8-1b15-c449-96ec-94bab7f6a7b8", e["home"].Device);
        Assert.Null(e["home"].KeyFile);
        Assert.True(e["home"].AllowDiscards);
        Assert.Equal(55, e["home"].JournalWatermarkPercent);
        Assert.Equal("10", e["home"].JournalCommitTime);
        Assert.Equal(10UL, e["home"].KernelCommitTimeMs); // 10 s handed over as 10 (ms) by systemd-integritysetup
        Assert.Equal(3, e["home"].LineNumber);

        Assert.Equal("UUID=9276d9c0-d4e3-4297-b4ff-3307cd0d092f", e["root"].Device);
        Assert.Empty(e["root"].Options);
        Assert.Equal("crc32c", e["root"].Algorithm);
        Assert.Equal(IntegrityMode.Journal, e["root"].Mode);

        Assert.Equal("/dev/disk/by-partlabel/meta", e["split"].Device);
        Assert.Equal("/dev/disk/by-uuid/9276d9c0-d4e3-4297-b4ff-3307cd0d092f", e["split"].DataDevice);

        Assert.Equal("/etc/hmac.key", e["secure"].KeyFile);
        Assert.Equal("hmac-sha256", e["secure"].Algorithm); // a key file implies hmac-sha256
        Assert.Equal("LABEL=vault", e["secure"].Device);

        Assert.Equal(IntegrityMode.Bitmap, e["fast"].Mode);
        Assert.Equal("xxhash64", e["fast"].Algorithm);
        Assert.Equal("PARTLABEL=scratch", e["fast"].Device);

        Assert.Empty(tab.Validate());
        Assert.Equal(new[] { IntegrityTabLineKind.Comment, IntegrityTabLineKind.Blank, IntegrityTabLineKind.Entry },
            tab.Lines.Take(3).Select(l => l.Kind));
        Assert.Equal(IntegrityTabLineKind.Comment, tab.Lines[4].Kind);
    }

    [Theory]
    [InlineData(RealWorld)]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("a /dev/sda")] // no final newline
    [InlineData("a /dev/sda\r\nb /dev/sdb - allow-discards\r\n")] // CRLF
    [InlineData("  # comment with trailing spaces   \n\n\n\tx\t/dev/vdb\t-\tfuture-option=1,allow-discards   \nlonely\n")]
    [InlineData("a /dev/sda - - extra fields here\nbroken\n#\n")]
    public void RoundTripIsByteForByte(string text)
    {
        Assert.Equal(text, IntegrityTab.Parse(text).ToText());
    }

    [Fact]
    public void SetAppendsThenIsIdempotent()
    {
        var tab = IntegrityTab.Parse(RealWorld);
        var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "vol1", Device = "/dev/vdc", AllowDiscards = true, Mode = IntegrityMode.Direct });
        var r1 = tab.Set(entry);
        Assert.Equal("added", r1.Action);
        Assert.True(r1.Changed);
        Assert.Equal("vol1 /dev/vdc - mode=direct,allow-discards", r1.Line);
        Assert.Equal(RealWorld + "vol1 /dev/vdc - mode=direct,allow-discards\n", tab.ToText());
        var r2 = tab.Set(entry);
        Assert.Equal("unchanged", r2.Action);
        Assert.False(r2.Changed);
        Assert.Equal(RealWorld + "vol1 /dev/vdc - mode=direct,allow-discards\n", tab.ToText());
    }

    [Fact]
    public void AnEquivalentLineWithOtherSpacingAndOptionOrderIsLeftAlone()
    {
        const string text = "# keep me\nhome\tPARTUUID=4973d0b8   -   allow-discards,journal-watermark=55%   \n";
        var tab = IntegrityTab.Parse(text);
        var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "home", Device = "PARTUUID=4973d0b8", AllowDiscards = true, JournalWatermarkPercent = 55 });
        Assert.Equal("unchanged", tab.Set(entry).Action);
        Assert.Equal(text, tab.ToText());
    }

    [Theory]
    [InlineData("a /dev/sda - mode=journal")]
    [InlineData("a /dev/sda - integrity-algorithm=crc32c,mode=journal")]
    [InlineData("a /dev/sda -")]
    [InlineData("a /dev/sda - -")]
    public void DefaultsSpelledOutAreEquivalent(string line)
    {
        var tab = IntegrityTab.Parse(line + "\n");
        Assert.Equal("unchanged", tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Mode = IntegrityMode.Journal })).Action);
        Assert.Equal(line + "\n", tab.ToText());
        Assert.Equal("replaced", tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Mode = IntegrityMode.Bitmap })).Action);
    }

    [Fact]
    public void SetReplacesInPlaceAndDropsDuplicates()
    {
        const string text = "# head\na /dev/sda\nb /dev/sdb\na /dev/sdx - allow-discards\n# tail\n";
        var tab = IntegrityTab.Parse(text);
        Assert.Contains(tab.Validate(), p => p.ErrorId == ErrorIds.IntegrityTabDuplicateName && p.LineNumber == 4 && p.Severity == IntegrityTabSeverity.Error);
        var r = tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sdc" }));
        Assert.Equal("replaced", r.Action);
        Assert.Equal(new[] { "a /dev/sda", "a /dev/sdx - allow-discards" }, r.PreviousLines);
        Assert.Equal("# head\na /dev/sdc\nb /dev/sdb\n# tail\n", tab.ToText());
        Assert.Empty(tab.Validate());
    }

    [Fact]
    public void ACrlfFileStaysCrlf()
    {
        var tab = IntegrityTab.Parse("# c\r\na /dev/sda\r\n");
        Assert.Equal("unchanged", tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda" })).Action);
        tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sdb" }));
        tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "b", Device = "/dev/sdc" }));
        Assert.Equal("# c\r\na /dev/sdb\r\nb /dev/sdc\r\n", tab.ToText());
    }

    [Fact]
    public void AddingWarnsAboutErrorsElsewhereAndLeavesThem()
    {
        using var dir = new TempDir();
        string path = dir.File("integritytab");
        File.WriteAllText(path, "lonely\nx /dev/sda - mode=fast\n");
        var r = IntegrityTab.AddOrReplace(path, IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sdb" }));
        Assert.Equal("added", r.Action);
        Assert.Contains(r.Warnings, w => w.Contains(":1:") && w.Contains(ErrorIds.IntegrityTabTooFewFields));
        Assert.Contains(r.Warnings, w => w.Contains(":2:") && w.Contains(ErrorIds.IntegrityTabInvalidOption));
        Assert.Equal("lonely\nx /dev/sda - mode=fast\na /dev/sdb\n", File.ReadAllText(path));
    }

    [Fact]
    public void RemoveTakesEveryLineOfTheNameAndIsIdempotent()
    {
        var tab = IntegrityTab.Parse("# c\na /dev/sda\nb /dev/sdb\na /dev/sdc\n");
        var r = tab.Remove("a");
        Assert.Equal("removed", r.Action);
        Assert.Equal(new[] { "a /dev/sda", "a /dev/sdc" }, r.PreviousLines);
        Assert.Equal("# c\nb /dev/sdb\n", tab.ToText());
        Assert.Equal("unchanged", tab.Remove("a").Action);
        Assert.Equal("# c\nb /dev/sdb\n", tab.ToText());
    }

    [Theory]
    [InlineData("lonely", ErrorIds.IntegrityTabTooFewFields)]
    [InlineData("a/b /dev/sda", ErrorIds.IntegrityTabInvalidName)]
    [InlineData(".. /dev/sda", ErrorIds.IntegrityTabInvalidName)]
    [InlineData("a sda", ErrorIds.IntegrityTabInvalidDevice)]
    [InlineData("a UUID=", ErrorIds.IntegrityTabInvalidDevice)]
    [InlineData("a ID=1234", ErrorIds.IntegrityTabInvalidDevice)]
    [InlineData("a /dev/sda keys/hmac.key", ErrorIds.IntegrityTabInvalidKeyFile)]
    [InlineData("a /dev/sda - mode=fast", ErrorIds.IntegrityTabInvalidOption)]
    [InlineData("a /dev/sda - journal-watermark=55", ErrorIds.IntegrityTabInvalidOption)]
    [InlineData("a /dev/sda - journal-watermark=101%", ErrorIds.IntegrityTabInvalidOption)]
    [InlineData("a /dev/sda - journal-commit-time=soon", ErrorIds.IntegrityTabInvalidOption)]
    [InlineData("a /dev/sda - data-device=sdb", ErrorIds.IntegrityTabInvalidOption)]
    [InlineData("a /dev/sda - integrity-algorithm=sha512", ErrorIds.IntegrityTabUnknownAlgorithm)]
    [InlineData("a /dev/sda - integrity-algorithm=hmac-sha256", ErrorIds.IntegrityTabKeyMismatch)]
    [InlineData("a /dev/sda /etc/k integrity-algorithm=crc32c", ErrorIds.IntegrityTabKeyMismatch)]
    public void BadLinesFailWithStableIds(string line, string errorId)
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => IntegrityTabEntry.Parse(line, "/etc/integritytab", 7));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, ex.Kind);
        Assert.StartsWith("/etc/integritytab:7: ", ex.Message);
        // The lenient file parser keeps the line and reports the same id.
        var tab = IntegrityTab.Parse("# x\n" + line + "\n");
        Assert.Contains(tab.Validate(), p => p.ErrorId == errorId && p.LineNumber == 2 && p.Severity == IntegrityTabSeverity.Error);
        Assert.Equal("# x\n" + line + "\n", tab.ToText());
    }

    [Theory]
    [InlineData("a /dev/sda - nofail,noauto,_netdev")]
    [InlineData("a /dev/sda - mode=journal,mode=direct")]
    [InlineData("a /dev/sda /etc/k integrity-algorithm=hmac-sha512")]
    [InlineData("a /dev/sda - journal-commit-time=1min30s,journal-watermark=0%")]
    [InlineData("a /dev/sda /etc/phmac.key integrity-algorithm=phmac-sha256")]
    public void ValidLinesParse(string line)
    {
        var e = IntegrityTabEntry.Parse(line);
        Assert.Equal("a", e.Name);
        Assert.Empty(IntegrityTab.Parse(line).Validate());
    }

    [Fact]
    public void UnknownOptionsAndExtraFieldsAreWarnings()
    {
        var problems = IntegrityTab.Parse("a /dev/sda - allow-discards,x-future=1 trailing junk\n").Validate();
        Assert.All(problems, p => Assert.Equal(IntegrityTabSeverity.Warning, p.Severity));
        Assert.Contains(problems, p => p.ErrorId == ErrorIds.IntegrityTabUnknownOption);
        Assert.Contains(problems, p => p.ErrorId == ErrorIds.IntegrityTabExtraFields);
        Assert.Equal("a", IntegrityTabEntry.Parse("a /dev/sda - x-future=1").Name); // warnings do not throw
    }

    [Fact]
    public void TheLastModeWins()
    {
        Assert.Equal(IntegrityMode.Direct, IntegrityTabEntry.Parse("a /dev/sda - mode=bitmap,mode=direct").Mode);
    }

    [Theory]
    [InlineData("10", 10_000_000UL, 10UL)]
    [InlineData("500ms", 500_000UL, 1UL)]
    [InlineData("1min30s", 90_000_000UL, 90UL)]
    [InlineData("1.5s", 1_500_000UL, 2UL)]
    [InlineData("0", 0UL, 0UL)]
    public void CommitTimeIsASystemdTimeSpan(string text, ulong us, ulong kernelMs)
    {
        Assert.True(SystemdValues.TryParseTimeSpan(text, out ulong parsed));
        Assert.Equal(us, parsed);
        Assert.Equal(kernelMs, IntegrityTabEntry.Parse($"a /dev/sda - journal-commit-time={text}").KernelCommitTimeMs);
    }

    [Fact]
    public void CreateWritesTheCanonicalLine()
    {
        var e = IntegrityTabEntry.Create(new IntegrityTabEntrySpec
        {
            Name = "vault", Device = "/dev/disk/by-partuuid/5d4b1808", KeyFile = "/etc/ivol/vault.key", Algorithm = "hmac(sha512)",
            Mode = IntegrityMode.Bitmap, AllowDiscards = true, DataDevice = "/dev/disk/by-uuid/9276d9c0",
            JournalWatermarkPercent = 30, JournalCommitTime = "5s", ExtraOptions = new[] { "nofail" },
        });
        Assert.Equal("vault /dev/disk/by-partuuid/5d4b1808 /etc/ivol/vault.key integrity-algorithm=hmac-sha512,mode=bitmap,allow-discards," +
                     "data-device=/dev/disk/by-uuid/9276d9c0,journal-watermark=30%,journal-commit-time=5s,nofail", e.ToLine());
        // Defaults are not spelled out: crc32c without a key, hmac-sha256 with one, journal mode.
        Assert.Equal("a /dev/sda", IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Algorithm = "crc32c", Mode = IntegrityMode.Journal }).ToLine());
        Assert.Equal("a /dev/sda /k", IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", KeyFile = "/k", Algorithm = "HMAC-SHA256" }).ToLine());
        Assert.Equal("a /dev/sda /k", IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", KeyFile = "/k" }).ToLine());
        Assert.Equal(e.ToLine(), IntegrityTabEntry.Parse(e.ToLine()).ToLine());
    }

    public static TheoryData<IntegrityTabEntrySpec, string> BadSpecs => new()
    {
        { new IntegrityTabEntrySpec { Name = "", Device = "/dev/sda" }, ErrorIds.IntegrityTabInvalidName },
        { new IntegrityTabEntrySpec { Name = "my vol", Device = "/dev/sda" }, ErrorIds.IntegrityTabInvalidName },
        { new IntegrityTabEntrySpec { Name = "#vol", Device = "/dev/sda" }, ErrorIds.IntegrityTabInvalidName },
        { new IntegrityTabEntrySpec { Name = new string('n', 128), Device = "/dev/sda" }, ErrorIds.IntegrityTabInvalidName },
        { new IntegrityTabEntrySpec { Name = "a", Device = "disk.img" }, ErrorIds.IntegrityTabInvalidDevice },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/my disk" }, ErrorIds.IntegrityTabInvalidDevice },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Algorithm = "hmac-sha256" }, ErrorIds.IntegrityTabKeyMismatch },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Algorithm = "sha256", KeyFile = "/k" }, ErrorIds.IntegrityTabKeyMismatch },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", Algorithm = "blake2b-256" }, ErrorIds.IntegrityTabUnknownAlgorithm },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", KeyFile = "k.bin" }, ErrorIds.IntegrityTabInvalidKeyFile },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", JournalWatermarkPercent = 150 }, ErrorIds.IntegrityTabInvalidOption },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", JournalCommitTime = "later" }, ErrorIds.IntegrityTabInvalidOption },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", DataDevice = "/dev/a,b" }, ErrorIds.IntegrityTabInvalidOption },
        { new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda", ExtraOptions = new[] { "nofail,noauto" } }, ErrorIds.IntegrityTabInvalidOption },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void CreateRefusesWhatSystemdWouldNotAttach(IntegrityTabEntrySpec spec, string errorId)
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => IntegrityTabEntry.Create(spec));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void FileAddIsAtomicAndKeepsTheModeAndOtherLines()
    {
        using var dir = new TempDir();
        string path = dir.File("integritytab");
        File.WriteAllText(path, RealWorld);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "new", Device = "/dev/vdd" });

        var r = IntegrityTab.AddOrReplace(path, entry);
        Assert.Equal("added", r.Action);
        Assert.Equal(RealWorld + "new /dev/vdd\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(new[] { "integritytab" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName)); // no temporary file left

        var stamp = File.GetLastWriteTimeUtc(path);
        File.SetLastWriteTimeUtc(path, stamp.AddHours(-1));
        var again = IntegrityTab.AddOrReplace(path, entry);
        Assert.False(again.Changed);
        Assert.Equal(stamp.AddHours(-1), File.GetLastWriteTimeUtc(path)); // an unchanged entry does not even rewrite the file
    }

    [Fact]
    public void FileIsCreatedWhenMissingAndDryRunWritesNothing()
    {
        using var dir = new TempDir();
        string path = dir.File("integritytab");
        var entry = IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda" });
        var dry = IntegrityTab.AddOrReplace(path, entry, dryRun: true);
        Assert.True(dry.Changed);
        Assert.True(dry.DryRun);
        Assert.False(File.Exists(path));
        Assert.False(IntegrityTab.Load(path).Exists);

        IntegrityTab.AddOrReplace(path, entry);
        Assert.Equal("a /dev/sda\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(path));

        Assert.Equal("removed", IntegrityTab.RemoveEntry(path, "a", dryRun: true).Action);
        Assert.Equal("a /dev/sda\n", File.ReadAllText(path));
        Assert.Equal("removed", IntegrityTab.RemoveEntry(path, "a").Action);
        Assert.Equal("", File.ReadAllText(path));
        Assert.Equal("unchanged", IntegrityTab.RemoveEntry(dir.File("absent"), "a").Action);
        Assert.False(File.Exists(dir.File("absent")));
    }

    [Fact]
    public void WritingThroughASymlinkKeepsTheLink()
    {
        using var dir = new TempDir();
        string real = dir.File("real-tab"), link = dir.File("integritytab");
        File.WriteAllText(real, "# managed\n");
        File.CreateSymbolicLink(link, real);
        IntegrityTab.AddOrReplace(link, IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda" }));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("# managed\na /dev/sda\n", File.ReadAllText(real));
    }

    [Fact]
    public void AMissingDirectoryIsAWriteError()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<IntegrityVolumeException>(() =>
            IntegrityTab.AddOrReplace(dir.File("no/such/dir/integritytab"), IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "a", Device = "/dev/sda" })));
        Assert.Equal(ErrorIds.IntegrityTabWriteFailed, ex.ErrorId);
    }

    [Fact]
    public void ADirectoryIsAReadError()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<IntegrityVolumeException>(() => IntegrityTab.Load(dir.Path));
        Assert.Equal(ErrorIds.IntegrityTabReadFailed, ex.ErrorId);
    }
}
