using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// integritysetup resize for an active mapping. Kernel rules (dm-integrity target 1.5+, kernel 6.1):
/// dm_integrity_ctr computes provided_data_sectors from the device's current size (get_provided_data_sectors, not from
/// the superblock) and refuses a table longer than that ("Not enough provided sectors"); dm_integrity_resume writes
/// the new provided_data_sectors into the superblock (one FUA write) when it differs from the stored one. The tags of a
/// grown tail are whatever the device held, so the tail is then written with zeros through the mapping (the kernel
/// computes their tags, integritysetup resize --wipe) or the table is reloaded with "recalculate".
/// Steps, as crypt_resize: (0) a loop device below takes its file's size; (1) reload the live table unchanged, so the
/// kernel learns the device's size and records it;
/// (2) reload with the new length; (3) a grown tail: wipe it, or reload with recalculate.
/// </summary>
internal static class ResizeOnline
{
    private const int WipeBlock = 1 << 20;   // DEFAULT_WIPE_BLOCK

    public static ResizeResult Resize(OnlineResizeRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        DeviceMapperClient.ValidateName(r.Name);
        using var dm = DeviceMapperClient.Open();
        var info = dm.GetInfo(r.Name) ?? throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound,
            $"Device {r.Name} is not active.", r.Name);
        var live = dm.GetTable(r.Name, showKeys: true);
        if (live.Count != 1 || live[0].TargetType != IntegrityTable.TargetType)
            throw new IntegrityVolumeException(ErrorIds.NotAnIntegrityDevice, ErrorKind.InvalidArgument, $"{r.Name} is not a dm-integrity mapping.", r.Name);
        var target = live[0];
        var table = IntegrityTable.Parse(target.ToString());
        int sectorsPerBlock = (table.BlockSize ?? 512) / 512;
        ulong oldLength = target.Length;
        var warnings = new List<string>();
        ulong oldProvided = Provided(dm, r.Name);
        // crypt_resize: a loop device under the mapping first takes its backing file's new size (losetup -c).
        foreach (string dev in new[] { table.Device, table.MetaDevice }.OfType<string>())
            if (DeviceNumber.Of(dev) is { } number) LoopDevice.RefreshCapacity(number);

