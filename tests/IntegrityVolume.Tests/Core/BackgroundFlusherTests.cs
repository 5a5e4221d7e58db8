using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Format flushes while it writes (BackgroundFlusher). fsync reports a write error once per open file, so an error the
/// background fsync met must come back to the caller instead of being lost to the final fsync.
/// </summary>
public class BackgroundFlusherTests
{
    [Fact]
    public void AnFsyncFailureInTheBackgroundIsRethrownByComplete()
    {
        // fsync of /dev/null fails (EINVAL: a special file that cannot be synchronised).
        using var dev = BlockDevice.Open("/dev/null", write: true);
        var flusher = new BackgroundFlusher(dev);
        var ex = Assert.Throws<IntegrityVolumeException>(flusher.Complete);
        Assert.Equal(ErrorIds.DeviceWriteFailed, ex.ErrorId);
        Assert.Contains("fsync failed", ex.Message);
    }

    [Fact]
    public void WritesMadeWhileFlushingAreAllOnTheFile()
    {
        using var file = new TempFile(".img");
        File.WriteAllBytes(file.Path, new byte[8 << 20]);
        var expected = new byte[8 << 20];
        new Random(5).NextBytes(expected);
        using (var dev = BlockDevice.Open(file.Path, write: true))
        {
            var flusher = new BackgroundFlusher(dev);
            for (int at = 0; at < expected.Length; at += 64 << 10)
                dev.Write(at, expected.AsSpan(at, 64 << 10));
            flusher.Complete();
        }
        Assert.Equal(expected, File.ReadAllBytes(file.Path));
    }
}
