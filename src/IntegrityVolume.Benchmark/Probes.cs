using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Benchmark;

/// <summary>The machine's limits with no dm-integrity logic: plain sequential read, plain sequential write.</summary>
public static class StorageProbe
{
    public const int DefaultBufferBytes = 1 << 20;

    /// <summary>Read the whole file front to back with <paramref name="bufferBytes"/> reads on one thread (dd bs=1M).</summary>
    public static (long Bytes, double Seconds) SequentialRead(string path, int bufferBytes = DefaultBufferBytes, CancellationToken ct = default)
    {
        var buffer = PageAlignedBuffer.Allocate(bufferBytes);   // as the verifier's buffers
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var sw = Stopwatch.StartNew();
        long offset = 0;
        int n;
        while ((n = RandomAccess.Read(h, buffer, offset)) > 0)
        {
            offset += n;
            if ((offset & ((1L << 30) - 1)) == 0) ct.ThrowIfCancellationRequested();
        }
        return (offset, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The file split into <paramref name="threads"/> contiguous parts, each read front to back by its own thread with
    /// <paramref name="bufferBytes"/> reads: what several cores can pull out of the page cache together (memory
    /// bandwidth is shared, so this is less than threads x the one-thread rate).
    /// </summary>
    public static (long Bytes, double Seconds) ParallelRead(string path, int threads, int bufferBytes = DefaultBufferBytes)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long length = RandomAccess.GetLength(h), part = (length / threads + bufferBytes - 1) / bufferBytes * bufferBytes;
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            var buffer = PageAlignedBuffer.Allocate(bufferBytes);
            long end = Math.Min(length, (t + 1) * part);
            for (long offset = t * part; offset < end;)
            {
                int n = RandomAccess.Read(h, buffer.AsSpan(0, (int)Math.Min(bufferBytes, end - offset)), offset);
                if (n <= 0) break;
                offset += n;
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        return (length, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Write <paramref name="bytes"/> zeros sequentially to a new file in 1 MiB writes and fsync: the cost of a
    /// full-device wipe (what integritysetup format does through the kernel). The file is deleted afterwards.
    /// </summary>
    public static double ZeroWrite(string path, long bytes, int bufferBytes = DefaultBufferBytes, CancellationToken ct = default)
    {
        var zeros = new byte[bufferBytes];
        try
        {
            var sw = Stopwatch.StartNew();
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            {
                for (long done = 0; done < bytes;)
                {
                    int n = (int)Math.Min(zeros.Length, bytes - done);
                    fs.Write(zeros, 0, n);
                    done += n;
                    if ((done & ((1L << 30) - 1)) == 0) ct.ThrowIfCancellationRequested();
                }
                fs.Flush(flushToDisk: true);
            }
            return sw.Elapsed.TotalSeconds;
        }
        finally { File.Delete(path); }
    }
}

/// <summary>
/// Raw tag-hash rate on one core: TagComputer.Compute over a 1 MiB buffer (the verifier's chunk) block by block in a
/// loop, plus alternative implementations of the same tag (checked equal) that show what the hot path could gain.
/// </summary>
public static class HashProbe
{
    private const int BufferBytes = 1 << 20;

    private interface IBlockHash { void Hash(ulong sector, ReadOnlySpan<byte> block); }

    private struct EngineHash(TagComputer tags) : IBlockHash
    {
        private readonly byte[] _tag = new byte[tags.TagSize];
        public void Hash(ulong sector, ReadOnlySpan<byte> block) => tags.Compute(sector, block, _tag);
    }

    /// <summary>A salted TagComputer (FIXED_HMAC layout: 16-byte salt ‖ LE64 sector ‖ block), tag = full digest.</summary>
    public static TagComputer CreateComputer(TagAlgorithm algorithm, IntegrityKey? key, byte[] salt) =>
        new(algorithm, key, algorithm.DigestSize, salt);

    public static byte[] TestBuffer(bool zeros, ulong seed = 1)
    {
        var buffer = new byte[BufferBytes];
        if (!zeros) new PseudoRandomData(seed).Fill(buffer);
        return buffer;
    }

    /// <summary>
    /// MiB of block data tagged per second on the calling thread by the engine's path in the verifier and writer:
    /// TagComputer.ComputeConsecutive over the whole 1 MiB buffer.
    /// </summary>
    public static double EngineRate(TagAlgorithm algorithm, IntegrityKey? key, int blockSize, bool zeroData, double minSeconds)
    {
        using var tags = CreateComputer(algorithm, key, Salt());
        var buffer = TestBuffer(zeroData);
        var output = new byte[buffer.Length / blockSize * tags.TagSize];
        int sectorsPerBlock = blockSize / 512;
        ulong sector = 0, perBuffer = (ulong)(buffer.Length / blockSize);
        tags.ComputeConsecutive(sector, sectorsPerBlock, buffer, blockSize, output); // warm-up, JIT
        long bytes = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            sector += perBuffer * (ulong)sectorsPerBlock;
            tags.ComputeConsecutive(sector, sectorsPerBlock, buffer, blockSize, output);
            bytes += buffer.Length;
        } while (sw.Elapsed.TotalSeconds < minSeconds);
        return bytes / sw.Elapsed.TotalSeconds / (1 << 20);
    }

    private static byte[] Salt()
    {
        var salt = new byte[16];
        new PseudoRandomData(7).Fill(salt);
        return salt;
    }

    private static double Loop<T>(ref T h, byte[] buffer, int blockSize, double minSeconds) where T : struct, IBlockHash
    {
        int perBuffer = buffer.Length / blockSize;
        ulong sector = 0, step = (ulong)blockSize / 512;
        for (int b = 0; b < perBuffer; b++, sector += step) h.Hash(sector, buffer.AsSpan(b * blockSize, blockSize)); // warm-up, JIT
        long bytes = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            for (int b = 0; b < perBuffer; b++, sector += step) h.Hash(sector, buffer.AsSpan(b * blockSize, blockSize));
            bytes += (long)perBuffer * blockSize;
        } while (sw.Elapsed.TotalSeconds < minSeconds);
        return bytes / sw.Elapsed.TotalSeconds / (1 << 20);
    }

    // ---- Alternatives (evidence for hot-path recommendations) ----

    /// <summary>SHA-256 / HMAC-SHA256 one-shot over a scratch copy of prefix ‖ block (one call instead of three).</summary>
    private struct OneShotHash(byte[] salt, int blockSize, byte[]? hmacKey) : IBlockHash
    {
        private readonly byte[] _scratch = CreateScratch(salt, blockSize);
        private readonly byte[] _digest = new byte[32];
        public readonly byte[] Digest => _digest;
        private static byte[] CreateScratch(byte[] salt, int blockSize)
        {
            var s = new byte[salt.Length + 8 + blockSize];
            salt.CopyTo(s, 0);
            return s;
        }
        public void Hash(ulong sector, ReadOnlySpan<byte> block)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_scratch.AsSpan(salt.Length), sector);
            block.CopyTo(_scratch.AsSpan(salt.Length + 8));
            if (hmacKey is null) SHA256.HashData(_scratch, _digest);
            else HMACSHA256.HashData(hmacKey, _scratch, _digest);
        }
    }

