using System.IO.Compression;
using System.Text.Json.Nodes;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Kernel;

/// <summary>
/// The dm-integrity table we build from a superblock + integritysetup's open options must be exactly the table the
/// real kernel reported (`dmsetup table`) for every kernel-made fixture. Host-only: no kernel needed.
/// </summary>
public class IntegrityTableFixtureTests
{
    internal static string FixtureRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("IVOL_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures");
            if (File.Exists(Path.Combine(candidate, "README.md"))) return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException("../shared/fixtures not found (set IVOL_FIXTURES).");
    }

    internal static JsonObject Case(string id) => JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureRoot, id, "case.json")))!.AsObject();

    /// <summary>Fixtures opened with integritysetup whose dmsetup table was recorded.</summary>
    public static IEnumerable<object[]> OpenedCases() =>
        Directory.EnumerateDirectories(FixtureRoot).Select(Path.GetFileName).OrderBy(n => n)
            .Where(id => File.Exists(Path.Combine(FixtureRoot, id!, "case.json")) && Case(id!)["dm_table_redacted"] is JsonValue)
            .Select(id => new object[] { id! });

    /// <summary>Bytes [offset, offset+count) of a gzip image without unpacking all of it.</summary>
    internal static byte[] ReadGz(string id, string gz, long offset, int count)
    {
        using var s = new GZipStream(File.OpenRead(Path.Combine(FixtureRoot, id, gz)), CompressionMode.Decompress);
        var skip = new byte[65536];
        while (offset > 0)
        {
            int n = s.Read(skip, 0, (int)Math.Min(skip.Length, offset));
            if (n == 0) throw new EndOfStreamException();
            offset -= n;
        }
        var buf = new byte[count];
        s.ReadExactly(buf);
        return buf;
    }

    /// <summary>The integritysetup open command in effect when `dmsetup table fx` was recorded.</summary>
    private static string[] OpenCommandBeforeTable(JsonObject c)
    {
        string[]? open = null;
        foreach (var cmd in c["commands"]!.AsArray())
        {
            string line = cmd!["cmd"]!.GetValue<string>();
            if (line.StartsWith("integritysetup open ", StringComparison.Ordinal)) open = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.StartsWith("dmsetup table fx", StringComparison.Ordinal)) break;
        }
        return open ?? throw new InvalidOperationException("no integritysetup open before dmsetup table");
    }

    private static string LoopToDevNum(string dev) =>
        dev.StartsWith("/dev/loop", StringComparison.Ordinal) ? "7:" + dev["/dev/loop".Length..] : throw new InvalidOperationException(dev);

    /// <summary>integritysetup open arguments → our activation options (what ivol open does with the same flags).</summary>
    internal static (IntegrityActivationOptions Options, string Meta, string? Data) Translate(string[] argv, JsonObject c)
    {
        var keys = c["keys_hex"]?.AsObject() ?? new JsonObject();
        IntegrityKey Key(string path) => new(Convert.FromHexString(keys[Path.GetFileName(path)]!.GetValue<string>()));
        var o = new IntegrityActivationOptions();
        string meta = LoopToDevNum(argv[2]);
        string? data = null;
        for (int i = 4; i < argv.Length; i++)
        {
            string a = argv[i];
            switch (a)
            {
                case "--integrity": o = o with { Algorithm = argv[++i] }; break;
                case "--integrity-key-file": o = o with { Key = Key(argv[++i]) }; break;
                case "--journal-integrity": o = o with { JournalMacAlgorithm = argv[++i] }; break;
                case "--journal-integrity-key-file": o = o with { JournalMacKey = Key(argv[++i]) }; break;
                case "--journal-watermark": o = o with { JournalWatermark = uint.Parse(argv[++i]) }; break;
                case "--journal-commit-time": o = o with { CommitTimeMs = uint.Parse(argv[++i]) }; break;
                case "--integrity-bitmap-mode": o = o with { Mode = IntegrityMode.Bitmap }; break;
                case "--allow-discards": o = o with { AllowDiscards = true }; break;
                case "--integrity-recalculate": o = o with { Recalculate = true }; break;
                case "--data-device": data = LoopToDevNum(argv[++i]); break;
                case "--integrity-key-size" or "--journal-integrity-key-size": i++; break;
                case "--integrity-legacy-padding" or "--integrity-legacy-hmac": break;   // format-time only
                default: throw new InvalidOperationException($"untranslated integritysetup option {a}");
            }
        }
        return (o, meta, data);
    }

    [Theory]
    [MemberData(nameof(OpenedCases))]
    public void BuiltTableEqualsTheKernelsTable(string id)
    {
        var c = Case(id);
        var (options, meta, data) = Translate(OpenCommandBeforeTable(c), c);
        string metaImage = data is null ? "clean.img.gz" : "meta.img.gz";
        var sb = Superblock.Parse(ReadGz(id, metaImage, 0, Superblock.AreaSize));
        ulong metaSectors = (ulong)c["files"]![metaImage]!["raw_bytes"]!.GetValue<long>() / 512;

        var table = IntegrityTable.ForActivation(sb, meta, options, data);
        var kernel = table.ToKernelView(sb, metaDeviceSectors: metaSectors);

        Assert.Equal(c["dm_table_redacted"]!.GetValue<string>(), kernel.ToLine(KeyRendering.Placeholder));
        Assert.Equal(c["dm_table"]!.GetValue<string>(), kernel.ToLine(KeyRendering.Zeros));
        Assert.Equal(c["dm_table_showkeys"]!.GetValue<string>(), kernel.ToLine(KeyRendering.Clear));
        Assert.Equal(table.HasKeys, c["dm_table_redacted"]!.GetValue<string>().Contains("<key>"));
    }

    [Theory]
    [MemberData(nameof(OpenedCases))]
    public void KernelTablesParseAndRenderBackUnchanged(string id)
    {
        var c = Case(id);
        string shown = c["dm_table_showkeys"]!.GetValue<string>();
        var t = IntegrityTable.Parse(shown);
        Assert.Equal(shown, t.ToLine(KeyRendering.Clear));
        Assert.Equal(c["dm_table"]!.GetValue<string>(), t.ToLine(KeyRendering.Zeros));
        Assert.Equal(c["dm_table"]!.GetValue<string>(), TableKeys.Mask("integrity", shown));
        Assert.Equal((ulong)c["provided_data_sectors"]!.GetValue<long>(), t.Length);
        Assert.Empty(t.ExtraArguments);
    }

    [Theory]
    [MemberData(nameof(OpenedCases))]
    public void StatusLinesParse(string id)
    {
        var c = Case(id);
        foreach (var key in new[] { "status_after_open", "status_after_full_read" })
        {
            if (c[key] is not JsonValue v) continue;
            string line = v.GetValue<string>();
            var s = IntegrityStatus.Parse(line);
            var f = line.Split(' ');
            Assert.Equal(ulong.Parse(f[3]), s.Mismatches);
            Assert.Equal(ulong.Parse(f[4]), s.ProvidedDataSectors);
            Assert.Equal(f[5] == "-" ? null : ulong.Parse(f[5]), s.RecalcSector);
            Assert.Equal(string.Join(' ', f[3..]), s.ToString());
        }
    }

    [Fact]
    public void LuksSubdeviceTableHasNoInternalHash()
    {
        // p15: dm-crypt AEAD over dm-integrity; the integrity superblock sits at the LUKS2 data offset (2048 sectors).
        var c = Case("p15");
        var sb = Superblock.Parse(ReadGz("p15", "clean.img.gz", 2048L * 512, Superblock.AreaSize));
        var t = IntegrityTable.ForActivation(sb, "7:0", new IntegrityActivationOptions { Algorithm = null }, offset: 2048);
        Assert.Equal("7:0 2048 32 J 1 fix_padding", t.ToParameters());
        Assert.Equal(c["dm_table_integrity"]!.GetValue<string>(), t.ToKernelView(sb).ToLine());
        Assert.False(t.HasKeys);
        // dmsetup does not hide a keyring reference; it is not key material.
        string crypt = c["dm_table_crypt_showkeys"]!.GetValue<string>();
        var parts = crypt.Split(' ', 4);
        Assert.Equal(parts[3], TableKeys.Mask("crypt", parts[3]));
    }

    [Fact]
    public void ActivationTablesAreMinimalLikeIntegritysetup()
    {
        var p01 = Superblock.Parse(ReadGz("p01", "clean.img.gz", 0, Superblock.AreaSize));
        Assert.Equal("7:0 0 4 J 3 fix_padding fix_hmac internal_hash:crc32c",
            IntegrityTable.ForActivation(p01, "7:0", new IntegrityActivationOptions()).ToParameters());

        // Legacy V1 volume: neither fix_padding nor fix_hmac may be sent (newer kernels refuse fix_hmac without the flag).
        var p05 = Superblock.Parse(ReadGz("p05", "clean.img.gz", 0, Superblock.AreaSize));
        Assert.Equal(1, p05.Version);
        Assert.Equal("/dev/loop0 0 4 J 1 internal_hash:crc32",
            IntegrityTable.ForActivation(p05, "/dev/loop0", new IntegrityActivationOptions { Algorithm = "crc32" }).ToParameters());

        // Keyed, 4 KiB blocks: key in hex in the load table, hidden when printed.
        var c = Case("p04");
        var p04 = Superblock.Parse(ReadGz("p04", "clean.img.gz", 0, Superblock.AreaSize));
        byte[] key = Convert.FromHexString(c["keys_hex"]!["key.bin"]!.GetValue<string>());
        var t = IntegrityTable.ForActivation(p04, "7:0", new IntegrityActivationOptions { Algorithm = "hmac-sha256", Key = new IntegrityKey(key) });
        Assert.True(t.HasKeys);
        Assert.Equal($"7:0 0 32 J 4 block_size:4096 fix_padding fix_hmac internal_hash:hmac(sha256):{Convert.ToHexString(key).ToLowerInvariant()}", t.ToTarget().Parameters);
        Assert.DoesNotContain(Convert.ToHexString(key).ToLowerInvariant(), t.ToString());

        // Still recalculating (p12b closed mid-way): recalculate must be passed, as cryptsetup does.
        var p12b = Superblock.Parse(ReadGz("p12b", "clean.img.gz", 0, Superblock.AreaSize));
        Assert.True(p12b.HasFlag(SuperblockFlags.Recalculating));
        Assert.Contains(" recalculate ", IntegrityTable.ForActivation(p12b, "7:0", new IntegrityActivationOptions()).ToParameters());
    }

    [Fact]
    public void ActivationRefusesWhatTheKernelWouldRefuse()
    {
        var p01 = Superblock.Parse(ReadGz("p01", "clean.img.gz", 0, Superblock.AreaSize));
        var p13 = Superblock.Parse(ReadGz("p13", "clean.img.gz", 0, Superblock.AreaSize));
        IntegrityVolumeException E(Action a) => Assert.Throws<IntegrityVolumeException>(a);

        Assert.Equal(ErrorIds.KeyRequired, E(() => IntegrityTable.ForActivation(p01, "7:0", new() { Algorithm = "hmac-sha256" })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, E(() => IntegrityTable.ForActivation(p13, "7:0", new())).ErrorId);   // journal MAC missing
        Assert.Equal(ErrorIds.InvalidParameter, E(() => IntegrityTable.ForActivation(p01, "7:0", new() { JournalMacAlgorithm = "hmac-sha256", JournalMacKey = new IntegrityKey(new byte[32]) })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, E(() => IntegrityTable.ForActivation(p01, "7:0", new() { Mode = IntegrityMode.Bitmap, JournalWatermark = 30 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, E(() => IntegrityTable.ForActivation(p01, "7:0", new() { SectorsPerBit = 1024 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, E(() => IntegrityTable.ForActivation(p01, "7:0", new() { Algorithm = null, AllowDiscards = true })).ErrorId);
        Assert.Equal(ErrorIds.DataDeviceMismatch, E(() => IntegrityTable.ForActivation(p01, "7:0", new(), dataDevice: "7:1")).ErrorId);
    }
}
