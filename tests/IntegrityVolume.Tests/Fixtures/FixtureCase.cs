using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IntegrityVolume.Tests.Fixtures;

/// <summary>
/// A kernel-made fixture from ../shared/fixtures: its case.json and its images, decompressed once per test run
/// into a temp folder (sparse: runs of zeros are skipped so the 1 GiB image costs little).
/// </summary>
public sealed class FixtureCase
{
    private static readonly object Gate = new();
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), $"ivol-fixtures-{Environment.ProcessId}");

    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("IVOL_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(candidate, "README.md"))) return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException("../shared/fixtures not found (set IVOL_FIXTURES).");
    }

    public FixtureCase(string id)
    {
        Id = id;
        Json = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, id, "case.json")))!.AsObject();
    }

    public string Id { get; }
    public JsonObject Json { get; }
    public override string ToString() => Id;

    public static IEnumerable<string> AllIds() =>
        Directory.EnumerateDirectories(Root).Select(Path.GetFileName).Where(n => File.Exists(Path.Combine(Root, n!, "case.json"))).OrderBy(n => n)!;

    public bool Has(string file) => File.Exists(Path.Combine(Root, Id, file));
    public string KeyFile(string name) => Path.Combine(Root, Id, name);

    /// <summary>Path of the decompressed image (shared, read-only use).</summary>
    public string Image(string gzName)
    {
        string target = Path.Combine(Cache, Id, gzName[..^3]);
        lock (Gate)
        {
            if (!File.Exists(target))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                string tmp = target + ".tmp";
                using (var gz = new GZipStream(File.OpenRead(Path.Combine(Root, Id, gzName)), CompressionMode.Decompress))
                using (var output = new FileStream(tmp, FileMode.Create, FileAccess.Write))
                {
                    var buf = new byte[1 << 16];
                    long pos = 0;
                    int n;
                    while ((n = ReadFull(gz, buf)) > 0)
                    {
                        if (buf.AsSpan(0, n).IndexOfAnyExcept((byte)0) >= 0) { output.Position = pos; output.Write(buf, 0, n); }
                        pos += n;
                    }
                    output.SetLength(pos);
                }
                File.Move(tmp, target);
            }
        }
        return target;
    }

    /// <summary>A private writable copy of an image, deleted with the returned handle.</summary>
    public TempFile CopyOf(string gzName)
    {
        var t = new TempFile(".img");
        File.Copy(Image(gzName), t.Path, overwrite: true);
        return t;
    }

    private static int ReadFull(Stream s, byte[] buf)
    {
        int total = 0;
        while (total < buf.Length) { int n = s.Read(buf, total, buf.Length - total); if (n == 0) break; total += n; }
        return total;
    }

    public string? Algorithm => (string?)Json["algorithm_kernel_name"];
    public byte[]? Key => Has("key.bin") ? File.ReadAllBytes(KeyFile("key.bin")) : null;
    public byte[]? JournalKey => Has("journal-key.bin") ? File.ReadAllBytes(KeyFile("journal-key.bin")) : null;
    public ulong[] KernelFailedSectors =>
        Json["kernel_verdict_corrupt"]?["checksum_failed_sectors"]?.AsArray().Select(n => (ulong)n!).ToArray() ?? Array.Empty<ulong>();
    public string[] FormatOptions => Json["format_options"]?.AsArray().Select(n => (string)n!).ToArray() ?? Array.Empty<string>();

    /// <summary>Value of an integritysetup option in format_options, e.g. "--sector-size".</summary>
    public string? FormatOption(string name)
    {
        var o = FormatOptions;
        int i = Array.IndexOf(o, name);
        return i >= 0 && i + 1 < o.Length ? o[i + 1] : null;
    }
    public bool FormatFlag(string name) => Array.IndexOf(FormatOptions, name) >= 0;
}

public sealed class TempFile : IDisposable
{
    public TempFile(string suffix = "")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ivol-test-{Guid.NewGuid():N}{suffix}");
    }
    public string Path { get; }
    public void Dispose() { try { File.Delete(Path); } catch (IOException) { } }
}
