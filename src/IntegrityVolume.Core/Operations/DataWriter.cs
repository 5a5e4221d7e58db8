using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Offline write: puts a plain file's bytes into a closed volume's logical content at a sector offset and writes
/// the matching tags, as the kernel would in direct mode. A partial last block keeps the rest of its old content.
/// Before anything is written: bounds (overflow-safe), the algorithm and key proven on the volume (AlgorithmProof), and
/// an intent record (WriteIntent) so that a write killed half-way is reported and finishable, never silent.
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
        if (journal.State is JournalState.Pending)
            throw new IntegrityVolumeException(ErrorIds.JournalPending, ErrorKind.InvalidData,
                $"{r.Volume.Path}: the journal holds {journal.PendingEntries.Count} entries the kernel has not replayed; open and close the volume first.", r.Volume.Path);
        if (journal.State is JournalState.DirtyBitmap)
            throw new IntegrityVolumeException(ErrorIds.VolumeDirty, ErrorKind.InvalidData,
                $"{r.Volume.Path}: the volume was not closed cleanly (dirty bitmap); open and close it first.", r.Volume.Path);
        if (journal.State is JournalState.Unreadable)
            throw new IntegrityVolumeException(ErrorIds.JournalUnreadable, ErrorKind.InvalidData, $"{r.Volume.Path}: {journal.Detail}", r.Volume.Path);
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
        var (outcome, mismatch) = AlgorithmProof.Check(v, r.Volume.Path, algorithm, r.Integrity.Key, r.OffsetSectors, interrupted);
        if (mismatch is not null)
        {
            if (!r.Force) throw mismatch;
            warnings.Add($"--force: writing although the algorithm or key does not match the volume: {mismatch.Message} [{mismatch.ErrorId}]");
        }
        else if (outcome is AlgorithmProof.Outcome.NoEvidence)
            warnings.Add($"No block of {r.Volume.Path} could prove the algorithm and key (nothing initialised yet); the tags are written with {algorithm.IntegritysetupName} as given.");

        // Crash safety (WriteIntent): the record is durable before the first data byte moves, cleared after the last is synced.
        if (input.Length > 0)
            WriteIntent.Begin(v.Meta, r.Volume.ReservedSectors, r.OffsetSectors, endSector, input.Length, algorithm.KernelName);
        using var tags = TagComputer.ForVolume(sb, algorithm, r.Integrity.Key);
        var data = new byte[ChunkBytes];
        var tagBuf = new byte[ChunkBytes / g.BlockSize * g.TagSize];
        ulong sector = r.OffsetSectors, blocks = 0;
        long remaining = input.Length, total = input.Length;
        var last = Stopwatch.StartNew();
        while (remaining > 0)
        {
            // Cancelled between chunks: the record stays, and verify/dump report the unfinished range.
            ct.ThrowIfCancellationRequested();
            // A slice never crosses an interleave area: data and tags are contiguous inside one.
            ulong areaLeft = g.SeparateMetadata ? g.ProvidedDataSectors - sector : g.InterleaveSectors - (sector & (g.InterleaveSectors - 1));
            long sliceBytes = (long)Math.Min((ulong)ChunkBytes, areaLeft * 512);
            int take = (int)Math.Min(sliceBytes, remaining);
            int n = (take + g.BlockSize - 1) / g.BlockSize;
            var span = data.AsSpan(0, n * g.BlockSize);
            long dataOffset = checked((long)g.DataSector(sector) * 512);
            if (take < span.Length) v.Data.Read(dataOffset, span); // keep the old tail of a partial last block
            input.ReadExactly(span[..take]);
            tags.ComputeConsecutive(sector, g.SectorsPerBlock, span, g.BlockSize, tagBuf);
            v.Data.Write(dataOffset, span);
            v.Meta.Write(checked((long)g.TagOffset(sector)), tagBuf.AsSpan(0, n * g.TagSize));
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
        if (input.Length > 0 || (interrupted is not null && r.Force)) WriteIntent.End(v.Meta, r.Volume.ReservedSectors);
        progress?.Report(new OperationProgress("Writing data and tags", r.Volume.Path, total, total, sw.Elapsed));
        return new WriteResult
        {
            Path = r.Volume.Path, StartSector = r.OffsetSectors, SectorsWritten = blocks << g.Log2SectorsPerBlock,
            BlocksWritten = blocks, Duration = sw.Elapsed, Warnings = warnings.ToArray(),
        };
    }
}
