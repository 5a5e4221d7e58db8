using IntegrityVolume.Core;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// The offline verifier reads tags per work item (4 MiB of data) and data per 512 KiB piece: blocks corrupted on
/// either side of a piece and an item boundary, and in the last block, are each reported, and nothing else.
/// </summary>
public class VerifierPieceTests
{
    [Theory]
    [InlineData(4096)]
    [InlineData(512)]
    public void CorruptBlocksAtPieceAndItemBoundariesAreEachReported(int blockSize)
    {
        using var image = new TempFile(".img");
        using var input = new TempFile(".bin");
        VolumeOperations.Format(new FormatRequest { Volume = new VolumeLocation { Path = image.Path }, CreateSizeBytes = 24 << 20, SectorSize = blockSize });
        ulong dataBlocks;
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = image.Path }, write: false))
            dataBlocks = v.Geometry.ProvidedDataSectors / (ulong)(blockSize / 512);
        var content = new byte[(long)dataBlocks * blockSize];
        new Random(blockSize).NextBytes(content);
        File.WriteAllBytes(input.Path, content);
        VolumeOperations.Write(new WriteRequest { Volume = new VolumeLocation { Path = image.Path }, InputPath = input.Path });

        ulong piece = (ulong)((512 << 10) / blockSize), item = 8 * piece;
        var bad = new[] { piece - 1, piece, item - 1, item, item + 3 * piece + 5, dataBlocks - 1 };
        int spb = blockSize / 512;
        using (var v = VolumeOperations.OpenVolume(new VolumeLocation { Path = image.Path }, write: false))
        using (var f = new FileStream(image.Path, FileMode.Open, FileAccess.ReadWrite))
            foreach (ulong b in bad)
            {
                f.Position = (long)v.Geometry.DataSector(b * (ulong)spb) * 512 + 100;
                int old = f.ReadByte();
                f.Position--;
                f.WriteByte((byte)(old ^ 0x5A));
            }

        var r = VolumeOperations.Verify(new VerifyRequest { Volume = new VolumeLocation { Path = image.Path }, Threads = 2 });
        Assert.False(r.Healthy);
        Assert.Equal((ulong)bad.Length, r.MismatchedBlocks);
        Assert.Equal(dataBlocks - (ulong)bad.Length, r.ValidBlocks);
        var reported = r.MismatchedSectors.SelectMany(x => Enumerable.Range(0, (int)x.Sectors).Select(i => x.Start + (ulong)i)).ToArray();
        var expected = bad.SelectMany(b => Enumerable.Range(0, spb).Select(i => b * (ulong)spb + (ulong)i)).OrderBy(s => s).ToArray();
        Assert.Equal(expected, reported);
    }
}
