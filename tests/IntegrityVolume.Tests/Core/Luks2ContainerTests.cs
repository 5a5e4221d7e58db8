using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using IntegrityVolume.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// LUKS2 authenticated encryption (cryptsetup luksFormat --integrity, issue 16) read offline: the kernel-made fixture
/// p15 against cryptsetup's own luksDump and the superblock case.json read at the data offset; damaged headers (a
/// checksum, the JSON, its sizes) get a stable id and never a crash or a large allocation; tag checks and writes are
/// refused because the tags are dm-crypt's.
/// </summary>
public class Luks2ContainerTests
{
    private static readonly FixtureCase P15 = new("p15");
    private static string LuksDump => (string)P15.Json["luksDump"]!;

    private static string Field(string pattern) => Regex.Match(LuksDump, pattern, RegexOptions.Multiline) is { Success: true } m
        ? m.Groups[1].Value : throw new InvalidOperationException($"luksDump has no {pattern}");

    [Fact]
    public void TheContainerIsWhatCryptsetupLuksDumpSaysAndTheSuperblockIsAtItsDataOffset()
    {
        var v = VolumeOperations.Inspect(new VolumeLocation { Path = P15.Image("clean.img.gz") }, detectAlgorithm: true);
        var c = Assert.IsType<CryptContainerInfo>(v.Container);
        Assert.True(v.TagsFromCryptLayer);
        Assert.Equal("LUKS2", c.Container);
        Assert.Equal(Field(@"^UUID:\s*(\S+)"), c.Uuid);
        Assert.Equal(ulong.Parse(Field(@"^Epoch:\s*(\d+)")), c.SequenceId);
        Assert.Equal(ulong.Parse(Field(@"^Metadata area:\s*(\d+) \[bytes\]")), c.HeaderSizeBytes);
        // Data segment 0 of luksDump (the first offset/cipher/sector/integrity lines follow "Data segments:").
        string segment = LuksDump[LuksDump.IndexOf("Data segments:", StringComparison.Ordinal)..LuksDump.IndexOf("Keyslots:", StringComparison.Ordinal)];
        Assert.Equal(ulong.Parse(Regex.Match(segment, @"offset: (\d+) \[bytes\]").Groups[1].Value), c.DataOffsetBytes);
        Assert.Equal((ulong)P15.Json["luks2_data_offset_bytes"]!, c.DataOffsetBytes);
        Assert.Contains("length: (whole device)", segment);
        Assert.Null(c.DataSizeBytes);
        Assert.Equal(Regex.Match(segment, @"cipher: (\S+)").Groups[1].Value, c.Cipher);
        Assert.Equal(uint.Parse(Regex.Match(segment, @"sector: (\d+) \[bytes\]").Groups[1].Value), c.CryptSectorSize);
        Assert.Equal(Regex.Match(segment, @"integrity: (\S+)").Groups[1].Value, c.Integrity);
        Assert.Equal("none", c.JournalEncryption);
        Assert.Equal("none", c.JournalIntegrity);
        Assert.False(c.FromSecondaryHeader);

        // The superblock the fixture script read at the data offset, and the table offset the kernel was given.
        var sb = P15.Json["integrity_superblock_at_data_offset"]!;
        Assert.Equal((ulong)sb["provided_data_sectors"]!, v.ProvidedDataSectors);
        Assert.Equal((int)sb["integrity_tag_size"]!, v.IntegrityTagSize);
        Assert.Equal((int)sb["version"]!, v.SuperblockVersion);
        Assert.Equal((uint)sb["journal_sections"]!, v.JournalSections);
        Assert.Equal((string)P15.Json["dm_table_integrity"]!.ToString().Split(' ')[4], v.ReservedSectors.ToString());
        // dm-crypt's tags: no algorithm of ours is tried.
        Assert.Null(v.AlgorithmDetection);
        Assert.Null(v.Algorithm);
    }