    /// <summary>The platform's IncrementalHash (EVP calls per block): the engine's path before libcrypto's SHA256_* was used directly.</summary>
    private struct PlatformHash(TagHasher hasher, byte[] salt) : IBlockHash
    {
        private readonly byte[] _prefix = CreatePrefix(salt);
        private readonly byte[] _digest = new byte[32];
        public readonly byte[] Digest => _digest;
        private static byte[] CreatePrefix(byte[] salt)
        {
            var p = new byte[salt.Length + 8];
            salt.CopyTo(p, 0);
            return p;
        }
        public void Hash(ulong sector, ReadOnlySpan<byte> block)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_prefix.AsSpan(salt.Length), sector);
            hasher.Hash(_prefix, block, _digest);
        }
    }

    /// <summary>
    /// Alternative implementations of the same tag for <paramref name="algorithm"/> at <paramref name="blockSize"/>:
    /// name, MiB/s on one core, and whether its tags equal TagComputer's.
    /// </summary>
    public static List<HashVariantResult> Variants(TagAlgorithm algorithm, IntegrityKey? key, int blockSize, double minSeconds)
    {
        var list = new List<HashVariantResult>();
        var salt = Salt();
        var random = TestBuffer(zeros: false);
        using var engine = CreateComputer(algorithm, key, salt);
        var expected = new byte[engine.TagSize];
        switch (algorithm.KernelName)
        {
            case "sha256":
            case "hmac(sha256)":
            {
                var h = new OneShotHash(salt, blockSize, algorithm.IsKeyed ? key!.Span.ToArray() : null);
                engine.Compute(5, random.AsSpan(0, blockSize), expected);
                h.Hash(5, random.AsSpan(0, blockSize));
                bool equal = h.Digest.AsSpan().SequenceEqual(expected);
                list.Add(new HashVariantResult
                {
                    Algorithm = algorithm.IntegritysetupName, BlockSize = blockSize, Data = "random",
                    Variant = algorithm.IsKeyed ? "HMACSHA256.HashData one-shot (prefix+block copied to scratch)" : "SHA256.HashData one-shot (prefix+block copied to scratch)",
                    MiBps = Math.Round(Loop(ref h, random, blockSize, minSeconds), 1), EqualsEngine = equal,
                });
                using (var platform = new IncrementalHasher(algorithm.IsKeyed
                           ? IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key!.Span)
                           : IncrementalHash.CreateHash(HashAlgorithmName.SHA256)))
                {
                    var p = new PlatformHash(platform, salt);
                    p.Hash(5, random.AsSpan(0, blockSize));
                    bool same = p.Digest.AsSpan().SequenceEqual(expected);
                    list.Add(new HashVariantResult
                    {
                        Algorithm = algorithm.IntegritysetupName, BlockSize = blockSize, Data = "random",
                        Variant = "IncrementalHash (EVP calls per block; the engine when libcrypto's SHA256_* is missing)",
                        MiBps = Math.Round(Loop(ref p, random, blockSize, minSeconds), 1), EqualsEngine = same,
                    });
                }
                break;
            }
            case "crc32c":
            {
                // The engine batches crc32c four blocks at a time; one chain per block is what it did before.
                var batched = new byte[4 * engine.TagSize];
                engine.ComputeConsecutive(9, blockSize / 512, random.AsSpan(0, 4 * blockSize), blockSize, batched);
                bool equal = true;
                for (int k = 0; k < 4; k++)
                {
                    engine.Compute(9 + (ulong)(k * blockSize / 512), random.AsSpan(k * blockSize, blockSize), expected);
                    equal &= expected.AsSpan().SequenceEqual(batched.AsSpan(k * engine.TagSize, engine.TagSize));
                }
                var single = new EngineHash(engine);
                list.Add(new HashVariantResult
                {
                    Algorithm = "crc32c", BlockSize = blockSize, Data = "random", Variant = "one block at a time (a single crc32 chain)",
                    MiBps = Math.Round(Loop(ref single, random, blockSize, minSeconds), 1), EqualsEngine = equal,
                });
                // What format computes: runs of zero-block tags, one XOR per tag against a per-sector table.
                var run = new byte[5 * engine.TagSize];
                engine.ComputeZeroConsecutive(77, blockSize / 512, blockSize, 5, run);
                bool zeroEqual = true;
                for (int k = 0; k < 5; k++)
                {
                    engine.Compute(77 + (ulong)(k * blockSize / 512), new byte[blockSize], expected);
                    zeroEqual &= expected.AsSpan().SequenceEqual(run.AsSpan(k * engine.TagSize, engine.TagSize));
                }
                list.Add(new HashVariantResult
                {
                    Algorithm = "crc32c", BlockSize = blockSize, Data = "zero", Variant = "format: runs of zero-block tags (TagComputer.ComputeZeroConsecutive)",
                    MiBps = Math.Round(ZeroRunRate(engine, blockSize, minSeconds), 1), EqualsEngine = zeroEqual,
                });
                break;
            }
        }
        return list;
    }

    /// <summary>Data MiB/s of format's tag computation: 1 MiB of tags per call, as TagInitializer's work items.</summary>
    private static double ZeroRunRate(TagComputer engine, int blockSize, double minSeconds)
    {
        int perCall = (1 << 20) / engine.TagSize, sectorsPerBlock = blockSize / 512;
        var tags = new byte[perCall * engine.TagSize];
        ulong sector = 0;
        long blocks = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            engine.ComputeZeroConsecutive(sector, sectorsPerBlock, blockSize, perCall, tags);
            sector += (ulong)perCall * (ulong)sectorsPerBlock;
            blocks += perCall;
        } while (sw.Elapsed.TotalSeconds < minSeconds);
        return blocks * (double)blockSize / sw.Elapsed.TotalSeconds / (1 << 20);
    }
}

