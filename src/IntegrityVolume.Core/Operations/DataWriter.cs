using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Offline write: puts a plain file's bytes into a closed volume's logical content at a sector offset and writes
/// the matching tags. A partial last block keeps the rest of its old content. Before anything is written: bounds
/// (overflow-safe), the algorithm and key proven on the volume (AlgorithmProof), a pending journal applied as the
/// kernel's replay would, and an intent record (WriteIntent) naming the range. The blocks go through the kernel's
/// journal (JournaledWrite: a kill leaves each block old or new with a valid tag) whenever the volume's journal can
/// carry them; otherwise in place, with a warning (a kill there leaves torn blocks, reported by verify and dump).
/// </summary>
internal static class DataWriter
{
    private const int ChunkBytes = 1 << 20;

    public static WriteResult Write(WriteRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        r.Validate();
        var algorithm = r.Integrity.Algorithm;
        if (!File.Exists(r.InputPath))
            throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{r.InputPath}: no such input file.", r.InputPath);
        r.Volume.ThrowIfInUse("close the volume first");
        // Exclusive lock (FileLock) from here to the end: no other writer, and no reader sees the write half done.
        using var v = VolumeOperations.OpenVolume(r.Volume, write: true, ct);
        var sb = v.Superblock;
        var g = v.Geometry;
        var journal = JournalInspector.Inspect(v.Meta, sb, g, ct: ct);
        journal.ThrowIfNotSettled(r.Volume.Path);
        if (r.OffsetSectors % (ulong)g.SectorsPerBlock != 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Offset {r.OffsetSectors} is not aligned to the {g.BlockSize}-byte block size.");

        using var input = new FileStream(r.InputPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        // Overflow-safe bounds: compare against what is left after the offset, never offset + length (which wraps).
        if (r.OffsetSectors > g.ProvidedDataSectors)
            throw new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument,
                $"{r.Volume.Path}: offset {r.OffsetSectors} is past the end of the volume ({g.ProvidedDataSectors} sectors).", r.Volume.Path);
        ulong blockBytes = (ulong)g.BlockSize;
        ulong inputSectors = ((ulong)input.Length + blockBytes - 1) / blockBytes << g.Log2SectorsPerBlock;   // whole blocks
        if (inputSectors > g.ProvidedDataSectors - r.OffsetSectors)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"{input.Length} bytes at sector {r.OffsetSectors} do not fit the volume ({g.ProvidedDataSectors} sectors).");
        ulong endSector = r.OffsetSectors + inputSectors;

        using var journalMac = JournalMac(v, r);
        string? inPlaceReason = JournaledWrite.WhyNot(sb, g, journal, journalMac is not null);
        using var tags = TagComputer.ForVolume(sb, algorithm, r.Integrity.Key);
        JournalReport? pending = null;
        if (journal.State is JournalState.Pending)
        {
            // A journal the kernel has not replayed (a killed journaled write, or a crash of the kernel): applied here
            // exactly as replay_journal would, once every entry's tag (and section MAC) checks; else refused.
            if (inPlaceReason is not null)
                throw new IntegrityVolumeException(ErrorIds.JournalPending, ErrorKind.InvalidData,
                    $"{r.Volume.Path}: {journal.PendingSummary}, and they cannot be applied here: {inPlaceReason}. Open and close the volume first.", r.Volume.Path);
            pending = JournalInspector.Inspect(v.Meta, sb, g, tags, v.Data, ct, journalMac);
            if (pending.FailedEntries.Any() || pending.MacFailedSections.Count > 0)
                throw new IntegrityVolumeException(ErrorIds.JournalPending, ErrorKind.InvalidData,
                    $"{r.Volume.Path}: {pending.PendingSummary}, and " +
                    $"{pending.FailedEntries.Count()} of them fail their tag check with {algorithm.IntegritysetupName}" +
                    (pending.MacFailedSections.Count > 0 ? $" ({pending.MacFailedSections.Count} sections fail their journal MAC)" : "") +
                    ": the algorithm or key is wrong, or the journal is damaged (the kernel's replay would fail the device). Nothing was written.", r.Volume.Path);
        }

        var warnings = new List<string>();
        var interrupted = WriteIntent.Read(v.Meta, r.Volume.ReservedSectors);
        if (interrupted is not null)
        {
            if (interrupted.CoveredBy(r.OffsetSectors, endSector))
                warnings.Add($"This write finishes an interrupted one: {interrupted.Advice}");
            else if (!r.Force)
                throw new IntegrityVolumeException(ErrorIds.WriteInterrupted, ErrorKind.InvalidData, $"{r.Volume.Path}: {interrupted.Advice} " +
                    "This write does not cover that range; finish that one first, or --force / -Force (the torn blocks then stay unreported).", r.Volume.Path);
            else
                warnings.Add($"--force: writing although an earlier write was interrupted; its record is dropped and torn blocks in it will show as ordinary corruption. {interrupted.Advice}");
        }
        // With a pending journal the entries' tags already proved the algorithm and key (when there were any).
        var (outcome, mismatch) = pending is { PendingEntries.Count: > 0 }
            ? (AlgorithmProof.Outcome.Proven, null)
            : AlgorithmProof.Check(v, r.Volume.Path, algorithm, r.Integrity.Key, r.OffsetSectors, interrupted);
        if (mismatch is not null)
        {
            if (!r.Force) throw mismatch;
            warnings.Add($"--force: writing although the algorithm or key does not match the volume: {mismatch.Message} [{mismatch.ErrorId}]");
        }
        else if (outcome is AlgorithmProof.Outcome.NoEvidence)
            warnings.Add($"No block of {r.Volume.Path} could prove the algorithm and key (nothing initialised yet); the tags are written with {algorithm.IntegritysetupName} as given.");
        if (pending is not null)
        {
            JournaledWrite.ApplyPending(v.Meta, v.Data, g, pending);
            warnings.Add($"Applied {pending.PendingEntries.Count} committed journal entries (tags checked) as the kernel's replay would, before writing.");
        }
        if (inPlaceReason is not null && input.Length > 0)
            warnings.Add($"Written in place, not through the journal: {inPlaceReason}. A write killed half-way leaves torn blocks in its range (verify and dump report the range until the same write is run again).");

        // Crash safety (WriteIntent): the record is durable before the first data byte moves, cleared after the last is synced.
        if (input.Length > 0)
            WriteIntent.Begin(v.Meta, r.Volume.ReservedSectors, r.OffsetSectors, endSector, input.Length, algorithm.KernelName, journaled: inPlaceReason is null);
        var ring = inPlaceReason is null && (input.Length > 0 || pending is not null) ? JournaledWrite.Open(v.Meta, g, sb, journalMac, ct) : null;
        int chunkBlocks = ring?.BlocksPerBatch ?? ChunkBytes / g.BlockSize;
        var data = new byte[chunkBlocks * g.BlockSize];
        var tagBuf = new byte[chunkBlocks * g.TagSize];
        ulong sector = r.OffsetSectors, blocks = 0;
        long remaining = input.Length, total = input.Length;
        var last = Stopwatch.StartNew();
        while (remaining > 0)
        {
            // Cancelled between chunks: the record stays, and verify/dump report the unfinished range.
            ct.ThrowIfCancellationRequested();
            int take = (int)Math.Min((long)chunkBlocks * g.BlockSize, remaining);
            int n = (take + g.BlockSize - 1) / g.BlockSize;
            var span = data.AsSpan(0, n * g.BlockSize);
            if (take < span.Length)   // keep the old tail of a partial last block
            {
                ulong lastSector = sector + ((ulong)(n - 1) << g.Log2SectorsPerBlock);
                v.Data.Read(checked((long)g.DataSector(lastSector) * 512), span[((n - 1) * g.BlockSize)..]);
            }
            input.ReadExactly(span[..take]);
            tags.ComputeConsecutive(sector, g.SectorsPerBlock, span, g.BlockSize, tagBuf);
            // Journal first (synced), then in place: see JournaledWrite for the kernel rules this order relies on.
            ring?.Commit(sector, span, tagBuf, n, ct);
            WriteInPlace(v, sector, span, tagBuf.AsSpan(0, n * g.TagSize), n);
            if (ring is not null) { v.Data.Flush(); if (!ReferenceEquals(v.Data, v.Meta)) v.Meta.Flush(); }
            sector += (ulong)n << g.Log2SectorsPerBlock;
            blocks += (ulong)n;
            remaining -= take;
            if (last.ElapsedMilliseconds >= 250)
            {
                progress?.Report(new OperationProgress("Writing data and tags", r.Volume.Path, total - remaining, total, sw.Elapsed));
                last.Restart();
            }
        }
        v.Data.Flush();
        if (!ReferenceEquals(v.Data, v.Meta)) v.Meta.Flush();
        ring?.Finish(ct);
        if (input.Length > 0 || (interrupted is not null && r.Force)) WriteIntent.End(v.Meta, r.Volume.ReservedSectors);
        progress?.Report(new OperationProgress("Writing data and tags", r.Volume.Path, total, total, sw.Elapsed));
        return new WriteResult
        {
            Path = r.Volume.Path, StartSector = r.OffsetSectors, SectorsWritten = blocks << g.Log2SectorsPerBlock,
            BlocksWritten = blocks, Duration = sw.Elapsed, Warnings = warnings.ToArray(),
        };
    }