    [Fact]
    public void ReservedSectorsMustAgreeWithTheHeader()
    {
        var loc = new VolumeLocation { Path = P15.Image("clean.img.gz") };
        ulong offset = (ulong)P15.Json["luks2_data_offset_bytes"]! / 512;
        Assert.Equal(offset, VolumeOperations.Inspect(loc with { ReservedSectors = offset }).ReservedSectors);
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(loc with { ReservedSectors = offset + 8 }));
        Assert.Equal(ErrorIds.InvalidParameter, ex.ErrorId);
    }

    [Fact]
    public void TagChecksAndWritesAreRefusedAndTheImageIsUntouched()
    {
        using var copy = P15.CopyOf("clean.img.gz");
        string before = Sha(copy.Path);
        var loc = new VolumeLocation { Path = copy.Path };
        using var input = new TempFile(".bin");
        File.WriteAllBytes(input.Path, new byte[4096]);
        var attempts = new Action[]
        {
            () => VolumeOperations.Verify(new VerifyRequest { Volume = loc }),
            () => VolumeOperations.DetectAlgorithm(loc),
            () => VolumeOperations.ReadSuperblock(loc),
            () => VolumeOperations.Write(new WriteRequest { Volume = loc, InputPath = input.Path }),
        };
        foreach (var attempt in attempts)
        {
            var ex = Assert.Throws<IntegrityVolumeException>(attempt);
            Assert.Equal(ErrorIds.TagsFromCryptLayer, ex.ErrorId);
            Assert.Contains("--name", ex.Message);
        }
        Assert.Equal(before, Sha(copy.Path));
    }

    [Fact]
    public void ADamagedPrimaryHeaderIsReadFromTheSecondary()
    {
        using var copy = P15.CopyOf("clean.img.gz");
        Patch(copy.Path, 4096 + 20, "X"u8);                     // inside the primary JSON: its checksum fails
        var c = VolumeOperations.Inspect(new VolumeLocation { Path = copy.Path }).Container!;
        Assert.True(c.FromSecondaryHeader);
        Assert.Equal((ulong)P15.Json["luks2_data_offset_bytes"]!, c.DataOffsetBytes);
    }

    /// <summary>Damage, the id, and the words of the message that name it (so a wrong checksum cannot pass for another damage).</summary>
    public static TheoryData<string, string, string> BrokenHeaders() => new()
    {
        { "both checksums", ErrorIds.Luks2HeaderInvalid, "sha256 checksum mismatch" },
        { "hdr_size 2^62", ErrorIds.Luks2HeaderInvalid, "hdr_size 4611686018427387904 is not 16 KiB..4 MiB" },
        { "hdr_size beyond the device", ErrorIds.Luks2HeaderInvalid, "beyond the end of the device (65536 bytes)" },
        { "json not closed", ErrorIds.Luks2HeaderInvalid, "the JSON area does not parse" },
        { "json nested 5000 deep", ErrorIds.Luks2HeaderInvalid, "the JSON area does not parse" },
        { "offset not a number", ErrorIds.Luks2HeaderInvalid, "segment 0: \"offset\" is \"10x8576\", not a decimal number" },
        { "offset not sector aligned", ErrorIds.Luks2HeaderInvalid, "\"offset\" 1048577 is not a multiple of 512" },
        { "no segments", ErrorIds.Luks2HeaderInvalid, "no \"segments\" object" },
        { "integrity not an object", ErrorIds.Luks2HeaderInvalid, "\"integrity\" is not an object" },
        { "no integrity", ErrorIds.LuksWithoutIntegrity, "data segment 0 (aes-xts-plain64) has no integrity" },
        { "luks1", ErrorIds.LuksWithoutIntegrity, "a LUKS1 header, not LUKS2" },
    };

    [Theory]
    [MemberData(nameof(BrokenHeaders))]
    public void ABrokenHeaderGetsAStableId(string damage, string id, string words)
    {
        using var copy = P15.CopyOf("clean.img.gz");
        string json = ReadJson(copy.Path, 0);
        const string segment = "\"offset\":\"1048576\"";
        Assert.Contains(segment, json);
        switch (damage)
        {
            case "both checksums":
                Patch(copy.Path, 4096 + 20, "X"u8);
                Patch(copy.Path, 16384 + 4096 + 20, "X"u8);
                break;
            case "hdr_size 2^62":
            case "hdr_size beyond the device":
                ulong size = damage == "hdr_size 2^62" ? 1UL << 62 : 0x400000;   // 4 MiB is legal, but the image is 32 MiB...
                if (size == 0x400000)
                    using (var f = new FileStream(copy.Path, FileMode.Open, FileAccess.Write)) f.SetLength(64 * 1024);   // ...cut to 64 KiB
                foreach (long at in new long[] { 0, 16384 })
                {
                    var b = new byte[8];
                    BinaryPrimitives.WriteUInt64BigEndian(b, size);
                    Patch(copy.Path, at + 8, b);
                }
                break;
            case "json not closed": Rewrite(copy.Path, json[..(json.Length / 2)]); break;
            case "json nested 5000 deep": Rewrite(copy.Path, new string('[', 5000) + new string(']', 5000)); break;
            case "offset not a number": Rewrite(copy.Path, json.Replace(segment, "\"offset\":\"10x8576\"")); break;
            case "offset not sector aligned": Rewrite(copy.Path, json.Replace(segment, "\"offset\":\"1048577\"")); break;
            case "no segments": Rewrite(copy.Path, json.Replace("\"segments\"", "\"segmentz\"")); break;
            case "integrity not an object":
                Rewrite(copy.Path, Regex.Replace(json, "\"integrity\":\\{[^}]*\\}", "\"integrity\":\"hmac(sha256)\""));
                break;
            case "no integrity": Rewrite(copy.Path, Regex.Replace(json, ",\"integrity\":\\{[^}]*\\}", "")); break;
            case "luks1": Patch(copy.Path, 6, new byte[] { 0, 1 }); break;
        }
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.Inspect(new VolumeLocation { Path = copy.Path }));
        Assert.Equal(id, ex.ErrorId);
        Assert.Contains(copy.Path, ex.Message);
        Assert.Contains(words, ex.Message);
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    private static string ReadJson(string path, long headerOffset)
    {
        var area = new byte[16384 - 4096];
        using var f = File.OpenRead(path);
        f.Position = headerOffset + 4096;
        f.ReadExactly(area);
        int nul = Array.IndexOf(area, (byte)0);
        return Encoding.ASCII.GetString(area, 0, nul);
    }

    /// <summary>
    /// Put <paramref name="json"/> into both header copies (0 and 16 KiB) and recompute their SHA-256 as the LUKS2
    /// specification defines it (binary header with the csum field zeroed, then the JSON area), so only the JSON is wrong.
    /// </summary>
    private static void Rewrite(string path, string json)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        foreach (long at in new long[] { 0, 16384 })
        {
            var hdr = new byte[16384];
            f.Position = at;
            f.ReadExactly(hdr);
            hdr.AsSpan(4096).Clear();
            Encoding.ASCII.GetBytes(json).CopyTo(hdr, 4096);
            hdr.AsSpan(448, 64).Clear();
            SHA256.HashData(hdr).CopyTo(hdr, 448);
            f.Position = at;
            f.Write(hdr);
        }
    }
}
