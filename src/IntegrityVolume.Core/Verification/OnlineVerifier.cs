using System.Diagnostics;
using System.Runtime.InteropServices;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.Verification;

/// <summary>Settings of an online verification.</summary>
public sealed record OnlineVerifyOptions
{
    /// <summary>Concurrent reads; 0 = min(4, processors). Each has its own buffer of <see cref="ChunkBytes"/>.</summary>
    public int Threads { get; init; }
    /// <summary>Bytes per read (rounded down to whole blocks); a failing chunk is re-read block by block.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;
    /// <summary>At most this many ranges are listed (counts stay exact).</summary>
    public int MaxReportedRanges { get; init; } = 100_000;
}

/// <summary>
/// Result of Test-IntegrityVolume -Name / ivol verify --name: what the KERNEL said when every block of an active
/// mapping was read. Not a <see cref="VerifyResult"/>: online there are no block classes to tell apart (the kernel
/// already skips discarded, not yet recalculated and journal-pending blocks), no journal state to report, and two
/// things offline verification cannot see: unreadable blocks (EIO from the device below) and the kernel's own
/// mismatch counter.
/// </summary>
public sealed class OnlineVerifyResult
{
    /// <summary>The device-mapper name.</summary>
    public required string Name { get; init; }
    /// <summary>The device node that was read (/dev/mapper/&lt;name&gt;, or /dev/dm-N when that node is missing).</summary>
    public required string Path { get; init; }
    public string? DeviceNumber { get; init; }
    /// <summary>internal_hash of the live table (kernel spelling), null for tags from the layer above.</summary>
    public string? Algorithm { get; init; }
    public required IntegrityMode Mode { get; init; }
    public required int SectorSize { get; init; }
    public required ulong ProvidedDataSectors { get; init; }
    /// <summary>True when no block failed its tag check and every block could be read.</summary>
    public bool Healthy => MismatchedBlocks == 0 && UnreadableBlocks == 0;
    public required ulong BlocksChecked { get; init; }
    public required ulong ValidBlocks { get; init; }
    /// <summary>Blocks the kernel refused with EILSEQ: data and tag disagree.</summary>
    public required ulong MismatchedBlocks { get; init; }
    /// <summary>Blocks whose read failed with EIO or another device error (the disk below, not the tag).</summary>
    public required ulong UnreadableBlocks { get; init; }
    /// <summary>Mismatching blocks as runs of 512-byte logical sectors (the kernel's "Checksum failed at sector" numbers).</summary>
    public required SectorRange[] MismatchedSectors { get; init; }
    public required SectorRange[] UnreadableSectors { get; init; }
    /// <summary>The kernel's mismatch counter (dmsetup status, first field) before and after; null when it could not be read.</summary>
    public ulong? FailuresBefore { get; init; }
    public ulong? FailuresAfter { get; init; }
    /// <summary>How much the counter rose during the verification. It counts every failed check, so a failing chunk and
    /// its block-by-block re-read both count: expect at least <see cref="MismatchedBlocks"/>.</summary>
    public ulong? FailuresDelta => FailuresBefore is { } b && FailuresAfter is { } a && a >= b ? a - b : null;
    /// <summary>True when the device was read with O_DIRECT (always for block devices).</summary>
    public required bool DirectIo { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Bytes read per second, in MiB/s.</summary>
    public required double ThroughputMiBps { get; init; }
    public required string[] Warnings { get; init; }
    /// <summary>
    /// Set when <see cref="Name"/> is a dm-crypt mapping over a dm-integrity one (LUKS2 --integrity): the blocks were
    /// read through it, and the failures are dm-crypt's AEAD/HMAC check (EILSEQ). The dm-integrity mapping below
    /// is <see cref="IntegrityMapping"/>; its mismatch counter does not count them (it checks no tag itself).
    /// </summary>
    public CryptLayerInfo? CryptLayer { get; init; }
    public string? IntegrityMapping { get; init; }

    internal OnlineVerifyResult With(CryptLayerInfo crypt, string integrityMapping)
    {
        return new OnlineVerifyResult
        {
            Name = Name, Path = Path, DeviceNumber = DeviceNumber, Algorithm = Algorithm, Mode = Mode, SectorSize = SectorSize,
            ProvidedDataSectors = ProvidedDataSectors, BlocksChecked = BlocksChecked, ValidBlocks = ValidBlocks,
            MismatchedBlocks = MismatchedBlocks, UnreadableBlocks = UnreadableBlocks, MismatchedSectors = MismatchedSectors,
            UnreadableSectors = UnreadableSectors, FailuresBefore = FailuresBefore, FailuresAfter = FailuresAfter, DirectIo = DirectIo,
            Duration = Duration, ThroughputMiBps = ThroughputMiBps, Warnings = Warnings, CryptLayer = crypt, IntegrityMapping = integrityMapping,
        };
    }
}

/// <summary>
/// Online verification: read every block of an active dm-integrity mapping through the kernel, which checks each tag
/// on read, without taking the volume offline. Large aligned O_DIRECT reads; a chunk that fails (EILSEQ or EIO) is
/// read again block by block to find the failing blocks. Progress is reported on the calling thread.
/// </summary>
public static class OnlineVerifier
{
    public const int EIO = 5, ENXIO = 6, EINTR = 4, EINVAL = 22, EILSEQ = 84;
    /// <summary>Block-layer statuses that mean "the device below failed" (blk_status_to_errno): EIO, EBADE, ENODATA, ENOLINK, ETIMEDOUT, EREMOTEIO.</summary>
    private static readonly int[] DeviceErrors = { EIO, 52, 61, 67, 110, 121 };

