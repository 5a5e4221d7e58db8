using IntegrityVolume.Core;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;
using Xunit;

namespace IntegrityVolume.Tests.Online;

/// <summary>
/// OnlineVerifier on the host: a plain file stands in for /dev/mapper/&lt;name&gt;, and a reader wrapped around it
/// fails chosen blocks the way the kernel does (a request fails with EILSEQ at its first bad block; EIO for a device
/// error), optionally bumping a fake mismatch counter per failed check as dm-integrity does. The real kernel is
/// exercised by tests/kernel/scenarios/07-online-verify.sh.
/// </summary>
public sealed class OnlineVerifierTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ivol-online-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A "mapped device" of <paramref name="blocks"/> blocks whose bytes encode their offset.</summary>
    private string Device(int blocks, int blockSize = 512, string name = "dev.bin")
    {
        string path = Path.Combine(_dir, name);
        var bytes = new byte[blocks * blockSize];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + i / 4096);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static IntegrityMappingInfo Mapping(ulong sectors, int sectorSize = 512, IntegrityMode mode = IntegrityMode.Journal, ulong? recalc = null) => new()
    {
        Name = "v", Type = "INTEGRITY", Path = "/dev/mapper/v", DeviceNumber = "254:3", SizeSectors = sectors, TagSize = 4,
        Algorithm = "crc32c", Mode = mode, SectorSize = sectorSize, InterleaveSectors = 32768, Failures = 0,
        ProvidedDataSectors = sectors, RecalcSector = recalc, Table = "0 0 integrity", Status = "0 0 -",
    };

    /// <summary>Fails any read that covers a chosen block with that block's errno, like a bio failing at its first bad block.</summary>
    private sealed class FailingReader(IMappedDeviceReader inner, int blockSize) : IMappedDeviceReader
    {
        public readonly Dictionary<long, int> Failing = new();
        public long KernelCounter;
        public int Reads, FailedReads;
        public int? FailOnceAt;   // chunk offset that fails once and then reads fine (transient)
        public readonly List<(long Offset, int Length)> Log = new();

        public string Path => inner.Path;
        public long Length => inner.Length;
        public bool DirectIo => true;

        public int Read(long offset, Span<byte> buffer)
        {
            Interlocked.Increment(ref Reads);
            lock (Log) Log.Add((offset, buffer.Length));
            if (FailOnceAt is { } once && once == offset && buffer.Length > blockSize)
            {
                FailOnceAt = null;
                Interlocked.Increment(ref FailedReads);
                return OnlineVerifier.EIO;
            }
            for (long b = offset / blockSize; b < (offset + buffer.Length) / blockSize; b++)
                if (Failing.TryGetValue(b, out int errno))
                {
                    Interlocked.Increment(ref FailedReads);
                    if (errno == OnlineVerifier.EILSEQ) Interlocked.Increment(ref KernelCounter);
                    return errno;
                }
            return inner.Read(offset, buffer);
        }

        public void Dispose() => inner.Dispose();
    }

    private static IEnumerable<ulong> Sectors(IEnumerable<SectorRange> ranges) =>
        ranges.SelectMany(r => Enumerable.Range(0, (int)r.Sectors).Select(k => r.Start + (ulong)k));

    [Fact]
    public void A_healthy_device_reads_every_block_once_in_chunks()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(5000)), 512);
        var r = OnlineVerifier.Verify(Mapping(5000), reader, () => (ulong)reader.KernelCounter,
            new OnlineVerifyOptions { ChunkBytes = 64 << 10, Threads = 3 });
        Assert.True(r.Healthy);
        Assert.Equal(5000UL, r.BlocksChecked);
        Assert.Equal(5000UL, r.ValidBlocks);
        Assert.Equal(0UL, r.MismatchedBlocks + r.UnreadableBlocks);
        Assert.Empty(r.MismatchedSectors);
        Assert.Equal(0UL, r.FailuresDelta);
        Assert.Equal((5000 * 512 + (64 << 10) - 1) / (64 << 10), reader.Reads);   // 40 chunks, the last one partial
        Assert.Equal(5000L * 512, reader.Log.Sum(l => (long)l.Length));
        Assert.All(reader.Log, l => Assert.Equal(0, l.Offset % (64 << 10)));
        Assert.Equal("v", r.Name);
        Assert.Equal("254:3", r.DeviceNumber);
        Assert.Equal("crc32c", r.Algorithm);
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void Failing_chunks_are_reread_block_by_block_and_reported_as_merged_sector_ranges()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(4096)), 512);
        foreach (long b in new long[] { 3, 4, 5, 777, 2000, 4095 }) reader.Failing[b] = OnlineVerifier.EILSEQ;
        reader.Failing[1500] = OnlineVerifier.EIO;
        reader.Failing[1501] = 61;   // ENODATA (BLK_STS_MEDIUM): the disk below, not the tag
        var r = OnlineVerifier.Verify(Mapping(4096), reader, () => (ulong)Interlocked.Read(ref reader.KernelCounter),
            new OnlineVerifyOptions { ChunkBytes = 128 << 10, Threads = 2 });

        Assert.False(r.Healthy);
        Assert.Equal(6UL, r.MismatchedBlocks);
        Assert.Equal(2UL, r.UnreadableBlocks);
        Assert.Equal(4096UL - 8, r.ValidBlocks);
        Assert.Equal(new[] { new SectorRange(3, 3), new SectorRange(777, 1), new SectorRange(2000, 1), new SectorRange(4095, 1) }, r.MismatchedSectors);
        Assert.Equal(new[] { new SectorRange(1500, 2) }, r.UnreadableSectors);
        // Each failing chunk counts once, then each bad block on its own re-read: the delta exceeds the block count.
        Assert.Equal(0UL, r.FailuresBefore);
        Assert.True(r.FailuresDelta >= r.MismatchedBlocks, $"delta {r.FailuresDelta}");
        Assert.DoesNotContain(r.Warnings, w => w.Contains("counter"));
        // 16 chunks of 256 blocks; the 5 that hold a bad block are re-read block by block.
        int failingChunks = new long[] { 3, 777, 1500, 2000, 4095 }.Select(b => b / 256).Distinct().Count();
        Assert.Equal(16 + failingChunks * 256, reader.Reads);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1024)]
    public void Sectors_of_large_blocks_are_the_first_512_byte_sector_of_each_block(int blockSize)
    {
        int blocks = 300;
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(blocks, blockSize)), blockSize);
        reader.Failing[10] = OnlineVerifier.EILSEQ;
        reader.Failing[11] = OnlineVerifier.EILSEQ;
        reader.Failing[299] = OnlineVerifier.EILSEQ;
        int spb = blockSize / 512;
        var r = OnlineVerifier.Verify(Mapping((ulong)(blocks * spb), blockSize), reader, options: new OnlineVerifyOptions { ChunkBytes = 1 << 20 });
        Assert.Equal((ulong)blocks, r.BlocksChecked);
        Assert.Equal(3UL, r.MismatchedBlocks);
        Assert.Equal(new[] { new SectorRange((ulong)(10 * spb), (ulong)(2 * spb)), new SectorRange((ulong)(299 * spb), (ulong)spb) }, r.MismatchedSectors);
        Assert.All(reader.Log, l => Assert.Equal(0, l.Offset % blockSize));
        Assert.Contains(reader.Log, l => l.Length == blockSize);   // the re-reads are whole blocks
        Assert.Null(r.FailuresBefore);   // no counter given
        Assert.Null(r.FailuresDelta);
    }

    [Fact]
    public void Results_do_not_depend_on_threads_or_chunk_size()
    {
        string dev = Device(3000);
        var bad = new long[] { 0, 1, 2, 255, 256, 1024, 2999 };
        SectorRange[]? first = null;
        foreach (var (threads, chunk) in new[] { (1, 4096), (4, 512 << 4), (2, 1 << 20), (0, 3 * 512) })
        {
            using var reader = new FailingReader(MappedDeviceReader.Open(dev), 512);
            foreach (long b in bad) reader.Failing[b] = OnlineVerifier.EILSEQ;
            var r = OnlineVerifier.Verify(Mapping(3000), reader, options: new OnlineVerifyOptions { Threads = threads, ChunkBytes = chunk });
            Assert.Equal(bad.Select(b => (ulong)b), Sectors(r.MismatchedSectors));
            first ??= r.MismatchedSectors;
            Assert.Equal(first, r.MismatchedSectors);
        }
    }

    [Fact]
    public void A_chunk_that_fails_once_but_reads_block_by_block_is_healthy_with_a_warning()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(1024)), 512);
        reader.FailOnceAt = 256 * 512;
        var r = OnlineVerifier.Verify(Mapping(1024), reader, options: new OnlineVerifyOptions { ChunkBytes = 128 << 10, Threads = 1 });
        Assert.True(r.Healthy);
        Assert.Contains(r.Warnings, w => w.Contains("transient"));
    }

    [Fact]
    public void The_counter_check_and_the_kernel_states_that_check_nothing_are_warnings()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(64)), 512);
        reader.Failing[5] = OnlineVerifier.EILSEQ;
        ulong calls = 0;
        // A counter that does not move (e.g. another tool reset it) is reported, not trusted.
        var r = OnlineVerifier.Verify(Mapping(64, mode: IntegrityMode.Recovery, recalc: 32), reader, () => { calls++; return 7; });
        Assert.Equal(2UL, calls);
        Assert.Equal(7UL, r.FailuresBefore);
        Assert.Equal(0UL, r.FailuresDelta);
        Assert.Contains(r.Warnings, w => w.Contains("counter rose by 0"));
        Assert.Contains(r.Warnings, w => w.Contains("recovery mode"));
        Assert.Contains(r.Warnings, w => w.Contains("from sector 32"));
        // A counter that disappears (mapping removed) is null, not an error.
        using var again = new FailingReader(MappedDeviceReader.Open(Device(64, name: "b.bin")), 512);
        var gone = OnlineVerifier.Verify(Mapping(64), again, () => calls++ == 2 ? (ulong?)1 : null);
        Assert.Equal(1UL, gone.FailuresBefore);
        Assert.Null(gone.FailuresAfter);
        Assert.Null(gone.FailuresDelta);
    }

    [Fact]
    public void Errors_that_are_not_a_verdict_about_blocks_end_the_run()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(64)), 512);
        reader.Failing[9] = OnlineVerifier.EINVAL;   // misaligned O_DIRECT, say: our bug, not the disk's
        var ex = Assert.Throws<IntegrityVolumeException>(() => OnlineVerifier.Verify(Mapping(64), reader));
        Assert.Equal(ErrorIds.DeviceReadFailed, ex.ErrorId);
        Assert.Equal(ErrorKind.DeviceError, ex.Kind);
        Assert.Contains("errno 22", ex.Message);
    }

    [Fact]
    public void Options_are_checked()
    {
        using var reader = MappedDeviceReader.Open(Device(8, 4096));
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() =>
            OnlineVerifier.Verify(Mapping(64, 4096), reader, options: new OnlineVerifyOptions { ChunkBytes = 2048 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() =>
            OnlineVerifier.Verify(Mapping(64, 3000), reader)).ErrorId);
        Assert.Equal(ErrorIds.InvalidParameter, Assert.Throws<IntegrityVolumeException>(() =>
            OnlineVerifier.Verify(Mapping(64, 4096), reader, options: new OnlineVerifyOptions { Threads = -1 })).ErrorId);
    }

    [Fact]
    public void Ranges_are_capped_but_counts_stay_exact()
    {
        using var reader = new FailingReader(MappedDeviceReader.Open(Device(200)), 512);
        for (long b = 0; b < 200; b += 2) reader.Failing[b] = OnlineVerifier.EILSEQ;
        var r = OnlineVerifier.Verify(Mapping(200), reader, options: new OnlineVerifyOptions { MaxReportedRanges = 10 });
        Assert.Equal(100UL, r.MismatchedBlocks);
        Assert.Equal(10, r.MismatchedSectors.Length);
    }

    [Fact]
    public void Progress_is_reported_on_the_calling_thread_and_ends_complete()
    {
        using var reader = MappedDeviceReader.Open(Device(20000));
        var progress = new Recorder();
        OnlineVerifier.Verify(Mapping(20000), reader, options: new OnlineVerifyOptions { ChunkBytes = 4096, Threads = 2 }, progress: progress);
        Assert.NotEmpty(progress.Reports);
        Assert.All(progress.Threads, t => Assert.Equal(Environment.CurrentManagedThreadId, t));
        var last = progress.Reports[^1];
        Assert.Equal(20000L * 512, last.BytesTotal);
        Assert.Equal(last.BytesTotal, last.BytesDone);
        Assert.Equal(reader.Path, last.Status);
    }

    [Fact]
    public void Cancellation_stops_the_reads()
    {
        using var reader = MappedDeviceReader.Open(Device(2000));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => OnlineVerifier.Verify(Mapping(2000), reader, ct: cts.Token));
    }

    [Fact]
    public void An_empty_device_checks_nothing()
    {
        using var reader = MappedDeviceReader.Open(Device(0));
        var r = OnlineVerifier.Verify(Mapping(0), reader);
        Assert.Equal(0UL, r.BlocksChecked);
        Assert.True(r.Healthy);
    }

    [Fact]
    public void A_tail_shorter_than_a_block_is_not_read_and_is_mentioned()
    {
        string path = Device(10);
        File.AppendAllText(path, "xyz");
        using var reader = MappedDeviceReader.Open(path);
        var r = OnlineVerifier.Verify(Mapping(10), reader);
        Assert.Equal(10UL, r.BlocksChecked);
        Assert.Contains(r.Warnings, w => w.Contains("last 3 bytes"));
    }

    // ------------------------------------------------------------------ the real reader

    [Fact]
    public void The_reader_returns_the_files_bytes_uses_O_DIRECT_where_it_can_and_reports_errno()
    {
        // tmpfs before Linux 6.6 refuses O_DIRECT (EINVAL); a regular file then falls back to buffered reads and says so.
        var dirs = new List<string> { _dir, AppContext.BaseDirectory };
        if (Directory.Exists("/dev/shm")) dirs.Add("/dev/shm");   // tmpfs: the buffered fallback on older kernels
        foreach (string dir in dirs)
        {
            string path = Path.Combine(dir, $"reader-{Guid.NewGuid():N}.bin");
            var bytes = new byte[64 << 10];
            new Random(5).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var reader = MappedDeviceReader.Open(path);
                Assert.Equal(bytes.Length, reader.Length);
                var buffer = PageAlignedBuffer.Allocate(16 << 10);
                Assert.Equal(0, reader.Read(8192, buffer));
                Assert.Equal(bytes.AsSpan(8192, 16 << 10).ToArray(), buffer.ToArray());
                Assert.Equal(OnlineVerifier.ENXIO, reader.Read(bytes.Length - 4096, buffer));   // past the end
                Assert.Equal(OnlineVerifier.ENXIO, reader.Read(-512, buffer.AsSpan(0, 512)));
                var r = OnlineVerifier.Verify(Mapping(128), reader);
                Assert.True(r.Healthy);
                Assert.Equal(reader.DirectIo, r.DirectIo);
                Assert.Equal(!reader.DirectIo, r.Warnings.Any(w => w.Contains("page cache")));
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void Opening_a_missing_node_is_DeviceNotFound()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => MappedDeviceReader.Open(Path.Combine(_dir, "nope")));
        Assert.Equal(ErrorIds.DeviceNotFound, ex.ErrorId);
    }

    [Fact]
    public void The_device_node_must_be_the_mappings_device()
    {
        // On the host neither /dev/mapper/v nor /dev/dm-N of 254:3 is that device: the error says how to make the node.
        var info = Mapping(8) with { DeviceNumber = "254:4091", Path = Path.Combine(_dir, "v") };
        File.WriteAllText(info.Path, "not a block device");
        var ex = Assert.Throws<IntegrityVolumeException>(() => OnlineVerifier.DeviceNodeOf(info));
        Assert.Equal(ErrorIds.DeviceNotFound, ex.ErrorId);
        Assert.Contains("dmsetup mknodes", ex.Message);
    }

    [Fact]
    public void Errno_classes_follow_blk_status_to_errno()
    {
        Assert.True(OnlineVerifier.IsMismatch(84));                 // BLK_STS_PROTECTION
        foreach (int e in new[] { 5, 52, 61, 67, 110, 121 })        // IOERR, NEXUS, MEDIUM, TRANSPORT, TIMEOUT, TARGET
            Assert.True(OnlineVerifier.IsDeviceError(e));
        foreach (int e in new[] { 0, 4, 12, 14, 22 })
            Assert.False(OnlineVerifier.IsMismatch(e) || OnlineVerifier.IsDeviceError(e));
    }

    private sealed class Recorder : IProgress<OperationProgress>
    {
        public readonly List<OperationProgress> Reports = new();
        public readonly List<int> Threads = new();
        public void Report(OperationProgress value) { Reports.Add(value); Threads.Add(Environment.CurrentManagedThreadId); }
    }
}
