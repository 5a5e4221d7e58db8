using System.Buffers.Binary;
using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Offline grow and shrink of a closed volume. The new provided_data_sectors is what the kernel's constructor computes
/// for the new device size (get_provided_data_sectors + calculate_device_limits, <see cref="Geometry.Resized"/>): the
/// superblock, journal and existing interleave areas stay where they are, new areas follow the old ones (with a separate
/// metadata device the tags are packed, so the new tags follow the old ones). Only the new tail is touched: its data
/// made to read as zeros and its zero-block tags written (<see cref="TagInitializer"/>, the fast path of format);
/// nothing else is recomputed. A shrink is refused while the cut tail holds written blocks, unless Force.
/// </summary>
internal static class ResizeOperation
{
    private const int ChunkBytes = 1 << 20;
    private const int MaxReportedRanges = 100_000;

    private sealed record Prepared(Geometry Old, Geometry New, long OldDeviceBytes, long NewDeviceBytes, bool IsImage, List<string> Warnings);

    private const string InUseAdvice = "close the volume first, or resize the active mapping (ivol resize --name / Resize-IntegrityVolume -Name)";

    /// <summary>What Resize would do, nothing written (-WhatIf, --dry-run): every check and refusal of the real run.</summary>
    public static ResizeResult Plan(ResizeRequest r, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        r.Validate();
        r.Volume.ThrowIfInUse(InUseAdvice);
        using var v = VolumeOperations.OpenVolume(r.Volume, write: false, ct);
        var (p, mac) = Check(v, r);
        mac?.Dispose();
        var (ranges, cut) = p.New.ProvidedDataSectors < p.Old.ProvidedDataSectors
            ? ScanCut(v, p.Old, p.New.ProvidedDataSectors, r, ct) : (new List<SectorRange>(), 0UL);
        return Result(r, p, ranges, cut, sw.Elapsed, whatIf: true, p.New.ProvidedDataSectors > p.Old.ProvidedDataSectors ? "tags-only" : "none");
    }

    /// <summary>The new layout and every refusal that needs no write: a volume not settled, a superblock MAC without its
    /// key, an algorithm or key the blocks refute (never overridden: a grown tail tagged with a wrong algorithm fails every read).</summary>
    private static (Prepared Prepared, TagHasher? Mac) Check(VolumeOperations.OpenedVolume v, ResizeRequest r)
    {
        var p = Prepare(v, r);
        RefuseUnsettled(v, r);
        var mac = SuperblockMac(v, r);
        ulong oldProvided = p.Old.ProvidedDataSectors, newProvided = p.New.ProvidedDataSectors;
        var (proofOutcome, mismatch) = AlgorithmProof.Check(v, r.Volume.Path, r.Integrity.Algorithm, r.Integrity.Key, 0, null, forceOverrides: false);
        if (mismatch is not null && newProvided != oldProvided)
        {
            mac?.Dispose();
            throw mismatch;
        }
        if (proofOutcome is AlgorithmProof.Outcome.NoEvidence && newProvided != oldProvided)
            p.Warnings.Add($"No block of {r.Volume.Path} could prove the algorithm and key; the new tail's tags are written with {r.Integrity.Algorithm.IntegritysetupName} as given.");
        return (p, mac);
    }

