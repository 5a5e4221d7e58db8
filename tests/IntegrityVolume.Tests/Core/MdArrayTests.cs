using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// md arrays (issue 16): the texts md writes in /sys/block/mdX/md, as kernel 6.1 wrote them in the guest run of
/// tests/kernel/scenarios/20-array-scrub.sh, and the stable ids for names that are no md array. The arrays themselves
/// (status, scrub, stop) are exercised against the real kernel by that scenario.
/// </summary>
public class MdArrayTests
{
    [Fact]
    public void Sync_completed_idle_running_and_delayed()
    {
        Assert.Equal(MdSyncCompleted.None, MdSysfs.ParseSyncCompleted("none"));
        Assert.Equal(new MdSyncCompleted(true, false, 1536, 32512), MdSysfs.ParseSyncCompleted("1536 / 32512"));
        Assert.True(MdSysfs.ParseSyncCompleted("delayed").Delayed);
        foreach (var bad in new[] { "12", "a / b", "1 / 2 / 3", "-1 / 5" })
            Assert.Throws<FormatException>(() => MdSysfs.ParseSyncCompleted(bad));
    }

    /// <summary>/sys/block/md126/md of a clean RAID1 over two integrity legs before any check (run of 2026-12-03, 6.1.0-57).</summary>
    [Fact]
    public void Idle_raid1_as_the_kernel_wrote_it()
    {
        Assert.Equal(MdSyncCompleted.None, MdSysfs.ParseSyncCompleted("none"));   // sync_completed
        Assert.Equal(0UL, MdSysfs.ParseNumber("0"));                             // mismatch_cnt, degraded, chunk_size, sync_min
        Assert.Equal(2UL, MdSysfs.ParseNumber("2"));                             // raid_disks
        Assert.Equal(20UL, MdSysfs.ParseNumber("20"));                           // max_read_errors
        Assert.Equal(new[] { "in_sync" }, MdSysfs.ParseLegState("in_sync"));     // dev-dm-1/state
        Assert.Equal(0, MdSysfs.ParseSlot("0"));                                 // dev-dm-1/slot
    }

    [Fact]
    public void Leg_state_slot_and_counters()
    {
        Assert.Equal(new[] { "in_sync" }, MdSysfs.ParseLegState("in_sync"));
        Assert.Equal(new[] { "faulty", "write_error" }, MdSysfs.ParseLegState("faulty,write_error"));
        Assert.Empty(MdSysfs.ParseLegState(""));
        Assert.Equal(1, MdSysfs.ParseSlot("1"));
        Assert.Null(MdSysfs.ParseSlot("none"));
        Assert.Throws<FormatException>(() => MdSysfs.ParseSlot("x"));
        Assert.Equal(2UL, MdSysfs.ParseNumber("2"));
        Assert.Equal(3UL, MdSysfs.ParseNumber("3 (2)"));   // raid_disks during a reshape
        Assert.Null(MdSysfs.ParseNumber("none"));
        Assert.Equal("dm-3", MdSysfs.LegKernelName("dev-dm-3"));
        Assert.Null(MdSysfs.LegKernelName("bitmap"));
    }