/// <summary>Runs a child process (ivol verify) and measures its wall time and peak resident set.</summary>
public static class ChildProcessMeter
{
    public sealed record Run(int ExitCode, double WallSeconds, long PeakRssBytes, long ChildrenMaxRssBytes, string StdOut, string StdErr);

    /// <summary>
    /// Start <paramref name="command"/> + <paramref name="args"/>, wait for it. With <paramref name="pollRss"/>, read
    /// VmHWM from /proc/&lt;pid&gt;/status every millisecond until it exits (the kernel's own high-water mark, so a
    /// missed poll loses at most the last millisecond).
    /// </summary>
    public static Run Execute(IReadOnlyList<string> command, IEnumerable<string> args, bool pollRss)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var c in command.Skip(1)) psi.ArgumentList.Add(c);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_ROLL_FORWARD"] = "Major";
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {command[0]}.");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        if (pollRss)
        {
            string statusPath = $"/proc/{p.Id}/status";
            while (!p.HasExited)
            {
                try { peak = Math.Max(peak, ParseVmHwmBytes(File.ReadAllText(statusPath))); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
                Thread.Sleep(1);
            }
        }
        p.WaitForExit();
        double wall = sw.Elapsed.TotalSeconds;
        return new Run(p.ExitCode, wall, peak, BenchNative.ChildrenMaxRssBytes(), stdout.Result, stderr.Result);
    }

    /// <summary>VmHWM (peak resident set) from the text of /proc/&lt;pid&gt;/status, in bytes; 0 when absent (zombie).</summary>
    public static long ParseVmHwmBytes(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line[6..].Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], out long kb))
                return parts.Length >= 2 && parts[1] == "kB" ? kb * 1024 : kb;
        }
        return 0;
    }
}