    public static ResizeResult Resize(ResizeRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        r.Validate();
        r.Volume.ThrowIfInUse(InUseAdvice);
        // Exclusive lock (FileLock) on both devices from here to the end.
        using var v = VolumeOperations.OpenVolume(r.Volume, write: true, ct);
        var sb = v.Superblock;
        var (p, checkedMac) = Check(v, r);
        using var mac = checkedMac;
        var warnings = p.Warnings;
        ulong oldProvided = p.Old.ProvidedDataSectors, newProvided = p.New.ProvidedDataSectors;

        var dataDev = v.Data;
        long sbOffset = checked((long)r.Volume.ReservedSectors * 512);
        string init = "none";
        List<SectorRange> ranges = new();
        ulong cut = 0;
        if (newProvided > oldProvided)
        {
            // Grow. Crash safety: the superblock is written last, in one 512-byte sector write (atomic, as the kernel's
            // own sync_rw_sb of provided_data_sectors at resume assumes). Until then every reader that sizes the volume
            // from the superblock (ivol, integritysetup open, which loads a table of provided_data_sectors) sees the old
            // geometry, whose blocks and tags were not touched; after it, the new tail is complete and synced. The kernel
            // itself recomputes the size from the device at every activation (dm_integrity_ctr: get_provided_data_sectors;
            // dm_integrity_resume writes it to the superblock): for a kill in between, the tail is first marked as not
            // yet recalculated (WriteGrowMarker), so that activation recalculates it instead of failing its reads.
            WriteGrowMarker(v.Meta, sbOffset, sb, mac);
            bool knownZero = false;
            if (p.IsImage)
            {
                // Bytes of the old file after the old volume's last data sector are no part of it but may hold anything;
                // the extension reads as zeros. Zero the former, then the whole new data tail reads as zeros.
                long slackStart = checked((long)(p.Old.DataSector(oldProvided - 1) + 1) * 512);
                if (slackStart < dataDev.Length) ZeroRange(dataDev, slackStart, dataDev.Length - slackStart);
                if (p.NewDeviceBytes > dataDev.Length) dataDev.SetFileLength(p.NewDeviceBytes);
                knownZero = true;
            }
            var newSb = sb with { ProvidedDataSectors = newProvided };
            using (var flusher = new BackgroundFlusher(v.Meta))
                init = TagInitializer.Run(v.Meta, dataDev, newSb, p.New, r.Integrity.Algorithm, r.Integrity.Key, knownZero, progress, ct, oldProvided);
            dataDev.Flush();
            if (!ReferenceEquals(dataDev, v.Meta)) v.Meta.Flush();
            WriteSuperblock(v.Meta, sbOffset, newProvided, sb, mac);
        }
        else if (newProvided < oldProvided)
        {
            (ranges, cut) = ScanCut(v, p.Old, newProvided, r, ct);
            if (cut > 0)
            {
                string list = SectorRange.List(ranges);
                if (!r.Force)
                    throw new IntegrityVolumeException(ErrorIds.ResizeWouldCutData, ErrorKind.InvalidArgument,
                        $"{r.Volume.Path}: shrinking to {newProvided} sectors would cut {cut} written blocks (non-zero data or tags) at sectors {list}. " +
                        "Move the data first, or --force / -Force to cut them.", r.Volume.Path);
                warnings.Add($"--force: cut {cut} written blocks at sectors {list}.");
            }
            // Shrink: the superblock first (the commit point), then the file. Killed in between, the superblock's smaller
            // volume is complete inside the bigger file; the kernel would grow it back over the old tail, whose blocks
            // and tags are unchanged and valid.
            WriteSuperblock(v.Meta, sbOffset, newProvided, sb, mac);
            if (p.IsImage && p.NewDeviceBytes < dataDev.Length) dataDev.SetFileLength(p.NewDeviceBytes);
            if (!p.IsImage)
                warnings.Add($"{dataDev.Path} is a block device and keeps its size; the kernel grows the volume back to the device at its next activation " +
                    $"unless the device is shrunk to {p.NewDeviceBytes} bytes first.");
        }
        else if (p.IsImage && p.NewDeviceBytes != dataDev.Length)
        {
            // Same volume size: only the file's slack changes (the new size still fits the layout, Geometry.Resized).
            if (p.NewDeviceBytes > dataDev.Length) ZeroRange(dataDev, checked((long)(p.Old.DataSector(oldProvided - 1) + 1) * 512),
                dataDev.Length - checked((long)(p.Old.DataSector(oldProvided - 1) + 1) * 512));
            dataDev.SetFileLength(p.NewDeviceBytes);
        }
        return Result(r, p, ranges, cut, sw.Elapsed, whatIf: false, init);
    }

    private static ResizeResult Result(ResizeRequest r, Prepared p, List<SectorRange> ranges, ulong cut, TimeSpan duration, bool whatIf, string init) => new()
    {
        Path = r.Volume.Path, DataDevicePath = r.Volume.DataDevicePath,
        OldProvidedDataSectors = p.Old.ProvidedDataSectors, NewProvidedDataSectors = p.New.ProvidedDataSectors,
        OldDeviceBytes = p.OldDeviceBytes, NewDeviceBytes = p.NewDeviceBytes,
        Action = p.New.ProvidedDataSectors > p.Old.ProvidedDataSectors ? "grow" : p.New.ProvidedDataSectors < p.Old.ProvidedDataSectors ? "shrink" : "unchanged",
        TagInitialization = init, CutRanges = ranges.ToArray(), CutBlocks = cut, Duration = duration, WhatIf = whatIf,
        Warnings = p.Warnings.ToArray(),
    };