    [Fact]
    public void A_link_left_by_a_stopped_array_is_no_array()
    {
        // Without udev, /dev/md/NAME outlives mdadm --stop: dangling, it names no array (not "not an md array").
        string dir = Directory.CreateTempSubdirectory("ivol-mdlink").FullName;
        try
        {
            string link = Path.Combine(dir, "gone");
            File.CreateSymbolicLink(link, Path.Combine(dir, "md127"));
            var e = Assert.Throws<IntegrityVolumeException>(() => MdSysfs.ResolveKernelName(link));
            Assert.Equal(ErrorIds.ArrayNotFound, e.ErrorId);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Bad_block_log_in_leg_sectors()
    {
        // dev-*/bad_blocks as md.c badblocks_show prints it ("%llu %d\n"); the entries of docs/raid-experiments.md (b).
        Assert.Equal(new[] { new SectorRange(3544, 8), new SectorRange(4544, 8) }, MdSysfs.ParseBadBlocks("3544 8\n4544 8\n"));
        Assert.Empty(MdSysfs.ParseBadBlocks(""));
        Assert.Empty(MdSysfs.ParseBadBlocks(null));
        Assert.Throws<FormatException>(() => MdSysfs.ParseBadBlocks("3544"));
        Assert.Throws<FormatException>(() => MdSysfs.ParseBadBlocks("3544 0"));
    }

    [Theory]
    [InlineData("md999", ErrorIds.ArrayNotFound)]
    [InlineData("/dev/md/no-such-array", ErrorIds.ArrayNotFound)]
    [InlineData("/dev/null", ErrorIds.NotAnMdArray)]
    [InlineData("../md0", ErrorIds.ArrayNotFound)]
    [InlineData("  ", ErrorIds.InvalidParameter)]
    public void Names_that_are_no_md_array_get_stable_ids(string array, string id)
    {
        var e = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.GetArray(array));
        Assert.Equal(id, e.ErrorId);
        var s = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.ScrubArray(new ArrayScrubRequest { Array = array }));
        Assert.Equal(id, s.ErrorId);
        // A replacement is refused before anything is created or formatted.
        string newLeg = Path.Combine(Path.GetTempPath(), $"ivol-no-leg-{Guid.NewGuid():n}.img");
        var r = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.ReplaceArrayLeg(
            new ArrayLegReplaceRequest { Array = array, Leg = "leg1", NewDevice = newLeg, NewName = "leg1b" }));
        Assert.Equal(id, r.ErrorId);
        Assert.False(File.Exists(newLeg));
    }

    [Theory]
    [InlineData("", "/tmp/x.img", "x")]
    [InlineData("leg1", " ", "x")]
    [InlineData("leg1", "/tmp/x.img", "")]
    public void A_replacement_needs_the_leg_the_device_and_the_name(string leg, string device, string name)
    {
        var e = Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.ReplaceArrayLeg(
            new ArrayLegReplaceRequest { Array = "md999", Leg = leg, NewDevice = device, NewName = name }));
        Assert.Equal(ErrorIds.InvalidParameter, e.ErrorId);
    }

    [Fact]
    public void A_regular_file_is_no_md_array()
    {
        string f = Path.GetTempFileName();
        try { Assert.Equal(ErrorIds.NotAnMdArray, Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.GetArray(f)).ErrorId); }
        finally { File.Delete(f); }
    }

    [Fact]
    public void A_busy_array_exits_5_and_a_missing_one_2()
    {
        Assert.Equal(ExitCodes.Busy, ErrorClassifier.Classify(new IntegrityVolumeException(ErrorIds.ArrayBusy, ErrorKind.ResourceBusy, "m"))!.ExitCode);
        Assert.Equal(ExitCodes.UsageError, ErrorClassifier.Classify(Assert.Throws<IntegrityVolumeException>(() => VolumeOperations.GetArray("md999")))!.ExitCode);
    }

    /// <summary>MdSysfs.Write: the one writer of md's attributes (scrub start/stop, a cancelled replace's undo).</summary>
    [Fact]
    public void An_attribute_write_lands_and_a_refused_one_is_ArrayBusy_with_its_words()
    {
        string dir = Directory.CreateTempSubdirectory("ivol-mdsysfs").FullName;
        try
        {
            MdSysfs.Write(dir, "sync_action", "check");
            Assert.Equal("check", MdSysfs.Read(dir, "sync_action"));

            // A write the kernel answers with an errno (here ENOSPC of /dev/full; md answers EBUSY or EINVAL).
            var busy = Assert.Throws<IntegrityVolumeException>(() => MdSysfs.Write("/dev", "full", "idle", "/dev/md/scrub"));
            Assert.Equal(ErrorIds.ArrayBusy, busy.ErrorId);
            Assert.Equal(ExitCodes.Busy, ErrorClassifier.Classify(busy)!.ExitCode);
            Assert.Equal("/dev/md/scrub", busy.Target);
            Assert.Contains("/dev/md/scrub", busy.Message);
            Assert.Contains("'idle'", busy.Message);
            Assert.Contains("/dev/full", busy.Message);
            Assert.IsAssignableFrom<IOException>(busy.InnerException);

            // Refused by the file system (a directory in the attribute's place): DeviceAccessDenied, not ArrayBusy.
            Directory.CreateDirectory(Path.Combine(dir, "state"));
            var denied = Assert.Throws<IntegrityVolumeException>(() => MdSysfs.Write(dir, "state", "-want_replacement"));
            Assert.Equal(ErrorIds.DeviceAccessDenied, denied.ErrorId);
            Assert.Contains("'-want_replacement'", denied.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
    [Fact]
    public void Mds_end_of_pass_line_is_read_from_kmsg_records()
    {
        // md_do_sync's lines as 6.1 logged them in the guest (dmesg of scenarios 20/24/28), in /dev/kmsg's record format.
        Assert.Equal("done", MdSyncLog.ParseRecord("6,1893,107604104,-;md: md126: data-check done.\n", "md126", "check"));
        Assert.Equal("interrupted", MdSyncLog.ParseRecord("6,2001,99000000,-;md: md127: data-check interrupted.\n", "md127", "check"));
        Assert.Equal("done", MdSyncLog.ParseRecord("6,7,1,-;md: md0: requested-resync done.\n", "md0", "repair"));
        // Another array, another pass, md's start line, the initial resync, a record without a prefix: not this pass's end.
        Assert.Null(MdSyncLog.ParseRecord("6,1,1,-;md: md1: data-check done.\n", "md12", "check"));
        Assert.Null(MdSyncLog.ParseRecord("6,1,1,-;md: md0: data-check done.\n", "md0", "repair"));
        Assert.Null(MdSyncLog.ParseRecord("6,1,1,-;md: data-check of RAID array md0\n", "md0", "check"));
        Assert.Null(MdSyncLog.ParseRecord("6,1,1,-;md: md0: resync done.\n", "md0", "check"));
        Assert.Null(MdSyncLog.ParseRecord("md: md0: data-check done.", "md0", "check"));
    }

    [Fact]
    public void A_log_that_cannot_be_opened_gives_no_verdict()
    {
        Assert.Null(MdSyncLog.Open("/nonexistent/kmsg"));
        // A regular file read from its end: no record, no verdict (ArrayScrub then falls back to sync_min).
        string f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, "6,1,1,-;md: md0: data-check done.\n");
            using var log = MdSyncLog.Open(f);
            Assert.NotNull(log);
            Assert.Null(log!.Ended("md0", "check"));
        }
        finally { File.Delete(f); }
    }
}