    /// <summary>Blocks and tags at their final place, a slice per interleave area (data and tags are contiguous inside one).</summary>
    internal static void WriteInPlace(VolumeOperations.OpenedVolume v, ulong sector, ReadOnlySpan<byte> blocks, ReadOnlySpan<byte> tags, int count)
    {
        var g = v.Geometry;
        for (int done = 0; done < count;)
        {
            ulong areaLeft = g.SeparateMetadata ? g.ProvidedDataSectors - sector : g.InterleaveSectors - (sector & (g.InterleaveSectors - 1));
            int k = (int)Math.Min((ulong)(count - done), areaLeft >> g.Log2SectorsPerBlock);
            v.Data.Write(checked((long)g.DataSector(sector) * 512), blocks.Slice(done * g.BlockSize, k * g.BlockSize));
            v.Meta.Write(checked((long)g.TagOffset(sector)), tags.Slice(done * g.TagSize, k * g.TagSize));
            sector += (ulong)k << g.Log2SectorsPerBlock;
            done += k;
        }
    }

    /// <summary>The journal_mac hasher when the request gives one, proven on the volume (the superblock MAC with FIXED_HMAC,
    /// else a journal section's MAC): a wrong key would write sections the kernel's replay rejects ("journal mac").</summary>
    private static TagHasher? JournalMac(VolumeOperations.OpenedVolume v, WriteRequest r)
    {
        if (r.JournalIntegrity is null) return null;
        var sb = v.Superblock;
        var g = v.Geometry;
        if (!sb.HasFlag(SuperblockFlags.HaveJournalMac))
            throw new IntegrityVolumeException(ErrorIds.AlgorithmMismatch, ErrorKind.InvalidArgument,
                $"{r.Volume.Path}: a journal integrity algorithm was given, but the volume was formatted without one (the kernel refuses: \"Journal mac mismatch\").", r.Volume.Path);
        var mac = r.JournalIntegrity.CreateHasher(r.JournalIntegrityKey);
        bool proven = false;
        if (sb.HasFlag(SuperblockFlags.FixedHmac))
        {
            var area = new byte[Superblock.AreaSize];
            v.Meta.Read((long)r.Volume.ReservedSectors * 512, area);
            var expected = (byte[])area.Clone();
            JournalWriter.SignSuperblock(expected, mac);
            proven = expected.AsSpan(0, 512).SequenceEqual(area.AsSpan(0, 512));
        }
        else
        {
            var section = new byte[g.JournalSectionSectors * 512];
            for (uint i = 0; i < g.JournalSections && !proven; i++)
            {
                JournalInspector.ReadSection(v.Meta, g, i, section);
                proven = JournalInspector.MacMatches(section, g, i, sb, mac);
            }
        }
        if (!proven)
        {
            mac.Dispose();
            throw new IntegrityVolumeException(ErrorIds.KeyMismatch, ErrorKind.InvalidArgument,
                $"{r.Volume.Path}: the journal integrity algorithm and key do not match the volume's journal_mac; journal sections written with them would fail the kernel's replay (\"journal mac\").", r.Volume.Path);
        }
        return mac;
    }
}
