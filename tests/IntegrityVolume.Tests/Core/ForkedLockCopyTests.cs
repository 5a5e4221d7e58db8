using System.Diagnostics;
using System.Runtime.InteropServices;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Tests.Fixtures;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// A child that this process starts holds copies of its descriptors, and so of its flock locks, until it execs (or
/// for its whole life, when a descriptor lacks O_CLOEXEC). Such a copy of a lock this process has let go of is not
/// another process using the volume: the lock is waited for (bounded), not reported as DeviceInUse. Seen as a flaky
/// DeviceInUse in xunit runs under load, where other tests start ivol child processes in parallel.
/// </summary>
public class ForkedLockCopyTests
{
    [DllImport("libc", SetLastError = true)] private static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int flock(int fd, int operation);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    private const int O_RDWR = 2, LOCK_EX = 2;

    [Fact]
    public void ALockHeldOnlyByAChildsCopyOfThisProcesssDescriptorIsWaitedFor()
    {
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var release = new TempFile(".release");
        // This process locks the image through a descriptor without O_CLOEXEC, starts a child (which inherits it
        // through exec), and closes its own: the lock now lives only in the child's copy, owned by this process's pid.
        int fd = open(copy.Path, O_RDWR);
        Assert.True(fd >= 0);
        Assert.Equal(0, flock(fd, LOCK_EX));
        using var child = Process.Start(new ProcessStartInfo("/bin/sh", new[] { "-c", $"echo started; while [ ! -e '{release.Path}' ]; do sleep 0.05; done" })
            { RedirectStandardOutput = true })!;
        Assert.Equal("started", child.StandardOutput.ReadLine());
        close(fd);

        var opening = Task.Run(() => BlockDevice.Open(copy.Path, write: true));
        // Still waiting while the child holds the copy (a DeviceInUse would have completed the task).
        Assert.False(opening.Wait(1000), $"the open did not wait: {opening.Exception?.GetBaseException().Message}");
        File.WriteAllText(release.Path, "");
        child.WaitForExit();
        using (var device = opening.Result) Assert.True(device.Writable);
    }

    [Fact]
    public void ALockThisProcessHoldsItselfIsInUseAtOnce()
    {
        // Two users of one volume inside one process (two runspaces of one pwsh) are a real conflict.
        using var copy = new FixtureCase("p01").CopyOf("clean.img.gz");
        using var writer = BlockDevice.Open(copy.Path, write: true);
        var ex = Assert.Throws<IntegrityVolumeException>(() => BlockDevice.Open(copy.Path, write: false));
        Assert.Equal(ErrorIds.DeviceInUse, ex.ErrorId);
        Assert.DoesNotContain("started by this one", ex.Message);
    }
}