        // (1) Same table again: the constructor sees the device's size, the resume records it in the superblock.
        // cryptsetup reloads like this with lockfs and flush skipped (the size does not change).
        dm.Reload(r.Name, new[] { target }, info.ReadOnly, table.HasKeys, noFlush: true, skipLockfs: true, DeviceNodes.UdevCookie);
        ulong max = Provided(dm, r.Name);
        ulong newLength = r.SizeSectors ?? max;
        if (newLength == 0 || newLength % (ulong)sectorsPerBlock != 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"{newLength} sectors is not a positive multiple of the {sectorsPerBlock * 512}-byte block size.", r.Name);
        if (newLength > max)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"{r.Name}: {newLength} sectors is more than the {max} the device provides; grow the device first (losetup -c for a loop device).", r.Name);

        string init = "none";
        SectorRange[] cutRanges = [];
        ulong cutBlocks = 0;
        if (newLength < oldLength)
        {
            // As the offline shrink: never cut written data silently. Read through the mapping (the kernel checks the tags).
            (cutRanges, cutBlocks) = ScanCut(DeviceNodes.MapperPath(r.Name), newLength, oldLength, sectorsPerBlock, progress, ct);
            if (cutBlocks > 0)
            {
                string list = SectorRange.List(cutRanges);
                if (!r.Force)
                    throw new IntegrityVolumeException(ErrorIds.ResizeWouldCutData, ErrorKind.InvalidArgument,
                        $"{r.Name}: shrinking to {newLength} sectors would cut {cutBlocks} blocks that hold data (non-zero or unreadable) at sectors {list}. " +
                        "Move the data first (and shrink the file system above), or --force / -Force to cut them.", r.Name);
                warnings.Add($"--force: cut {cutBlocks} blocks that held data at sectors {list}.");
            }
        }
        if (newLength != oldLength)
        {
            if (newLength > oldLength && info.ReadOnly && r.Wipe)
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    $"{r.Name} is read-only: its grown tail cannot be wiped. Reopen it read-write first.", r.Name);
            // (2) The new length; growing skips flush and lockfs as cryptsetup does (nothing in flight is affected).
            bool grow = newLength > oldLength;
            dm.Reload(r.Name, new[] { target with { Length = newLength } }, info.ReadOnly, table.HasKeys,
                noFlush: grow, skipLockfs: grow, DeviceNodes.UdevCookie);
            if (grow)
            {
                try
                {
                    if (r.Wipe)
                    {
                        WipeTail(DeviceNodes.MapperPath(r.Name), oldLength, newLength, progress, ct);
                        init = "wipe";
                    }
                    else
                    {
                        // (3') The kernel recalculates from recalc_sector: from 0 when the volume was not recalculating.
                        var recalc = table with { Length = newLength, Recalculate = true };
                        dm.Reload(r.Name, new[] { recalc.ToTarget() }, info.ReadOnly, table.HasKeys, udevCookie: DeviceNodes.UdevCookie);
                        init = "recalculate";
                        warnings.Add("The kernel recalculates tags from recalc_sector on (the whole device when it was not recalculating), not only the new tail.");
                    }
                }
                catch (Exception ex) when (ex is IntegrityVolumeException or OperationCanceledException or IOException)
                {
                    // Cancelled, or the kernel refused the recalculating table (a keyed internal_hash without journal_mac):
                    // the tail's tags are whatever the device held, so the mapping goes back to its old length (no read of
                    // the tail can fail) and a re-run grows it again. A kill here (SIGKILL) leaves the tail mapped.
                    try { dm.Reload(r.Name, new[] { target }, info.ReadOnly, table.HasKeys, udevCookie: DeviceNodes.UdevCookie); }
                    catch (IntegrityVolumeException restore)
                    {
                        throw new IntegrityVolumeException(restore.ErrorId, restore.Kind,
                            $"{r.Name}: the grow stopped ({ex.Message}) and the mapping could not go back to {oldLength} sectors ({restore.Message}); " +
                            $"reads of sectors {oldLength}-{newLength - 1} may fail until a resize completes.", r.Name, ex);
                    }
                    throw;
                }
            }
        }
        SectorRange? unreadableTail = null;
        if (newLength == oldLength && r.Wipe && !info.ReadOnly && FailingTail(DeviceNodes.MapperPath(r.Name), newLength, sectorsPerBlock, ct) is { } tail)
        {
            // Nothing written: a failing block can also be a leg's real damage that md (or a copy) should heal.
            unreadableTail = tail;
            warnings.Add($"{r.Name}: sectors {tail} at the end of the mapping fail their reads (found from the last block back): a grow stopped " +
                $"while wiping its tail (killed) leaves them so. Nothing was written. `ivol repair --name {r.Name} --zero-lost --sectors {tail}` " +
                $"(Repair-IntegrityVolume -Name {r.Name} -ZeroLost -Sector {tail}) writes zeros there through the kernel; blocks that read are left alone.");
        }
        var status = IntegrityMappings.Status(r.Name);
        return new ResizeResult
        {
            Path = status?.MetadataDevice ?? status?.DataDevice ?? table.Device, DataDevicePath = status?.MetadataDevice is null ? null : status.DataDevice,
            Name = r.Name, OldProvidedDataSectors = oldProvided, NewProvidedDataSectors = max,
            OldDeviceBytes = (long)oldLength * 512, NewDeviceBytes = (long)newLength * 512,
            Action = newLength > oldLength ? "grow" : newLength < oldLength ? "shrink" : "unchanged",
            TagInitialization = init, Duration = sw.Elapsed, Warnings = warnings.ToArray(),
            CutRanges = cutRanges, CutBlocks = cutBlocks, UnreadableTail = unreadableTail,
        };
    }

    /// <summary>
    /// The failing suffix of an active mapping of <paramref name="sectors"/> sectors, or null when its last block reads.
    /// The wipe runs from the old end forwards, so a killed one leaves [k, end) failing (EILSEQ): k is found with
    /// O(log n) single-block O_DIRECT reads.
    /// </summary>
    private static SectorRange? FailingTail(string path, ulong sectors, int sectorsPerBlock, CancellationToken ct)
    {
        using var reader = MappedDeviceReader.Open(path);
        ulong spb = (ulong)sectorsPerBlock;
        var buffer = PageAlignedBuffer.Allocate(sectorsPerBlock * 512);
        ulong blocks = sectors / spb;
        bool Fails(ulong block)
        {
            ct.ThrowIfCancellationRequested();
            return OnlineVerifier.IsMismatch(reader.Read(checked((long)(block * spb * 512)), buffer.AsSpan()));
        }
        return FailingSuffixStart(blocks, Fails) is { } k ? new SectorRange(k * spb, (blocks - k) * spb) : null;
    }

    /// <summary>The first block of the failing suffix of <paramref name="blocks"/> blocks (null: the last block does not
    /// fail): probes back from the end at distances 1, 2, 4, ... until a block does not fail, then bisects.</summary>
    internal static ulong? FailingSuffixStart(ulong blocks, Func<ulong, bool> fails)
    {
        if (blocks == 0 || !fails(blocks - 1)) return null;
        ulong failing = blocks - 1, step = 1;   // failing: the lowest block known to fail with all probes above it failing
        ulong? reads = null;                     // reads: a block known to read, below failing
        while (reads is null)
        {
            if (failing == 0) return 0;
            ulong probe = step >= failing ? 0 : failing - step;
            if (fails(probe)) { failing = probe; step = step > ulong.MaxValue / 2 ? ulong.MaxValue : step * 2; }
            else reads = probe;
        }
        ulong lo = reads.Value, hi = failing;    // lo reads, hi fails
        while (hi - lo > 1)
        {
            ulong mid = lo + (hi - lo) / 2;
            if (fails(mid)) hi = mid; else lo = mid;
        }
        return hi;
    }

    /// <summary>
    /// Blocks of [<paramref name="from"/>, <paramref name="to"/>) that hold data, read through the mapping: non-zero, or
    /// unreadable (the kernel fails the read: a bad tag). 1 MiB at a time, block by block where a read fails.
    /// </summary>
    private static (SectorRange[] Ranges, ulong Blocks) ScanCut(string path, ulong from, ulong to, int sectorsPerBlock,
        IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        const int MaxListedBlocks = 1 << 20;
        int blockBytes = sectorsPerBlock * 512;
        var buffer = new byte[WipeBlock];
        var held = new List<ulong>();
        ulong blocks = 0;
        long start = checked((long)from * 512), end = checked((long)to * 512);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        void Held(long at) { blocks++; if (held.Count < MaxListedBlocks) held.Add((ulong)(at / 512)); }
        for (long at = start; at < end; at += WipeBlock)
        {
            ct.ThrowIfCancellationRequested();
            int n = (int)Math.Min(WipeBlock, end - at);
            bool whole = true;
            try { whole = RandomAccess.Read(fs.SafeFileHandle, buffer.AsSpan(0, n), at) == n; }
            catch (IOException) { whole = false; }
            for (int off = 0; off < n; off += blockBytes)
            {
                var block = buffer.AsSpan(off, blockBytes);
                if (!whole)
                {
                    try { if (RandomAccess.Read(fs.SafeFileHandle, block, at + off) != blockBytes) { Held(at + off); continue; } }
                    catch (IOException) { Held(at + off); continue; }
                }
                if (block.IndexOfAnyExcept((byte)0) >= 0) Held(at + off);
            }
            progress?.Report(new OperationProgress("Checking the cut tail", path, at + n - start, end - start, sw.Elapsed));
        }
        return (TagVerifier.ToRanges(held, (ulong)sectorsPerBlock, 100_000), blocks);
    }

    private static ulong Provided(DeviceMapperClient dm, string name)
    {
        var s = dm.GetStatus(name).FirstOrDefault(t => t.TargetType == IntegrityTable.TargetType)
            ?? throw new IntegrityVolumeException(ErrorIds.NotAnIntegrityDevice, ErrorKind.InvalidArgument, $"{name} has no dm-integrity status.", name);
        return IntegrityStatus.Parse(s.Parameters).ProvidedDataSectors;
    }

    /// <summary>Zeros over [from, to) through the mapping, 1 MiB at a time, then fsync (crypt_wipe CRYPT_WIPE_ZERO).</summary>
    private static void WipeTail(string path, ulong from, ulong to, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var zeros = new byte[WipeBlock];
        long start = checked((long)from * 512), end = checked((long)to * 512);
        // Not O_EXCL: the mapping may be mounted; the file system does not use the tail before it is told to grow.
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        for (long at = start; at < end; at += WipeBlock)
        {
            ct.ThrowIfCancellationRequested();
            int n = (int)Math.Min(WipeBlock, end - at);
            if (FaultInjection.Active) FaultInjection.BeforeWrite(fs.SafeFileHandle, zeros.AsSpan(0, n), at, ct);
            try { RandomAccess.Write(fs.SafeFileHandle, zeros.AsSpan(0, n), at); }
            catch (IOException ex)
            {
                throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError, $"{path}: write error at byte {at}: {ex.Message}", path, ex);
            }
            progress?.Report(new OperationProgress("Wiping the grown tail", path, at + n - start, end - start, sw.Elapsed));
        }
        fs.Flush(flushToDisk: true);
    }
}
