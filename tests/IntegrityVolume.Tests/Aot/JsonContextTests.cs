using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using IntegrityVolume.Cli;
using IntegrityVolume.Cli.Commands;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Boot;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Tests.Boot;
using Xunit;

namespace IntegrityVolume.Tests.Aot;

/// <summary>
/// The NativeAOT ivol serialises through the source-generated CliJsonContext: its JSON must equal what the
/// reflection-based options printed before (the JIT build), and every type and enum it prints must be registered.
/// (tests/aot/build.sh publishes the native binary and compares it with ivol.dll end to end.)
/// </summary>
public class JsonContextTests
{
    /// <summary>The options ivol used before the source-generated context.</summary>
    private static readonly JsonSerializerOptions Reflection = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private static void SameAsReflection(object value)
    {
        Assert.NotNull(CliJsonContext.Default.GetTypeInfo(value.GetType()));
        Assert.Equal(JsonSerializer.Serialize(value, value.GetType(), Reflection), CliOutput.ToJson(value));
    }

    [Fact]
    public void VolumeResultsPrintAsBefore()
    {
        using var dir = new TempDir();
        string img = dir.File("v.img");
        var format = VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = img }, CreateSizeBytes = 8 << 20 });
        SameAsReflection(format);
        SameAsReflection(VolumeOperations.PlanFormat(new FormatRequest { Volume = new VolumeLocation { Path = dir.File("p.img") }, CreateSizeBytes = 16 << 20 }));
        SameAsReflection(VolumeOperations.Inspect(new VolumeLocation { Path = img }));
        // A LUKS2 --integrity image: the container object (issue 16).
        SameAsReflection(VolumeOperations.Inspect(new VolumeLocation { Path = new IntegrityVolume.Tests.Fixtures.FixtureCase("p15").Image("clean.img.gz") }));
        string data = dir.File("d.bin");
        File.WriteAllBytes(data, new byte[8192]);
        SameAsReflection(VolumeOperations.Write(new WriteRequest { Volume = new VolumeLocation { Path = img }, InputPath = data }));
        // A corrupt block, so mismatchedSectors (records) and warnings are not empty.
        using (var fs = new FileStream(img, FileMode.Open, FileAccess.Write))
        {
            fs.Position = (long)(format.Volume.InitialSectors + format.Volume.MetadataRunSectors) * 512 + 4096;
            fs.Write(new byte[] { 1, 2, 3 });
        }
        var verify = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = img } });
        Assert.False(verify.Healthy);
        SameAsReflection(verify);
    }

    [Fact]
    public void KernelAndTabResultsPrintAsBefore()
    {
        var info = new IntegrityMappingInfo
        {
            Name = "v", Type = "INTEGRITY", Path = "/dev/mapper/v", DeviceNumber = "254:0", SizeSectors = 1000, TagSize = 4,
            Algorithm = "crc32c", Mode = IntegrityMode.Journal, SectorSize = 512, InterleaveSectors = 32768, Failures = 0,
            ProvidedDataSectors = 1000, RecalcSector = null, JournalWatermark = 50, Table = "0 1000 integrity ...", Status = "0 1000 integrity 0 1000 -",
        };
        SameAsReflection(info);
        SameAsReflection(new List<IntegrityMappingInfo> { info, info with { Name = "w" } });
        SameAsReflection(new IntegrityCloseResult("v", false, new[] { "/dev/loop0" }));
        SameAsReflection(new InactiveMapping("v", "/dev/mapper/v", false));
        SameAsReflection(new CliError(ErrorIds.DeviceNotFound, ErrorKind.NotFound.ToString(), "no such device", null));
        var tab = IntegrityTab.Parse("# c\na /dev/sda - allow-discards,mode=bitmap,journal-commit-time=5s\nbroken\n");
        SameAsReflection(tab.Set(IntegrityTabEntry.Create(new IntegrityTabEntrySpec { Name = "b", Device = "UUID=1" })));
        SameAsReflection(new TabListResult { Path = "/etc/integritytab", Exists = true, Entries = tab.Entries.Select(TabEntryView.From).ToArray(), Problems = tab.Validate().ToArray() });
        SameAsReflection(new TabCheckResult { Path = "/etc/integritytab", Exists = true, Valid = false, Problems = tab.Validate().ToArray() });
        Assert.Contains("\"severity\": \"error\"", CliOutput.ToJson(new TabCheckResult { Path = "x", Exists = true, Valid = false, Problems = tab.Validate().ToArray() }));
    }

    [Fact]
    public void UnregisteredTypesFallBackToReflectionInTheJitBuild()
    {
        // StatusCommand still prints an anonymous object for an inactive name; only the JIT build can (see InactiveMapping).
        Assert.Equal(CliOutput.ToJson(new InactiveMapping("v", "/dev/mapper/v", false)),
            CliOutput.ToJson(new { name = "v", path = "/dev/mapper/v", active = false }));
    }

    [Fact]
    public void ProgressLinesKeepIntegritysetupsShape()
    {
        var line = new ProgressLine("Verifying", "/dev/sdb", "1", "2", "3", "4", "5");
        Assert.Equal("{\"activity\":\"Verifying\",\"device\":\"/dev/sdb\",\"bytes\":\"1\",\"size\":\"2\",\"speed\":\"3\",\"eta_ms\":\"4\",\"time_ms\":\"5\"}",
            JsonSerializer.Serialize(line, CliProgressJsonContext.Default.ProgressLine));
    }

    /// <summary>Every enum reachable from a registered type has a camelCase converter (else AOT prints numbers).</summary>
    [Fact]
    public void EveryEnumInTheContextHasAConverter()
    {
        var roots = typeof(CliJsonContext).GetCustomAttributesData()
            .Where(a => a.AttributeType == typeof(JsonSerializableAttribute))
            .Select(a => (Type)a.ConstructorArguments[0].Value!).ToList();
        Assert.Contains(typeof(VolumeInfo), roots);
        var seen = new HashSet<Type>();
        var enums = new HashSet<Type>();
        void Walk(Type t)
        {
            t = Nullable.GetUnderlyingType(t) ?? t;
            if (t.IsArray) { Walk(t.GetElementType()!); return; }
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) Walk(a);
            if (t.IsEnum) { enums.Add(t); return; }
            if (t.IsPrimitive || t == typeof(string) || t.Namespace?.StartsWith("System", StringComparison.Ordinal) == true || !seen.Add(t)) return;
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance)) Walk(p.PropertyType);
        }
        foreach (var r in roots) Walk(r);
        Assert.NotEmpty(enums);
        foreach (var e in enums)
            Assert.True(CliJsonContext.Default.Options.Converters.Any(c => c.CanConvert(e)), $"{e} has no converter in CliJsonContext");
    }
}
