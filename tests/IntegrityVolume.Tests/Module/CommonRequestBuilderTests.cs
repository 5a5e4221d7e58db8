using IntegrityVolume.Core;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

public sealed class CommonRequestBuilderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-req-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File_(string name, byte[] content)
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, content);
        return p;
    }

    [Fact]
    public void Format_maps_every_parameter()
    {
        string key = File_("k", new byte[] { 1, 2, 3, 4 });
        string jkey = File_("jk", new byte[] { 9, 9 });
        var r = RequestBuilder.Format(new FormatParameters
        {
            Path = Path.Combine(_dir, "new.img"), Size = 1 << 20, Algorithm = " hmac-sha256 ", KeyFile = key, TagSize = 16, SectorSize = 4096,
            JournalSize = 1 << 16, InterleaveSectors = 1024, LegacyPadding = true, LegacyHmac = true, JournalIntegrity = "hmac-sha1",
            JournalIntegrityKeyFile = jkey, BitmapSectorsPerBit = 8192, DataDevice = "/dev/data", ReservedSectors = 16, NoWipe = true, Force = true,
        });
        Assert.Equal(Path.Combine(_dir, "new.img"), r.Volume.Path);
        Assert.Equal("/dev/data", r.Volume.DataDevicePath);
        Assert.Equal(16UL, r.Volume.ReservedSectors);
        Assert.Equal(1L << 20, r.CreateSizeBytes);
        Assert.Equal("hmac-sha256", r.Integrity.Algorithm);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, r.Integrity.Key);
        Assert.Equal(16, r.TagSize);
        Assert.Equal(4096, r.SectorSize);
        Assert.Equal(1L << 16, r.JournalSizeBytes);
        Assert.Equal(1024UL, r.InterleaveSectors);
        Assert.True(r.LegacyPadding && r.LegacyHmac && r.NoWipe && r.Force);
        Assert.Equal("hmac-sha1", r.JournalIntegrity);
        Assert.Equal(new byte[] { 9, 9 }, r.JournalIntegrityKey);
        Assert.Equal(8192UL, r.BitmapSectorsPerBit);
        Assert.Null(r.Salt);
    }

    [Fact]
    public void Format_leaves_unbound_values_to_core_defaults()
    {
        var r = RequestBuilder.Format(new FormatParameters { Path = "/dev/sdz" });
        Assert.Null(r.CreateSizeBytes);
        Assert.Null(r.TagSize);
        Assert.Null(r.JournalSizeBytes);
        Assert.Null(r.InterleaveSectors);
        Assert.Null(r.BitmapSectorsPerBit);
        Assert.Null(r.Volume.DataDevicePath);
        Assert.Null(r.Integrity.Key);
        Assert.Null(r.JournalIntegrity);
        Assert.Equal("crc32c", r.Integrity.Algorithm);
        Assert.Equal(512, r.SectorSize);
        Assert.False(r.Force || r.NoWipe || r.LegacyHmac || r.LegacyPadding);
    }

    [Fact]
    public void Journal_key_without_journal_algorithm_is_InvalidParameter()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => RequestBuilder.Format(new FormatParameters
            { Path = "/dev/sdz", JournalIntegrityKeyFile = File_("jk", new byte[] { 1 }) }));
        Assert.Equal(ErrorIds.InvalidParameter, ex.ErrorId);
        Assert.Contains("-JournalIntegrity", ex.Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-512L)]
    public void Non_positive_size_is_InvalidSize(long size)
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => RequestBuilder.Format(new FormatParameters { Path = Path.Combine(_dir, "x.img"), Size = size }));
        Assert.Equal(ErrorIds.InvalidSize, ex.ErrorId);
    }

    [Fact]
    public void Size_on_an_existing_file_needs_Force()
    {
        string existing = File_("exists.img", new byte[4096]);
        // -WhatIf (PlanFormat) refuses as the real format does.
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.PlanFormat(RequestBuilder.Format(new FormatParameters { Path = existing, Size = 1 << 20 })));
        Assert.Equal(ErrorIds.FileExists, ex.ErrorId);
        Assert.Equal(ErrorKind.ResourceExists, ex.Kind);
        Assert.Equal(existing, ex.Target);
        Assert.NotNull(RequestBuilder.Format(new FormatParameters { Path = existing, Size = 1 << 20, Force = true }));
    }

    [Fact]
    public void A_bad_journal_key_scrubs_the_tag_key_already_read()
    {
        string key = File_("k", new byte[] { 5, 5, 5 });
        Assert.Throws<IntegrityVolumeException>(() => RequestBuilder.Format(new FormatParameters
            { Path = "/dev/sdz", KeyFile = key, JournalIntegrity = "hmac-sha256", JournalIntegrityKeyFile = Path.Combine(_dir, "missing") }));
    }

    [Fact]
    public void Scrub_zeroes_key_material()
    {
        var r = RequestBuilder.Format(new FormatParameters
        {
            Path = "/dev/sdz", Algorithm = "hmac-sha256", KeyFile = File_("k", new byte[] { 1, 2 }),
            JournalIntegrity = "hmac-sha256", JournalIntegrityKeyFile = File_("jk", new byte[] { 3, 4 }),
        });
        var key = r.Integrity.Key!;
        var jkey = r.JournalIntegrityKey!;
        RequestBuilder.Scrub(r);
        Assert.All(key, b => Assert.Equal(0, b));
        Assert.All(jkey, b => Assert.Equal(0, b));
        RequestBuilder.Scrub((FormatRequest?)null);
        RequestBuilder.Scrub((IntegrityAlgorithmSpec?)null);
    }

    [Fact]
    public void Verify_maps_threads_and_volume()
    {
        var r = RequestBuilder.Verify(new VolumeParameters { Path = "/img/a", DataDevice = "", ReservedSectors = 8, Algorithm = "", ThrottleLimit = 3 });
        Assert.Equal("/img/a", r.Volume.Path);
        Assert.Null(r.Volume.DataDevicePath);
        Assert.Equal(8UL, r.Volume.ReservedSectors);
        Assert.Equal("crc32c", r.Integrity.Algorithm);
        Assert.Equal(3, r.Threads);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() =>
            RequestBuilder.Verify(new VolumeParameters { Path = "/img/a", ThrottleLimit = -1 })).ErrorId);
    }

    [Fact]
    public void Verify_maps_the_journal_integrity_and_scrubs_both_keys()
    {
        var r = RequestBuilder.Verify(new VolumeParameters
        {
            Path = "/img/a", Algorithm = "hmac-sha256", KeyFile = File_("k", new byte[] { 1 }),
            JournalIntegrity = " hmac-sha256 ", JournalIntegrityKeyFile = File_("jk", new byte[] { 2, 3 }),
        });
        Assert.Equal("hmac-sha256", r.JournalIntegrity);
        Assert.Equal(new byte[] { 2, 3 }, r.JournalIntegrityKey);
        var (key, jkey) = (r.Integrity.Key!, r.JournalIntegrityKey!);
        RequestBuilder.Scrub(r);
        Assert.All(key.Concat(jkey), b => Assert.Equal(0, b));
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() =>
            RequestBuilder.Verify(new VolumeParameters { Path = "/img/a", JournalIntegrityKeyFile = File_("jk2", new byte[] { 1 }) })).ErrorId);
        Assert.Null(RequestBuilder.Verify(new VolumeParameters { Path = "/img/a", JournalIntegrity = "" }).JournalIntegrity);
    }

    [Fact]
    public void Inspect_and_Write_map_their_parameters()
    {
        var loc = RequestBuilder.Inspect(new VolumeParameters { Path = "/img/a", DataDevice = "/img/d", ReservedSectors = 2 });
        Assert.Equal(new VolumeLocation { Path = "/img/a", DataDevicePath = "/img/d", ReservedSectors = 2 }, loc);
        var w = RequestBuilder.Write(new WriteParameters { Path = "/img/a", InputPath = "/in", OffsetSector = 64, Algorithm = "xxhash64" });
        Assert.Equal("/in", w.InputPath);
        Assert.Equal(64UL, w.OffsetSectors);
        Assert.Equal("xxhash64", w.Integrity.Algorithm);
        Assert.Null(w.Integrity.Key);
    }

    [Fact]
    public void ShouldProcess_texts_name_the_target_and_the_size()
    {
        var request = new FormatRequest { Volume = new VolumeLocation { Path = "/dev/sdb" } };
        var info = Plan(Path.Combine(_dir, "p.img"));
        Assert.Equal($"/dev/sdb ({info.DeviceBytes} bytes)", RequestBuilder.FormatTarget(request, info));
        var withData = request with { Volume = new VolumeLocation { Path = "/dev/sdb", DataDevicePath = "/dev/sdc" } };
        Assert.Equal($"/dev/sdb ({info.DeviceBytes} bytes) with data device /dev/sdc", RequestBuilder.FormatTarget(withData, info));
        Assert.Equal("Format dm-integrity volume", RequestBuilder.FormatAction);

        string input = File_("in.bin", new byte[1000]);
        var write = new WriteRequest { Volume = new VolumeLocation { Path = "/v" }, InputPath = input, OffsetSectors = 8 };
        Assert.Equal($"Write 1000 bytes from '{input}' at sector 8 (data and tags)", RequestBuilder.WriteAction(write));

        var text = ShouldProcessText.For("/dev/sdb (1 bytes)", "Format dm-integrity volume");
        Assert.Equal("Performing the operation \"Format dm-integrity volume\" on target \"/dev/sdb (1 bytes)\".", text.Description);
        Assert.EndsWith(text.Description, text.Warning);
        Assert.Equal("Confirm", text.Caption);
    }

    private static VolumeInfo Plan(string path) =>
        VolumeOperations.PlanFormat(RequestBuilder.Format(new FormatParameters { Path = path, Size = 4 << 20 })).Volume;
}
