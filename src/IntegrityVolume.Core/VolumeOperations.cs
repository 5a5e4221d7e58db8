using System.Numerics;
using System.Security.Cryptography;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Operations;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Core;

/// <summary>
/// The engine's entry points, shared by the cmdlets and the CLI. Every call takes a request record and returns a
/// plain result object; failures are <see cref="IntegrityVolumeException"/>s with stable ids; long calls report
/// progress on the calling thread and honour the cancellation token.
/// </summary>
public static class VolumeOperations
{
    /// <summary>An open volume: metadata device (superblock, journal, tags), data device, superblock and layout.</summary>
    internal sealed class OpenedVolume : IDisposable
    {
        public required BlockDevice Meta { get; init; }
        public required BlockDevice Data { get; init; }
        public required Superblock Superblock { get; init; }
        public required Geometry Geometry { get; init; }
        /// <summary>The LUKS2 container the volume sits in (its tags are dm-crypt's), when opened with allowContainer.</summary>
        public CryptContainerInfo? Container { get; init; }
        public void Dispose() { if (!ReferenceEquals(Data, Meta)) Data.Dispose(); Meta.Dispose(); }
    }

    /// <summary>
    /// Open a closed volume. A LUKS2 header at byte 0 (luksFormat --integrity) puts the superblock at the data segment's
    /// offset; such a volume opens only for reading its layout (<paramref name="allowContainer"/>): its tags are
    /// dm-crypt's, so everything that checks or writes tags is refused with TagsFromCryptLayer.
    /// </summary>
    internal static OpenedVolume OpenVolume(VolumeLocation v, bool write, CancellationToken ct = default, bool allowContainer = false)
    {
        var meta = BlockDevice.Open(v.Path, write, v.WaitForLock, ct);
        BlockDevice? data = null;
        try
        {
            var container = ProbeContainer(meta, v);
            if (container is not null)
            {
                if (!allowContainer) throw TagsFromCryptLayer(v.Path, container);
                v = v with { ReservedSectors = container.DataOffsetSectors };
            }
            data = v.DataDevicePath is null ? meta : BlockDevice.Open(v.DataDevicePath, write, v.WaitForLock, ct);
            // Compared in sectors first: a reserved count near 2^64 must not wrap the byte offset.
            if (v.ReservedSectors > (ulong)meta.Sectors || (long)v.ReservedSectors * 512 > meta.Length - Superblock.AreaSize)
                throw new IntegrityVolumeException(ErrorIds.DeviceTruncated, ErrorKind.InvalidData,
                    $"{v.Path}: the device ({meta.Length} bytes) is too small to hold a dm-integrity superblock.", v.Path);
            var area = new byte[Superblock.AreaSize];
            meta.Read((long)v.ReservedSectors * 512, area);
            var sb = Superblock.Parse(area, v.Path);
            var g = Geometry.FromSuperblock(sb, (ulong)meta.Sectors, v.ReservedSectors, v.DataDevicePath is not null,
                (ulong)data.Sectors, v.Path);
            return new OpenedVolume { Meta = meta, Data = data, Superblock = sb, Geometry = g, Container = container };
        }
        catch (IntegrityVolumeException ex) when (!ex.Message.Contains(v.Path, StringComparison.Ordinal))
        {
            // Every error names the device it is about.
            if (data is not null && !ReferenceEquals(data, meta)) data.Dispose();
            meta.Dispose();
            throw new IntegrityVolumeException(ex.ErrorId, ex.Kind, $"{v.Path}: {ex.Message}", ex.Target ?? v.Path, ex);
        }
        catch
        {
            if (data is not null && !ReferenceEquals(data, meta)) data.Dispose();
            meta.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The LUKS2 container of a volume without a data device: a LUKS header at byte 0 (cryptsetup's own place for it).
    /// LUKS1 and crypt segments without "integrity" hold no dm-integrity superblock (LuksWithoutIntegrity); reserved
    /// sectors other than the data segment's offset contradict the header (InvalidParameter).
    /// </summary>
    private static CryptContainerInfo? ProbeContainer(BlockDevice dev, VolumeLocation v)
    {
        if (v.DataDevicePath is not null || dev.Length < Luks2Header.BinarySize) return null;
        var head = new byte[8];
        dev.Read(0, head);
        if (!Luks2Header.HasMagic(head)) return null;
        int version = Luks2Header.Version(head);
        if (version != 2)
            throw new IntegrityVolumeException(ErrorIds.LuksWithoutIntegrity, ErrorKind.InvalidData,
                $"{v.Path}: a LUKS{version} header, not LUKS2: only LUKS2 (cryptsetup luksFormat --type luks2 --integrity) carries a dm-integrity volume.", v.Path);
        var h = Luks2Header.Read(dev.Read, dev.Length, v.Path);
        var seg = h.DataSegment;
        if (seg.IntegrityType is null)
            throw new IntegrityVolumeException(ErrorIds.LuksWithoutIntegrity, ErrorKind.InvalidData,
                $"{v.Path}: a LUKS2 container whose data segment {seg.Id} ({seg.Encryption}) has no integrity: plain dm-crypt, no dm-integrity superblock.", v.Path);
        if (v.ReservedSectors != 0 && v.ReservedSectors * 512 != seg.OffsetBytes)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"{v.Path}: {v.ReservedSectors} reserved sectors, but the LUKS2 header puts the data segment (and the dm-integrity superblock) at sector {seg.OffsetBytes / 512}; omit the reserved sectors.", v.Path);
        return CryptContainerInfo.From(h);
    }

    private static IntegrityVolumeException TagsFromCryptLayer(string path, CryptContainerInfo c) =>
        new(ErrorIds.TagsFromCryptLayer, ErrorKind.NotSupported,
            $"{path}: a LUKS2 container ({c.Cipher}, integrity {c.Integrity}): its dm-integrity tags are dm-crypt's, computed with the volume key, " +
            "so nothing can check or write them offline. Open it with cryptsetup open NAME and verify online through the crypt mapping " +
            "(ivol verify --name NAME, Test-IntegrityVolume -Name NAME).", path);

    /// <summary>
    /// Superblock, layout and journal state of a closed volume (Get-IntegrityVolume -Path, ivol dump); with
    /// <paramref name="detectAlgorithm"/> also the tag algorithm found on it (<see cref="AlgorithmDetection"/>, unkeyed ones).
    /// </summary>
    public static VolumeInfo Inspect(VolumeLocation volume, CancellationToken ct = default, bool detectAlgorithm = false)
    {
        using var v = OpenVolume(volume, write: false, ct, allowContainer: true);
        var journal = JournalInspector.Inspect(v.Meta, v.Superblock, v.Geometry, ct: ct);
        var interrupted = WriteIntent.Read(v.Meta, v.Geometry.Start);
        var info = VolumeInfo.From(volume.Path, volume.DataDevicePath, v.Meta.Length, v.Superblock, v.Geometry, journal, interrupted, v.Container);
        // A container's tags are dm-crypt's: no algorithm of ours can match them.
        return detectAlgorithm && v.Container is null
            ? info.WithDetection(AlgorithmDetector.Detect(v.Meta, v.Data, v.Superblock, v.Geometry, interrupted, key: null, ct))
            : info;
    }

    /// <summary>
    /// Find the tag algorithm of a closed volume (neither it nor the key is on disk): at most
    /// <see cref="AlgorithmDetection.MaxSampleBlocks"/> blocks and their tags are read, whatever the volume's size. Without
    /// a key the unkeyed algorithms are tried, with one the keyed ones. <see cref="AlgorithmDetection.Require"/> turns a
    /// result without a single match into KeyRequired / AlgorithmNotDetected.
    /// </summary>
    public static AlgorithmDetection DetectAlgorithm(VolumeLocation volume, IntegrityKey? key = null, CancellationToken ct = default)
    {
        using var v = OpenVolume(volume, write: false, ct);
        return AlgorithmDetector.Detect(v.Meta, v.Data, v.Superblock, v.Geometry, WriteIntent.Read(v.Meta, volume.ReservedSectors), key, ct);
    }

    /// <summary>
    /// journal_crypt on a journal formatted without it makes the kernel's replay read bad commit ids and fail every
    /// I/O: refuse (JournalNotEncrypted) when the journal's commit ids read in plain text. Bitmap volumes (DIRTY_BITMAP)
    /// hold a bitmap there and are not judged.
    /// </summary>
    public static void RefusePlainJournalForJournalCrypt(VolumeLocation volume)
    {
        using var v = OpenVolume(volume, write: false);
        if (v.Superblock.HasFlag(IntegrityVolume.Core.Format.SuperblockFlags.DirtyBitmap)) return;
        if (Journal.JournalInspector.HasPlainCommitIds(v.Meta, v.Geometry))
            throw new IntegrityVolumeException(ErrorIds.JournalNotEncrypted, ErrorKind.InvalidArgument,
                $"{volume.Path}: the journal was formatted unencrypted (its commit ids read in plain text); with --journal-crypt the " +
                "kernel would decrypt it into garbage and fail every I/O. Open it without --journal-crypt (the cipher is chosen at format: " +
                "ivol format --journal-crypt / integritysetup format --journal-crypt).", volume.Path);
    }

    /// <summary>Read the superblock only (no layout checks), e.g. to build a device-mapper table.</summary>
    public static Superblock ReadSuperblock(VolumeLocation volume)
    {
        using var dev = BlockDevice.Open(volume.Path, write: false);
        if (ProbeContainer(dev, volume) is { } container) throw TagsFromCryptLayer(volume.Path, container);
        var area = new byte[Superblock.AreaSize];
        if (volume.ReservedSectors > (ulong)dev.Sectors)
            throw new IntegrityVolumeException(ErrorIds.DeviceTruncated, ErrorKind.InvalidData,
                $"{volume.Path}: {volume.ReservedSectors} reserved sectors are beyond the end of the device ({dev.Sectors} sectors).", volume.Path);
        dev.Read((long)volume.ReservedSectors * 512, area);
        return Superblock.Parse(area, volume.Path);
    }

    /// <summary>
    /// Verify every tag offline (Test-IntegrityVolume, ivol verify). Opens the devices read-only. The verdict follows the
    /// kernel: Corrupt where it would fail a read, Healthy only where every block was checked, Incomplete otherwise.
    /// </summary>
    public static VerifyResult Verify(VerifyRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        request.Validate();
        var algorithm = request.Integrity.Algorithm;
        using var v = OpenVolume(request.Volume, write: false, ct);
        var sb = v.Superblock;
        var warnings = new List<string>();
        var notVerified = new List<string>();
        TagHasher? journalMac = null;
        using var cipher = request.JournalCrypt is null ? null : Journal.JournalCipher.Create(request.JournalCrypt, request.JournalCryptKey!, v.Geometry);
        try
        {
            if (cipher is not null && Journal.JournalInspector.HasPlainCommitIds(v.Meta, v.Geometry))
                // The kernel would decrypt this plain journal into bad commit ids and fail the device (RefusePlainJournalForJournalCrypt).
                throw new IntegrityVolumeException(ErrorIds.JournalNotEncrypted, ErrorKind.InvalidArgument,
                    $"{request.Volume.Path}: the journal is not encrypted; --journal-crypt / -JournalCrypt is for a volume whose journal is.", request.Volume.Path);
            if (request.JournalIntegrity is not null)
            {
                var macAlgorithm = request.JournalIntegrity;
                CheckSuperblockMac(v, request.Volume, macAlgorithm, request.JournalIntegrityKey, warnings);
                journalMac = macAlgorithm.CreateHasher(request.JournalIntegrityKey);
            }
            else if (sb.HasFlag(SuperblockFlags.HaveJournalMac))
                // dm_integrity_ctr: "Journal mac mismatch" - the kernel opens this volume only with its journal_mac.
                notVerified.Add("Journal MAC not checked: the superblock has HAVE_JOURNAL_MAC (the kernel opens it only with its journal_mac); give the journal integrity algorithm and key to check the superblock and journal MACs.");
            using var journalTags = TagComputer.ForVolume(sb, algorithm, request.Integrity.Key);
            var journal = JournalInspector.Inspect(v.Meta, sb, v.Geometry, journalTags, v.Data, ct, journalMac, cipher);
            return Judge(request, v, algorithm, journal, warnings, notVerified, progress, ct);
        }
        finally { journalMac?.Dispose(); }
    }

    private static VerifyResult Judge(VerifyRequest request, OpenedVolume v, TagAlgorithm algorithm, JournalReport journal,
        List<string> warnings, List<string> notVerified, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sb = v.Superblock;
        byte[]? bitmap = null;
        var failedEntries = journal.FailedEntries.ToArray();
        switch (journal.State)
        {
            case JournalState.Pending:
                warnings.Add($"The journal holds {journal.PendingEntries.Count} committed entries the kernel will replay on the next activation; blocks they overwrite are classified JournalPending.");
                if (failedEntries.Length > 0)
                    warnings.Add($"{failedEntries.Length} committed journal entries fail their tag check: the kernel's replay fails (\"tag mismatch when replaying journal\") and every read of the volume fails (wrong algorithm or key, or a damaged journal).");
                if (journal.MacFailedSections.Count > 0)
                    warnings.Add($"The MAC of journal sections {string.Join(", ", journal.MacFailedSections)} does not verify: the kernel's replay fails (\"journal mac\") and every read fails (wrong journal key, or a tampered journal).");
                break;
            case JournalState.Unreadable:
                warnings.Add(journal.Detail ?? "The journal is unreadable.");
                notVerified.Add("Journal not checked: its commit ids are unreadable (encrypted with journal_crypt, or corrupt); what the kernel would replay is unknown.");
                break;
            case JournalState.DirtyBitmap:
                bitmap = ReadDirtyBitmap(v);
                warnings.Add("DIRTY_BITMAP is set: the volume was not closed cleanly in bitmap mode; mismatches in dirty regions are classified Unsynchronized.");
                break;
        }
        // An offline write that did not finish (WriteIntent): never healthy, and the range is named.
        var interrupted = WriteIntent.Read(v.Meta, request.Volume.ReservedSectors);
        if (interrupted is not null) warnings.Add(interrupted.Advice);
        if (sb.HasFlag(SuperblockFlags.Recalculating) && sb.RecalcSector < sb.ProvidedDataSectors)
            warnings.Add($"Recalculation is at sector {sb.RecalcSector} of {sb.ProvidedDataSectors}: blocks beyond it are not protected yet (Uninitialized).");

        var verifier = new TagVerifier(v.Meta, v.Data, sb, v.Geometry, algorithm, request.Integrity.Key, journal, bitmap);
        var r = verifier.Run(request.Threads, request.MaxReportedRanges, progress, ct);
        if (r.Discarded > 0 && algorithm.IsKeyed)
            warnings.Add($"{r.Discarded} blocks carry the discard filler (all 0xF6) instead of a keyed tag; anyone can forge that filler.");
        if (r.Valid == 0 && r.Mismatch > 0)
            warnings.Add("No block matched: the algorithm, key or salt is probably wrong, or the tags were never initialised.");
        ulong checkedBlocks = r.Valid + r.Mismatch + r.Discarded + r.Unsynchronized + r.JournalPending + r.Uninitialized;
        // A pending block is proven by its journal entry's tag; with a journal_mac the section MAC must be checked too.
        bool journalProven = failedEntries.Length == 0 && journal.MacFailedSections.Count == 0;
        ulong verified = r.Valid + r.Discarded + (journalProven ? r.JournalPending : 0);
        if (r.Uninitialized > 0)
            notVerified.Add(r.Uninitialized == checkedBlocks
                ? $"Nothing verified: the volume is recalculating from sector {sb.RecalcSector}; no block has a tag yet (the kernel computes them when it activates the volume)."
                : $"{r.Uninitialized} blocks beyond recalc_sector {sb.RecalcSector} are not protected yet (RECALCULATING): nothing can verify them before the kernel computes their tags.");
        if (r.Unsynchronized > 0)
            notVerified.Add($"{r.Unsynchronized} blocks in dirty bitmap regions carry stale tags (not closed cleanly in bitmap mode): the kernel recalculates them on the next activation, so their data cannot be verified.");
        return new VerifyResult
        {
            Path = request.Volume.Path, DataDevicePath = request.Volume.DataDevicePath, Algorithm = algorithm.KernelName,
            SectorSize = sb.BlockSize, ProvidedDataSectors = sb.ProvidedDataSectors,
            BlocksChecked = checkedBlocks, ValidBlocks = r.Valid, MismatchedBlocks = r.Mismatch, DiscardedBlocks = r.Discarded,
            UninitializedBlocks = r.Uninitialized, UnsynchronizedBlocks = r.Unsynchronized, JournalPendingBlocks = r.JournalPending,
            MismatchedSectors = r.Ranges, JournalState = journal.State, Duration = r.Duration,
            ThroughputMiBps = r.Duration.TotalSeconds <= 0 ? 0 : Math.Round(sb.ProvidedDataSectors * 512.0 / (1 << 20) / r.Duration.TotalSeconds, 1),
            Warnings = warnings.ToArray(),
            VerifiedBlocks = verified,
            Coverage = checkedBlocks == 0 ? 0 : Math.Floor(10000.0 * verified / checkedBlocks) / 100,
            NotVerified = notVerified.ToArray(),
            FailedJournalEntries = failedEntries,
            JournalMacFailedSections = journal.MacFailedSections.ToArray(),
            InterruptedWrite = interrupted,
        };
    }

    /// <summary>sb_mac: with FIXED_HMAC and a journal_mac the kernel refuses a superblock whose MAC does not verify.</summary>
    private static void CheckSuperblockMac(OpenedVolume v, VolumeLocation loc, TagAlgorithm mac, IntegrityKey? key, List<string> warnings)
    {
        if (!v.Superblock.HasFlag(SuperblockFlags.HaveJournalMac))
            throw new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                $"{loc.Path}: a journal integrity algorithm was given, but the volume was formatted without one (the kernel refuses: \"Journal mac mismatch\").", loc.Path);
        if (!v.Superblock.HasFlag(SuperblockFlags.FixedHmac))
        {
            warnings.Add("The superblock carries no MAC (volume formatted without fix_hmac): it cannot be authenticated.");
            return;
        }
        var area = new byte[Superblock.AreaSize];
        v.Meta.Read((long)loc.ReservedSectors * 512, area);
        var expected = (byte[])area.Clone();
        using (var h = mac.CreateHasher(key)) JournalWriter.SignSuperblock(expected, h);
        if (!expected.AsSpan(0, 512).SequenceEqual(area.AsSpan(0, 512)))
            throw new IntegrityVolumeException(ErrorIds.SuperblockMacMismatch, ErrorKind.InvalidData,
                $"{loc.Path}: the superblock MAC does not verify with this journal integrity key: wrong key or algorithm, or a tampered superblock.", loc.Path);
    }

    /// <summary>
    /// The bitmap stored in the journal area: block k (4096 bytes) at journal sector 8k; one bit per region. Never more
    /// than the journal area. A granularity no kernel writes (one bit per 2^64 sectors or more) reads as "all dirty".
    /// </summary>
    private static byte[] ReadDirtyBitmap(OpenedVolume v)
    {
        var g = v.Geometry;
        int shift = v.Superblock.Log2SectorsPerBlock + v.Superblock.Log2BlocksPerBitmapBit;
        if (shift > 63) return new byte[] { 0xFF };
        ulong bits = (g.ProvidedDataSectors >> shift) + 1;
        ulong bytes = Math.Min(Math.Min((bits + 7) / 8, g.JournalSectors * 512), (ulong)Array.MaxLength);
        var bitmap = new byte[bytes];
        v.Meta.Read((long)g.JournalStartSector * 512, bitmap);
        return bitmap;
    }

    /// <summary>
    /// Check a format request and compute the volume it would create, writing nothing (-WhatIf, --dry-run); the kernel's
    /// plan when it formats (<see cref="FormatRequest.FormatsThroughKernel"/>).
    /// </summary>
    public static FormatResult PlanFormat(FormatRequest request, CancellationToken ct = default)
    {
        if (request.FormatsThroughKernel) return KernelFormatter.Plan(request, ct);
        request.Validate();
        return Formatter.Plan(request, ct);
    }

    /// <summary>
    /// Format a device or image: in userspace, byte-identical to the kernel's format plus tag initialisation; or through
    /// the kernel when <see cref="FormatRequest.FormatsThroughKernel"/> (asked for, or an encrypted journal).
    /// </summary>
    public static FormatResult Format(FormatRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        if (request.FormatsThroughKernel) return KernelFormatter.Format(request, progress, ct);
        request.Validate();
        return Formatter.Format(request, progress, ct);
    }

    /// <summary>
    /// As integritysetup: the running kernel must know the tag algorithm (it computes the tags once the volume is open).
    /// Throws when a running kernel with device-mapper lacks it; a warning when this machine cannot tell (null: fine).
    /// </summary>
    public static string? CheckKernelCrypto(FormatRequest request, bool anyKernel) =>
        KernelCrypto.CheckForFormat(request.Integrity.Algorithm.KernelName, anyKernel, DeviceMapperClient.IsAvailable());

    /// <summary>Fill a closed volume's logical content from a plain file, computing every tag (no kernel needed).</summary>
    public static WriteResult Write(WriteRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        DataWriter.Write(request, progress, ct);

    /// <summary>What an offline resize would do (new size, the written blocks a shrink would cut), writing nothing (-WhatIf).</summary>
    public static ResizeResult PlanResize(ResizeRequest request, CancellationToken ct = default) => ResizeOperation.Plan(request, ct);

    /// <summary>Grow or shrink a closed volume (image or device): new tail tagged, superblock updated last.</summary>
    public static ResizeResult Resize(ResizeRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        ResizeOperation.Resize(request, progress, ct);

    /// <summary>Resize an active mapping through the kernel (integritysetup resize; a grown tail is wiped or recalculated).</summary>
    public static ResizeResult ResizeActive(OnlineResizeRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        ResizeOnline.Resize(request, progress, ct);

    /// <summary>Repair a closed volume's mismatched blocks: from a copy, by re-tagging given ranges, or by zeroing the lost ones.</summary>
    public static RepairResult Repair(RepairRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Repairer.Repair(request, progress, ct);

    /// <summary>Repair an ACTIVE mapping's failing blocks by writing them through the kernel (it computes the tags).</summary>
    public static RepairResult RepairActive(OnlineRepairRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        OnlineRepairer.Repair(request, progress, ct);

    /// <summary>An md array (/dev/mdN, /dev/md/NAME, mdN) from sysfs, with its legs' dm-integrity status.</summary>
    public static Arrays.MdArrayInfo GetArray(string array) => Arrays.MdArrays.Get(array);

    /// <summary>Every md array with at least one dm-integrity leg.</summary>
    public static IReadOnlyList<Arrays.MdArrayInfo> ListArrays() => Arrays.MdArrays.ListWithIntegrityLegs();

    /// <summary>md check/repair of an array, watched to the end (or stopped on cancellation); integrity counters before/after.</summary>
    public static Arrays.ArrayScrubResult ScrubArray(Arrays.ArrayScrubRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Arrays.ArrayScrub.Run(request, progress, ct);

    /// <summary>
    /// Replace a leg of an md array with a new device formatted and opened like the other legs: mdadm --replace while
    /// the old leg is active, --remove/--add when it is faulty or gone; md's recovery watched to the end (cancellation
    /// stops the wait only: the kernel carries on).
    /// </summary>
    public static Arrays.ArrayLegReplaceResult ReplaceArrayLeg(Arrays.ArrayLegReplaceRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Arrays.ArrayLegReplace.Run(request, progress, ct);
    /// Create an md array (mdadm --create --assume-clean) over freshly formatted and opened dm-integrity legs; every device
    /// is checked before the first is formatted; a failure after a leg opened undoes everything; optional boot config.
    /// </summary>
    public static Arrays.ArrayCreateResult CreateArray(Arrays.ArrayCreateRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Arrays.ArrayCreate.Create(request, progress, ct);

    /// <summary>Every check CreateArray makes before it writes (devices in use or holding data, names taken, mdadm present); writes nothing; what it would create.</summary>
    public static Arrays.ArrayCreatePlan PlanArray(Arrays.ArrayCreateRequest request, CancellationToken ct = default) => Arrays.ArrayCreate.Plan(request, ct);

    /// <summary>Open the integrity legs of an array and assemble it (mdadm --assemble /dev/md/NAME over the mappings).</summary>
    public static Arrays.ArrayCreateResult OpenArray(Arrays.ArrayOpenRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Arrays.ArrayCreate.Open(request, progress, ct);

    /// <summary>Stop an md array (refused while it or anything above it is mounted or held) and close its dm-integrity legs.</summary>
    public static Arrays.ArrayCloseResult CloseArray(string array, CancellationToken ct = default) => Arrays.ArrayClose.Close(array, ct);
}
