using IntegrityVolume.Core.Hashing;
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

    // The cmdlets build Core requests themselves (issue 14 item 3); what stays here is the intake the cmdlets share.

    [Fact]
    public void Journal_integrity_is_trimmed_and_its_key_read()
    {
        var (algorithm, key) = RequestBuilder.JournalIntegrity(" hmac-sha1 ", File_("jk", new byte[] { 9, 9 }));
        Assert.Equal("hmac-sha1", algorithm!.IntegritysetupName);
        Assert.Equal(new byte[] { 9, 9 }, key!.Span.ToArray());
        Assert.Equal((null, null), RequestBuilder.JournalIntegrity("", null));
        Assert.Equal((null, null), RequestBuilder.JournalIntegrity(null, null));
    }

    [Fact]
    public void An_image_in_a_missing_folder_is_DeviceNotFound_naming_the_folder()
    {
        string missing = Path.Combine(_dir, "no-such-folder", "a.img");
        var ex = Assert.Throws<IntegrityVolumeException>(() => RequestBuilder.RequireParentFolder(missing));
        Assert.Equal(ErrorIds.DeviceNotFound, ex.ErrorId);
        Assert.Equal(missing, ex.Target);
        Assert.Contains(Path.Combine(_dir, "no-such-folder"), ex.Message);
        RequestBuilder.RequireParentFolder(Path.Combine(_dir, "a.img"));
    }

    [Fact]
    public void Size_on_an_existing_file_needs_Force()
    {
        string existing = File_("exists.img", new byte[4096]);
        // -WhatIf (PlanFormat) refuses as the real format does.
        var ex = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.PlanFormat(FormatOf(existing, 1 << 20)));
        Assert.Equal(ErrorIds.FileExists, ex.ErrorId);
        Assert.Equal(ErrorKind.ResourceExists, ex.Kind);
        Assert.Equal(existing, ex.Target);
    }

    [Fact]
    public void Disposing_a_request_disposes_its_key()
    {
        var key = new IntegrityKey(new byte[] { 1, 2 });
        var request = new WriteRequest
        {
            Volume = new VolumeLocation { Path = "/tmp/x" }, InputPath = "/tmp/in",
            Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse("hmac-sha256"), Key = key },
        };
        request.Dispose();
        Assert.True(key.IsDisposed);
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

    private static FormatRequest FormatOf(string path, long? size) => new() { Volume = new VolumeLocation { Path = path }, CreateSizeBytes = size };

    private static VolumeInfo Plan(string path) => VolumeOperations.PlanFormat(FormatOf(path, 4 << 20)).Volume;
}
