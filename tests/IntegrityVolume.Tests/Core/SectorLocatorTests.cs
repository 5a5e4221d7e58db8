using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IntegrityVolume.Core;
using IntegrityVolume.Core.FileSystems;
using IntegrityVolume.Tests.Cli;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Bad block → file on real file systems built by mkfs (populated without mounting: mkfs.ext4 -d, mkfs.xfs -p). Where a
/// file's block lives is found independently of the tools under test: by searching the image for the block's distinct
/// content; free and metadata blocks come from dumpe2fs (ext4) and xfs_db freesp (xfs), not from icheck/blockuse.
/// </summary>
public sealed class SectorLocatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-locate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>4096 bytes no other block of the image holds: the file name and block index, repeated.</summary>
    internal static byte[] Block(string file, int index)
    {
        var b = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"<{file}:{index:D4}>", 4096)));
        return b[..4096];
    }

    internal static void WriteBlocks(string path, string name, int blocks)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        for (int i = 0; i < blocks; i++) f.Write(Block(name, i));
    }

    /// <summary>The byte offset of <paramref name="pattern"/> in the image (4 KiB aligned search), -1 when absent.</summary>
    internal static long Find(string image, byte[] pattern)
    {
        using var f = File.OpenRead(image);
        var buf = new byte[1 << 20];
        long pos = 0;
        int n;
        while ((n = f.Read(buf, 0, buf.Length)) > 0)
        {
            for (int i = 0; i + pattern.Length <= n; i += 4096)
                if (buf.AsSpan(i, pattern.Length).SequenceEqual(pattern)) return pos + i;
            pos += n;
        }
        return -1;
    }

    private static string Tool(string name, params string[] args)
    {
        var exe = new[] { "/usr/sbin", "/sbin", "/usr/bin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists) ?? name;
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{name} {string.Join(' ', args)} failed: {err.Result}");
        return o;
    }

    private string Ext4Image()
    {
        string src = Path.Combine(_dir, "src");
        WriteBlocks(Path.Combine(src, "alpha.bin"), "alpha", 6);
        WriteBlocks(Path.Combine(src, "sub dir", "beta.txt"), "beta", 3);
        string img = Path.Combine(_dir, "ext4.img");
        Tool("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", src, img, "16M");
        return img;
    }

    private static ulong Sector(long offset) => (ulong)offset / 512;

    [Ext4Fact]
    public void Ext4SectorsOfAFileNameItsPathAndByteOffset()
    {
        string img = Ext4Image();
        long a3 = Find(img, Block("alpha", 3)), a4 = Find(img, Block("alpha", 4)), b1 = Find(img, Block("beta", 1));
        Assert.True(a3 > 0 && b1 > 0);
        // Three sectors inside alpha's block 3, and the whole of beta's block 1.
        var r = SectorLocator.Locate(img, new[] { new SectorRange(Sector(a3) + 1, 3), new SectorRange(Sector(b1), 8) });
        Assert.Equal("ext4", r.FileSystem);
        Assert.Empty(r.Warnings);
        Assert.Equal(4096, r.BlockSize);
        Assert.Equal(2, r.Owners.Length);
        var a = r.Owners[0];
        Assert.Equal((BlockOwnerKind.File, "/alpha.bin", 3UL * 4096 + 512, 1536UL), (a.Kind, a.Path, a.FileOffset, a.Length));
        Assert.Equal((ulong)a3 / 4096, a.Block);
        Assert.NotNull(a.Inode);
        var b = r.Owners[1];
        Assert.Equal((BlockOwnerKind.File, "/sub dir/beta.txt", 4096UL, 4096UL), (b.Kind, b.Path, b.FileOffset, b.Length));
        Assert.NotEqual(a.Inode, b.Inode);

        // Two physically consecutive blocks of one file at consecutive offsets: one piece.
        Assert.Equal(a3 + 4096, a4);
        var two = SectorLocator.Locate(img, new[] { new SectorRange(Sector(a3), 16) });
        Assert.Equal((3UL * 4096, 8192UL, 2UL), (two.Owners.Single().FileOffset, two.Owners.Single().Length, two.Owners.Single().Blocks));
    }

    [Ext4Fact]
    public void Ext4FreeAndMetadataBlocksOwnNoFile()
    {
        string img = Ext4Image();
        // dumpe2fs, not debugfs, says which blocks are free and where the inode table is.
        string groups = Tool("dumpe2fs", img);
        var free = Regex.Match(groups, @"Free blocks: (\d+)-(\d+)");
        var itable = Regex.Match(groups, @"Inode table at (\d+)-(\d+)");
        Assert.True(free.Success && itable.Success, groups);
        ulong freeBlock = ulong.Parse(free.Groups[2].Value), itableBlock = ulong.Parse(itable.Groups[1].Value) + 1;
        var r = SectorLocator.Locate(img, new[]
        {
            new SectorRange(2, 2),                        // the primary superblock (byte 1024)
            new SectorRange(itableBlock * 8 + 3, 1),      // inside the inode table
            new SectorRange(freeBlock * 8, 8),            // a free block
        });
        Assert.Equal(new[] { BlockOwnerKind.Metadata, BlockOwnerKind.Metadata, BlockOwnerKind.FreeSpace }, r.Owners.Select(o => o.Kind));
        Assert.All(r.Owners, o => Assert.Null(o.Path));
        Assert.All(r.Owners, o => Assert.Null(o.FileOffset));
        Assert.Equal(freeBlock, r.Owners[2].Block);
    }

    /// <summary>Every block of the image in one call (debugfs command lines are split under its 8 KiB line buffer): each
    /// sector is in exactly one piece, and the file's six blocks form one piece at offset 0.</summary>
    [Ext4Fact]
    public void TheWholeDeviceResolvesInPiecesThatCoverEverySectorOnce()
    {
        string img = Ext4Image();
        ulong sectors = (ulong)new FileInfo(img).Length / 512;
        var r = SectorLocator.Locate(img, new[] { new SectorRange(0, sectors) });
        Assert.Equal((sectors / 8, 0UL), (r.BlocksResolved, r.BlocksSkipped));
        Assert.Empty(r.Warnings);
        ulong next = 0;
        foreach (var o in r.Owners)
        {
            Assert.Equal(next, o.Sectors.Start);
            Assert.Equal(o.Sectors.Sectors * 512, o.Length);
            next = o.Sectors.End;
        }
        Assert.Equal(sectors, next);
        long a0 = Find(img, Block("alpha", 0));
        var alpha = r.Owners.Single(o => o.Path == "/alpha.bin");
        Assert.Equal(((ulong)a0 / 512, 0UL, 6UL * 4096), (alpha.Sectors.Start, alpha.FileOffset, alpha.Length));
        Assert.Contains(r.Owners, o => o.Kind == BlockOwnerKind.FreeSpace);
        Assert.Contains(r.Owners, o => o.Kind == BlockOwnerKind.Directory && o.Path == "/sub dir");
        Assert.Contains(r.Owners, o => o.Kind == BlockOwnerKind.Metadata && o.Detail == "journal (inode 8)");
    }

    [Ext4Fact]
    public void RangesBeyondTheCapAreCountedAndNamedInAWarning()
    {
        string img = Ext4Image();
        long a0 = Find(img, Block("alpha", 1));
        var r = SectorLocator.Locate(img, new[] { new SectorRange(Sector(a0), 32) }, maxBlocks: 2);
        Assert.Equal((2UL, 2UL), (r.BlocksResolved, r.BlocksSkipped));
        Assert.Contains(r.Warnings, w => w.Contains("2 more blocks", StringComparison.Ordinal));
        Assert.Equal((4096UL, 8192UL), (r.Owners.Single().FileOffset, r.Owners.Single().Length));
    }

    [Ext4Fact]
    public void NoFileSystemAndRangesOutsideTheDeviceHaveStableIds()
    {
        string zeros = Path.Combine(_dir, "zeros.img");
        File.WriteAllBytes(zeros, new byte[1 << 20]);
        var e = Assert.Throws<IntegrityVolumeException>(() => SectorLocator.Locate(zeros, new[] { new SectorRange(8, 8) }));
        Assert.Equal(ErrorIds.FileSystemNotRecognized, e.ErrorId);

        string img = Ext4Image();
        ulong sectors = (ulong)new FileInfo(img).Length / 512;
        e = Assert.Throws<IntegrityVolumeException>(() => SectorLocator.Locate(img, new[] { new SectorRange(sectors - 4, 8) }));
        Assert.Equal(ErrorIds.OffsetOutOfRange, e.ErrorId);
    }

    /// <summary>debugfs exits 0 on a file system whose group descriptors are garbage and answers wrongly: what it says on
    /// stderr must reach the caller as a warning.</summary>
    [Ext4Fact]
    public void WhatTheToolSaysOfADamagedFileSystemIsAWarning()
    {
        string img = Ext4Image();
        long a1 = Find(img, Block("alpha", 1));
        Assert.Empty(SectorLocator.Locate(img, new[] { new SectorRange(Sector(a1), 1) }).Warnings);
        using (var f = File.OpenWrite(img)) { f.Seek(4096, SeekOrigin.Begin); f.Write(Enumerable.Repeat((byte)0xff, 4096).ToArray()); }
        var r = SectorLocator.Locate(img, new[] { new SectorRange(Sector(a1), 1) });
        Assert.Contains(r.Warnings, w => w.StartsWith("debugfs reported: ", StringComparison.Ordinal) && w.Contains("e2fsck -fn", StringComparison.Ordinal));
    }

    /// <summary>A cancelled token stops the call before any tool runs; the classifier reports OperationCancelled.</summary>
    [Ext4Fact]
    public void ACancelledCallStopsWithOperationCancelled()
    {
        string img = Ext4Image();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex = Assert.ThrowsAny<OperationCanceledException>(() => SectorLocator.Locate(img, new[] { new SectorRange(8, 8) }, cts.Token));
        Assert.Equal(ErrorIds.OperationCancelled, ErrorClassifier.Classify(ex)!.ErrorId);
    }

    [Fact]
    public void AMissingToolHasAStableId()
    {
        var e = Assert.Throws<IntegrityVolumeException>(() => FileSystemTool.Require("ivol-no-such-fs-tool", "e2fsprogs", "/dev/x"));
        Assert.Equal(ErrorIds.FileSystemToolMissing, e.ErrorId);
        Assert.Contains("apt-get install e2fsprogs", e.Message, StringComparison.Ordinal);
    }

    [Ext4Fact]
    public void IvolLocatePrintsTheOwnersAsJson()
    {
        string img = Ext4Image();
        long b2 = Find(img, Block("beta", 2));
        var (code, stdout, stderr) = CliTests.Ivol("locate", img, "--sectors", $"{Sector(b2) + 7},2", "--json");
        Assert.True(code == 0, stderr);
        var j = JsonNode.Parse(stdout)!;
        Assert.Equal("ext4", (string?)j["fileSystem"]);
        var owners = j["owners"]!.AsArray();
        Assert.Equal(("/sub dir/beta.txt", 2UL * 4096 + 3584, "file"), ((string?)owners[0]!["path"], (ulong)owners[0]!["fileOffset"]!, (string?)owners[0]!["kind"]));
        Assert.Equal("metadata", (string?)owners[1]!["kind"]);

        var (bad, _, err) = CliTests.Ivol("locate", img, "--sectors", "40000-40100", "--json");
        Assert.Equal(ExitCodes.UsageError, bad);
        Assert.Equal(ErrorIds.OffsetOutOfRange, (string?)JsonNode.Parse(err)!["error"]);
    }

    [XfsFact]
    public void XfsSectorsOfAFileNameItsPathAndByteOffset()
    {
        string src = Path.Combine(_dir, "src");
        WriteBlocks(Path.Combine(src, "alpha.bin"), "xalpha", 6);
        WriteBlocks(Path.Combine(src, "sub", "beta.txt"), "xbeta", 3);
        string proto = Path.Combine(_dir, "proto");
        File.WriteAllText(proto, $"boot\n0 0\nd--755 0 0\nalpha.bin ---644 0 0 {src}/alpha.bin\nsub d--755 0 0\nbeta.txt ---644 0 0 {src}/sub/beta.txt\n$\n$\n");
        string img = Path.Combine(_dir, "xfs.img");
        using (var f = File.Create(img)) f.SetLength(300L << 20);   // mkfs.xfs 6.x refuses less than 300 MiB
        Tool("mkfs.xfs", "-q", "-f", "-b", "size=4096", "-p", proto, img);
        long a5 = Find(img, Block("xalpha", 5)), b0 = Find(img, Block("xbeta", 0));
        Assert.True(a5 > 0 && b0 > 0);
        // A free extent as xfs_db's free-space btree walk lists it (agno agbno len), and the agblocks to make it linear.
        string fsp = Tool("xfs_db", "-r", "-f", "-c", "freesp -d", img);
        var big = Regex.Matches(fsp, @"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", RegexOptions.Multiline).Select(m => (Ag: ulong.Parse(m.Groups[1].Value), Bno: ulong.Parse(m.Groups[2].Value), Len: ulong.Parse(m.Groups[3].Value))).Where(x => x.Len > 100).First();
        ulong agblocks = ulong.Parse(Regex.Match(Tool("xfs_db", "-r", "-f", "-c", "sb 0", "-c", "print agblocks", img), @"agblocks = (\d+)").Groups[1].Value);
        ulong freeBlock = big.Ag * agblocks + big.Bno + 50;

        var r = SectorLocator.Locate(img, new[]
        {
            new SectorRange(Sector(a5) + 4, 4), new SectorRange(Sector(b0), 8), new SectorRange(0, 1), new SectorRange(freeBlock * 8, 8),
        });
        Assert.Equal("xfs", r.FileSystem);
        Assert.Empty(r.Warnings);
        Assert.Equal(4, r.Owners.Length);
        Assert.Equal((BlockOwnerKind.File, "/alpha.bin", 5UL * 4096 + 2048, 2048UL), (r.Owners[0].Kind, r.Owners[0].Path, r.Owners[0].FileOffset, r.Owners[0].Length));
        Assert.Equal((BlockOwnerKind.File, "/sub/beta.txt", 0UL, 4096UL), (r.Owners[1].Kind, r.Owners[1].Path, r.Owners[1].FileOffset, r.Owners[1].Length));
        Assert.Equal((BlockOwnerKind.Metadata, "xfs sb"), (r.Owners[2].Kind, r.Owners[2].Detail));
        Assert.Equal(BlockOwnerKind.FreeSpace, r.Owners[3].Kind);
        Assert.Null(r.Owners[3].Path);
    }
}

/// <summary>A fact that needs these tools (e2fsprogs, xfsprogs); CI installs both (.ci/run), a bare host may lack them.</summary>
public class ToolsFactAttribute : FactAttribute
{
    public ToolsFactAttribute(string package, params string[] tools)
    {
        var missing = tools.Where(t => !new[] { "/usr/sbin", "/sbin", "/usr/bin" }.Any(d => File.Exists(Path.Combine(d, t)))).ToArray();
        if (missing.Length > 0) Skip = $"{string.Join(", ", missing)} ({package}) not installed: apt-get install {package}";
    }
}

/// <summary>mkfs.ext4, debugfs, dumpe2fs (e2fsprogs).</summary>
public sealed class Ext4FactAttribute() : ToolsFactAttribute("e2fsprogs", "mkfs.ext4", "debugfs", "dumpe2fs");

/// <summary>mkfs.xfs, xfs_db (xfsprogs).</summary>
public sealed class XfsFactAttribute() : ToolsFactAttribute("xfsprogs", "mkfs.xfs", "xfs_db");