    /// <summary>True when <paramref name="errno"/> means a block failed its tag check.</summary>
    public static bool IsMismatch(int errno) => errno == EILSEQ;

    /// <summary>True when <paramref name="errno"/> is an I/O error of the device below.</summary>
    public static bool IsDeviceError(int errno) => Array.IndexOf(DeviceErrors, errno) >= 0;

    /// <summary>Verify the active mapping <paramref name="name"/>: find its node, read it, compare the mismatch counter.</summary>
    public static OnlineVerifyResult VerifyMapping(string name, OnlineVerifyOptions? options = null,
        IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        IntegrityMappingInfo? info;
        try { info = IntegrityMappings.Status(name); }
        catch (IntegrityVolumeException ex) when (ex.ErrorId == ErrorIds.NotAnIntegrityDevice)
        {
            return VerifyCryptStack(name, options, progress, ct) ?? throw new IntegrityVolumeException(ErrorIds.NotAnIntegrityDevice, ErrorKind.InvalidArgument,
                $"{name} is neither a dm-integrity mapping nor a dm-crypt mapping with integrity over one: nothing checks its blocks' tags.", name, ex);
        }
        if (info is null)
            throw new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"Device {name} is not active.", name);
        if (info.Algorithm is null)
            // No internal_hash: dm-integrity only stores the tags the layer above hands it; a read of this device checks nothing.
            throw new IntegrityVolumeException(ErrorIds.TagsFromCryptLayer, ErrorKind.InvalidArgument, info.TagsProvidedBy is { } above
                ? $"{name}'s tags are provided by the crypt mapping {above.Name} above it ({above.Cipher}, integrity {above.Integrity}): reading {name} checks nothing. Verify through the crypt mapping: ivol verify --name {above.Name} (Test-IntegrityVolume -Name {above.Name})."
                : $"{name} has no internal_hash: its tags come from the layer above (none holds it now), so reading it checks nothing.", name);
        ThrowIfSuspended(info);
        using var reader = MappedDeviceReader.Open(DeviceNodeOf(info));
        return Verify(info, reader, () => FailuresOf(name), options, progress, ct);
    }