    /// <summary>The new device size and layout; every refusal that needs no write.</summary>
    private static Prepared Prepare(VolumeOperations.OpenedVolume v, ResizeRequest r)
    {
        var g = v.Geometry;
        var warnings = new List<string>();
        var dev = v.Data;   // the device that holds the data (the metadata device when interleaved)
        bool isImage = !dev.IsBlockDevice;
        ulong metaSectors = (ulong)v.Meta.Sectors;
        long newBytes;
        if (r.SizeSectors is ulong want)
            newBytes = checked((long)DeviceSectorsFor(g, want, metaSectors, r.Volume.Path) * 512);
        else newBytes = r.DeviceSizeBytes ?? dev.Length / 512 * 512;
        if (!isImage && newBytes > dev.Length)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"{dev.Path} is a block device of {dev.Length} bytes; it cannot be grown to {newBytes} bytes here. Grow the partition or " +
                "logical volume first, then resize without a size (the volume then fills the device).", dev.Path);
        ulong newSectors = (ulong)newBytes / 512;
        var ng = g.SeparateMetadata ? g.Resized(metaSectors, newSectors, r.Volume.Path) : g.Resized(newSectors, newSectors, r.Volume.Path);
        if (isImage && !g.SeparateMetadata && ng.ProvidedDataSectors > g.ProvidedDataSectors)
        {
            // The file is sparse, but the new tail's metadata runs are written: they must fit the file system (a size
            // near 2^63 bytes would otherwise be "created" on tmpfs and then take forever to tag).
            ulong runs = (ng.Areas - g.Areas + 1) * ng.MetadataRunSectors * 512;
            long free = FreeBytes(dev.Path);
            if (free >= 0 && runs > (ulong)free)
                throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                    $"{dev.Path}: growing to {newBytes} bytes writes {runs} bytes of tags, more than the {free} bytes free on its file system.", dev.Path);
        }
        if (g.SeparateMetadata && r.SizeSectors is null && r.DeviceSizeBytes is null && dev.Length == (long)(g.DataDeviceSectors * 512) && ng.ProvidedDataSectors == g.ProvidedDataSectors)
            warnings.Add("With a separate data device the volume's size follows the data device; growing the metadata device changes nothing.");
        return new Prepared(g, ng, dev.Length, newBytes, isImage, warnings);
    }

    /// <summary>Bytes available on the file system holding <paramref name="path"/> (the longest mount point above it); -1 unknown.</summary>
    private static long FreeBytes(string path)
    {
        try
        {
            string full = System.IO.Path.GetFullPath(path);
            var drive = DriveInfo.GetDrives()
                .Where(d => full.StartsWith(d.Name.EndsWith('/') ? d.Name : d.Name + "/", StringComparison.Ordinal) || full == d.Name)
                .OrderByDescending(d => d.Name.Length).FirstOrDefault();
            return drive?.AvailableFreeSpace ?? -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return -1; }
    }

    /// <summary>The smallest device (sectors) whose layout provides at least <paramref name="want"/> sectors.</summary>
    private static ulong DeviceSectorsFor(Geometry g, ulong want, ulong metaSectors, string path)
    {
        ulong blockMask = (ulong)g.SectorsPerBlock - 1;
        const ulong maxSectors = (ulong)long.MaxValue / 512;
        if (want > maxSectors - blockMask)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument, $"{want} sectors is more than 2^63 bytes.", path);
        want = (want + blockMask) & ~blockMask;
        if (g.SeparateMetadata)
        {
            g.Resized(metaSectors, want, path);   // DeviceTooSmall when the metadata device cannot hold the tags
            return want;
        }
        // Upper bound: superblock, journal, one metadata run per interleave area (plus one), the data, bit-3 alignment.
        ulong hi;
        try { hi = checked(g.Start + g.InitialSectors + Geometry.MetadataPaddingSectors + want + ((want >> g.Log2InterleaveSectors) + 2) * g.MetadataRunSectors + 16); }
        catch (OverflowException) { hi = ulong.MaxValue; }
        if (hi > maxSectors)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"{want} data sectors need a device larger than 2^63 bytes.", path);
        ulong lo = g.Start + g.InitialSectors + Geometry.MetadataPaddingSectors;   // too small for any data
        while (hi - lo > 1)
        {
            ulong mid = lo + (hi - lo) / 2;
            if (ProvidedOn(g, mid) >= want) hi = mid; else lo = mid;
        }
        return hi;
    }

    private static ulong ProvidedOn(Geometry g, ulong sectors)
    {
        try { return g.Resized(sectors, sectors).ProvidedDataSectors; }
        catch (IntegrityVolumeException) { return 0; }
    }

    /// <summary>A journal the kernel has not replayed, a dirty bitmap or an interrupted write: the volume is not settled.</summary>
    private static void RefuseUnsettled(VolumeOperations.OpenedVolume v, ResizeRequest r)
    {
        var journal = JournalInspector.Inspect(v.Meta, v.Superblock, v.Geometry);
        string path = r.Volume.Path;
        journal.ThrowIfNotSettled(path);
        if (journal.State is JournalState.Pending)
            throw new IntegrityVolumeException(ErrorIds.JournalPending, ErrorKind.InvalidData,
                $"{path}: {journal.PendingSummary}; open and close the volume (or run ivol write) first.", path);
        if (WriteIntent.Read(v.Meta, r.Volume.ReservedSectors) is { } interrupted && !r.Force)
            throw new IntegrityVolumeException(ErrorIds.WriteInterrupted, ErrorKind.InvalidData,
                $"{path}: {interrupted.Advice} Finish that write first, or --force / -Force.", path);
    }

    /// <summary>With FIXED_HMAC and a journal_mac the superblock carries a MAC (sb_mac): the hasher that re-signs it, proven
    /// on the current superblock. Null when the superblock has no MAC.</summary>
    private static TagHasher? SuperblockMac(VolumeOperations.OpenedVolume v, ResizeRequest r)
    {
        var sb = v.Superblock;
        if (!sb.HasFlag(SuperblockFlags.HaveJournalMac) || !sb.HasFlag(SuperblockFlags.FixedHmac)) return null;
        if (r.JournalIntegrity is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{r.Volume.Path}: the superblock carries a MAC (journal_mac with fix_hmac); give the journal integrity algorithm and key " +
                $"(--journal-integrity / -JournalIntegrity, {RequestChecks.JournalKeyOption}) to sign the resized superblock.", r.Volume.Path);
        var mac = r.JournalIntegrity.CreateHasher(r.JournalIntegrityKey);
        var area = new byte[Superblock.AreaSize];
        v.Meta.Read(checked((long)r.Volume.ReservedSectors * 512), area);
        var expected = (byte[])area.Clone();
        JournalWriter.SignSuperblock(expected, mac);
        if (!expected.AsSpan(0, 512).SequenceEqual(area.AsSpan(0, 512)))
        {
            mac.Dispose();
            throw new IntegrityVolumeException(ErrorIds.SuperblockMacMismatch, ErrorKind.InvalidArgument,
                $"{r.Volume.Path}: the superblock MAC does not verify with this journal integrity algorithm and key; a superblock signed with them would be refused by the kernel.", r.Volume.Path);
        }
        return mac;
    }

    /// <summary>
    /// Before a grow touches the tail: RECALCULATING with recalc_sector at the old end, everything else as it was. To
    /// every reader of this superblock that is a finished recalculation (recalc_sector == provided_data_sectors, the
    /// flag the kernel never clears); to a kernel that activates the volume after a killed grow and sizes it from the
    /// grown device, the tail is not recalculated yet: it skips the tail's tag checks and recalculates it (resume:
    /// recalc_sector &lt; provided queues the worker), or refuses a keyed volume ("Recalculating with HMAC is disabled").
    /// Not needed while a recalculation is still under way (it covers the tail), nor possible on a V1 superblock (no
    /// recalc_sector).
    /// </summary>
    private static void WriteGrowMarker(BlockDevice meta, long offset, Superblock sb, TagHasher? mac)
    {
        bool recalculating = sb.HasFlag(SuperblockFlags.Recalculating);
        if (sb.Version < 2 || (recalculating && sb.RecalcSector < sb.ProvidedDataSectors)) return;
        if (recalculating && sb.RecalcSector == sb.ProvidedDataSectors) return;   // already reads as the marker
        var area = new byte[Superblock.AreaSize];
        meta.Read(offset, area);
        BinaryPrimitives.WriteUInt32LittleEndian(area.AsSpan(24), (uint)(sb.Flags | SuperblockFlags.Recalculating));
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(32), sb.ProvidedDataSectors);
        if (mac is not null) JournalWriter.SignSuperblock(area, mac);
        meta.Write(offset, area.AsSpan(0, 512));
        meta.Flush();
    }

    /// <summary>Sector 0 of the superblock area with the new provided_data_sectors (and recalc_sector clamped to it, as the
    /// kernel's resume does), the flags and recalc_sector of <paramref name="sb"/> (undoing WriteGrowMarker), every other
    /// byte as it was; signed again when it carries a MAC; one write, synced.</summary>
    private static void WriteSuperblock(BlockDevice meta, long offset, ulong provided, Superblock sb, TagHasher? mac)
    {
        var area = new byte[Superblock.AreaSize];
        meta.Read(offset, area);
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(16), provided);
        BinaryPrimitives.WriteUInt32LittleEndian(area.AsSpan(24), (uint)sb.Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(32), sb.RecalcSector);
        if (sb.RecalcSector > provided) BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(32), provided);
        // A finished recalculation (recalc_sector at the old end, the flag never cleared) covers the new tail too, whose
        // tags are written: recalc_sector follows the end, as after the kernel's own grow. Otherwise a keyed volume
        // would look unfinished and the kernel refuses it ("Recalculating with HMAC is disabled for security reasons").
        else if (sb.HasFlag(SuperblockFlags.Recalculating) && sb.RecalcSector >= sb.ProvidedDataSectors && provided > sb.ProvidedDataSectors)
            BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(32), provided);
        if (mac is not null) JournalWriter.SignSuperblock(area, mac);
        meta.Write(offset, area.AsSpan(0, 512));
        meta.Flush();
    }

    private static void ZeroRange(BlockDevice dev, long offset, long length)
    {
        if (length <= 0) return;
        TagInitializer.EnsureZero(dev, offset, length, new byte[(int)Math.Min(ChunkBytes, length)]);
    }

    /// <summary>
    /// Blocks of [<paramref name="newProvided"/>, old provided) that hold something: non-zero data, or a tag that is neither
    /// the zero block's nor the discard filler. Exact (every block read), as merged sector ranges.
    /// </summary>
    private static (List<SectorRange> Ranges, ulong Blocks) ScanCut(VolumeOperations.OpenedVolume v, Geometry g, ulong newProvided,
        ResizeRequest r, CancellationToken ct)
    {
        var ranges = new List<SectorRange>();
        ulong count = 0;
        using var tags = TagComputer.ForVolume(v.Superblock, r.Integrity.Algorithm, r.Integrity.Key);
        int blocksPerChunk = ChunkBytes / g.BlockSize;
        var data = new byte[blocksPerChunk * g.BlockSize];
        var stored = new byte[blocksPerChunk * g.TagSize];
        var zero = new byte[blocksPerChunk * g.TagSize];
        ulong sector = newProvided;
        ulong rangeStart = 0, rangeEnd = 0;
        while (sector < g.ProvidedDataSectors)
        {
            ct.ThrowIfCancellationRequested();
            ulong areaLeft = g.SeparateMetadata ? g.ProvidedDataSectors - sector : Math.Min(g.ProvidedDataSectors - sector, g.InterleaveSectors - (sector & (g.InterleaveSectors - 1)));
            int n = (int)Math.Min((ulong)blocksPerChunk, areaLeft >> g.Log2SectorsPerBlock);
            var d = data.AsSpan(0, n * g.BlockSize);
            var t = stored.AsSpan(0, n * g.TagSize);
            var z = zero.AsSpan(0, n * g.TagSize);
            v.Data.Read(checked((long)g.DataSector(sector) * 512), d);
            v.Meta.Read(checked((long)g.TagOffset(sector)), t);
            tags.ComputeZeroConsecutive(sector, g.SectorsPerBlock, g.BlockSize, n, z);
            for (int i = 0; i < n; i++)
            {
                var tag = t.Slice(i * g.TagSize, g.TagSize);
                bool written = d.Slice(i * g.BlockSize, g.BlockSize).IndexOfAnyExcept((byte)0) >= 0
                    || (!tag.SequenceEqual(z.Slice(i * g.TagSize, g.TagSize)) && !DiscardFiller.Is(tag));
                if (!written) continue;
                ulong s = sector + ((ulong)i << g.Log2SectorsPerBlock);
                count++;
                if (rangeEnd == s && rangeEnd != 0) rangeEnd = s + (ulong)g.SectorsPerBlock;
                else
                {
                    if (rangeEnd != 0 && ranges.Count < MaxReportedRanges) ranges.Add(new SectorRange(rangeStart, rangeEnd - rangeStart));
                    rangeStart = s; rangeEnd = s + (ulong)g.SectorsPerBlock;
                }
            }
            sector += (ulong)n << g.Log2SectorsPerBlock;
        }
        if (rangeEnd != 0 && ranges.Count < MaxReportedRanges) ranges.Add(new SectorRange(rangeStart, rangeEnd - rangeStart));
        return (ranges, count);
    }
}