    private static void ThrowIfSuspended(IntegrityMappingInfo info)
    {
        if (info.Suspended)
            throw new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                $"{info.Name} is suspended: reads would wait until it is resumed (dmsetup resume {info.Name}).", info.Name);
    }

    /// <summary>
    /// A dm-crypt mapping with integrity over a dm-integrity one (LUKS2 --integrity): read every block of the crypt
    /// mapping; dm-crypt fails a block whose AEAD/HMAC tag does not verify with EILSEQ (BLK_STS_PROTECTION), as
    /// dm-integrity does for its own tags. Null when <paramref name="name"/> is no such crypt mapping.
    /// </summary>
    private static OnlineVerifyResult? VerifyCryptStack(string name, OnlineVerifyOptions? options, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        if (IntegrityMappings.CryptStack(name) is not var (crypt, below)) return null;
        ThrowIfSuspended(below);
        var mapping = below with
        {
            Name = crypt.Name, Path = crypt.Path, DeviceNumber = crypt.DeviceNumber, SizeSectors = crypt.SizeSectors,
            SectorSize = crypt.SectorSize, ProvidedDataSectors = crypt.SizeSectors, Algorithm = crypt.Integrity,
        };
        using var reader = MappedDeviceReader.Open(DeviceNodeOf(mapping));
        var r = Verify(mapping, reader, failureCounter: null, options, progress, ct);
        return r.With(crypt, below.Name);
    }

    private static ulong? FailuresOf(string name)
    {
        try { return IntegrityMappings.Status(name)?.Failures; }
        catch (IntegrityVolumeException) { return null; }
    }

    /// <summary>/dev/mapper/&lt;name&gt; when it is the mapping's node, else /dev/dm-&lt;minor&gt; (what the kernel names it).</summary>
    internal static string DeviceNodeOf(IntegrityMappingInfo info)
    {
        Kernel.DeviceNumber.TryParse(info.DeviceNumber, out var dev);
        foreach (var candidate in new[] { info.Path, $"/dev/dm-{dev.Minor}" })
            if (NativeMethods.Stat(candidate) is { IsBlockDevice: true } st && st.RdevMajor == dev.Major && st.RdevMinor == dev.Minor)
                return candidate;
        throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound,
            $"No device node for {info.Name} ({info.DeviceNumber}): neither {info.Path} nor /dev/dm-{dev.Minor} is that device (dmsetup mknodes {info.Name} creates it).",
            info.Name);
    }

    /// <summary>
    /// Read every block of <paramref name="reader"/> (the device of <paramref name="mapping"/>) and classify the failures.
    /// <paramref name="failureCounter"/> returns the kernel's mismatch counter (null when unavailable); it is read
    /// before the first and after the last read.
    /// </summary>
    public static OnlineVerifyResult Verify(IntegrityMappingInfo mapping, IMappedDeviceReader reader, Func<ulong?>? failureCounter = null,
        OnlineVerifyOptions? options = null, IProgress<OperationProgress>? progress = null, CancellationToken ct = default)
    {
        options ??= new OnlineVerifyOptions();
        int bs = mapping.SectorSize;
        if (bs < 512 || bs > 4096 || (bs & (bs - 1)) != 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"{mapping.Name}: sector size {bs} is not 512..4096.", mapping.Name);
        if (options.ChunkBytes < bs)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"Chunk size {options.ChunkBytes} is smaller than a block ({bs}).", mapping.Name);
        if (options.Threads < 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"Threads {options.Threads} must be 0 (automatic) or more.", mapping.Name);

        var warnings = new List<string>();
        ulong? before = failureCounter?.Invoke();
        ulong totalBlocks = (ulong)reader.Length / (ulong)bs;
        if ((ulong)reader.Length % (ulong)bs != 0)
            warnings.Add($"The device is {reader.Length} bytes, not a whole number of {bs}-byte blocks; the last {(ulong)reader.Length % (ulong)bs} bytes were not read.");
        int blocksPerChunk = options.ChunkBytes / bs;
        int chunks = (int)Math.Min(int.MaxValue, (totalBlocks + (ulong)blocksPerChunk - 1) / (ulong)blocksPerChunk);
        if ((ulong)chunks * (ulong)blocksPerChunk < totalBlocks)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, $"{mapping.Name}: too many chunks; use a larger chunk size.", mapping.Name);
        int threads = options.Threads > 0 ? options.Threads : Math.Min(4, Environment.ProcessorCount);
        var total = new Tally();
        long totalBytes = (long)(totalBlocks * (ulong)bs);

        var elapsed = totalBlocks == 0 ? TimeSpan.Zero : ParallelChunks.Run(chunks, threads,
            () => new Worker(blocksPerChunk * bs),
            (w, i) => ReadChunk(reader, (ulong)i * (ulong)blocksPerChunk, (int)Math.Min((ulong)blocksPerChunk, totalBlocks - (ulong)i * (ulong)blocksPerChunk), bs, w),
            i => (long)Math.Min((ulong)blocksPerChunk, totalBlocks - (ulong)i * (ulong)blocksPerChunk) * bs, totalBytes,
            "Verifying active dm-integrity volume", reader.Path, progress, ct,
            finish: w => { lock (total) total.Add(w.Tally); });
        ulong? after = failureCounter?.Invoke();

        ulong sectorsPerBlock = (ulong)bs / 512;
        total.Mismatched.Sort();
        total.Unreadable.Sort();
        ulong mismatched = (ulong)total.Mismatched.Count, unreadable = (ulong)total.Unreadable.Count;

        if (!reader.DirectIo)
            warnings.Add($"{reader.Path} was read through the page cache (O_DIRECT is not available), so blocks already cached were not checked again by the kernel.");
        if (mapping.Mode == IntegrityMode.Recovery)
            warnings.Add("The mapping is in recovery mode: the kernel does not check tags, so no block can fail. Reopen it in another mode to verify it.");
        if (mapping.RecalcSector is { } recalc && recalc < mapping.ProvidedDataSectors)
            warnings.Add($"The kernel is still recalculating tags: blocks from sector {recalc} on are not checked yet.");
        if (total.RecoveredChunks > 0)
            warnings.Add($"{total.RecoveredChunks} chunk read(s) failed but every block read back on its own (a transient error).");
        if (before is not null && after is not null && after >= before && after - before < mismatched)
            warnings.Add($"The kernel's mismatch counter rose by {after - before}, less than the {mismatched} mismatching blocks found.");

        return new OnlineVerifyResult
        {
            Name = mapping.Name,
            Path = reader.Path,
            DeviceNumber = mapping.DeviceNumber,
            Algorithm = mapping.Algorithm,
            Mode = mapping.Mode,
            SectorSize = bs,
            ProvidedDataSectors = mapping.ProvidedDataSectors,
            BlocksChecked = totalBlocks,
            ValidBlocks = totalBlocks - mismatched - unreadable,
            MismatchedBlocks = mismatched,
            UnreadableBlocks = unreadable,
            MismatchedSectors = TagVerifier.ToRanges(ToSectors(total.Mismatched, sectorsPerBlock), sectorsPerBlock, options.MaxReportedRanges),
            UnreadableSectors = TagVerifier.ToRanges(ToSectors(total.Unreadable, sectorsPerBlock), sectorsPerBlock, options.MaxReportedRanges),
            FailuresBefore = before,
            FailuresAfter = after,
            DirectIo = reader.DirectIo,
            Duration = elapsed,
            ThroughputMiBps = elapsed.TotalSeconds > 0 ? Math.Round(totalBytes / elapsed.TotalSeconds / (1 << 20), 1) : 0,
            Warnings = warnings.ToArray(),
        };
    }

    private static List<ulong> ToSectors(List<ulong> blocks, ulong sectorsPerBlock) => blocks.ConvertAll(b => b * sectorsPerBlock);

    private sealed class Tally
    {
        public readonly List<ulong> Mismatched = new(), Unreadable = new();
        public int RecoveredChunks;
        public void Add(Tally o) { Mismatched.AddRange(o.Mismatched); Unreadable.AddRange(o.Unreadable); RecoveredChunks += o.RecoveredChunks; }
    }

    /// <summary>One reader thread: a page-aligned buffer (O_DIRECT needs one) and its findings.</summary>
    private sealed class Worker(int bytes)
    {
        public readonly ArraySegment<byte> Buffer = PageAlignedBuffer.Allocate(bytes);
        public readonly Tally Tally = new();
    }

    private static void ReadChunk(IMappedDeviceReader reader, ulong firstBlock, int blocks, int bs, Worker w)
    {
        var span = w.Buffer.AsSpan(0, blocks * bs);
        int errno = reader.Read((long)(firstBlock * (ulong)bs), span);
        if (errno == 0) return;
        Classify(reader, errno, (long)(firstBlock * (ulong)bs), blocks * bs);
        // The kernel fails the whole request at the first bad block; find every one.
        int failures = 0;
        for (int b = 0; b < blocks; b++)
        {
            ulong block = firstBlock + (ulong)b;
            int e = reader.Read((long)(block * (ulong)bs), span.Slice(b * bs, bs));
            if (e == 0) continue;
            failures++;
            if (Classify(reader, e, (long)(block * (ulong)bs), bs)) w.Tally.Mismatched.Add(block);
            else w.Tally.Unreadable.Add(block);
        }
        if (failures == 0) w.Tally.RecoveredChunks++;
    }

    /// <summary>True for a tag mismatch, false for a device error; anything else is not a verdict about blocks and ends the run.</summary>
    private static bool Classify(IMappedDeviceReader reader, int errno, long offset, int length)
    {
        if (IsMismatch(errno)) return true;
        if (IsDeviceError(errno)) return false;
        throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError,
            $"{reader.Path}: read of {length} bytes at byte {offset} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", reader.Path);
    }
}

