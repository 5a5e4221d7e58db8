using System.Diagnostics;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Core.Verification;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Offline repair of a closed volume. Finds the mismatched blocks (one verify pass, or only the given ranges), decides
/// each block's outcome (healed from a verified copy, no good copy, copy unverifiable, re-tagged, zeroed), asks for
/// confirmation with the plan, then rewrites only those blocks on the safe write path of DataWriter: the device-in-use
/// guard, the exclusive lock, the algorithm proven on the volume (AlgorithmProof), a pending journal applied as the
/// kernel's replay would, an intent record (WriteIntent), and the kernel's redo journal (JournaledWrite) so that a kill
/// leaves every block old or repaired with a valid tag; a re-run finds what is left and finishes.
/// </summary>
internal static class Repairer
{
    private const int InPlaceBatchBlocks = 256;

    internal enum CopyCheck { Verified, Failed, Discarded, NoTags }

    public static RepairResult Repair(RepairRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        r.Validate();
        var algorithm = r.Integrity.Algorithm;
        // Online repair would have to go through /dev/mapper (the kernel computes the tags); not done: refuse an active volume.
        r.Volume.ThrowIfInUse("repair works on closed volumes only: close it first (Close-IntegrityVolume / ivol close), then repair");
        using var v = VolumeOperations.OpenVolume(r.Volume, write: !r.DryRun, ct);
        var sb = v.Superblock;
        var g = v.Geometry;
        var warnings = new List<string>();
        using var tags = TagComputer.ForVolume(sb, algorithm, r.Integrity.Key);
        var journal = JournalInspector.Inspect(v.Meta, sb, g, tags, v.Data, ct);
        journal.ThrowIfNotSettled(r.Volume.Path);
        string? inPlaceReason = JournaledWrite.WhyNot(sb, g, journal, haveMacKey: false);
        bool pending = journal.State is JournalState.Pending;
        if (pending && (inPlaceReason is not null || journal.FailedEntries.Any()))
            throw new IntegrityVolumeException(ErrorIds.JournalPending, ErrorKind.InvalidData,
                $"{r.Volume.Path}: {journal.PendingSummary}, and they cannot be applied here " +
                $"({inPlaceReason ?? $"{journal.FailedEntries.Count()} fail their tag check with {algorithm.IntegritysetupName}"}). Open and close the volume first.", r.Volume.Path);

        // An interrupted repair (its record has no input bytes) or a repair of the whole volume supersedes the record.
        var interrupted = WriteIntent.Read(v.Meta, r.Volume.ReservedSectors);
        if (interrupted is not null)
        {
            if (interrupted.InputBytes == 0 || r.Sectors is null)
                warnings.Add($"An earlier write or repair was interrupted (sectors {interrupted.StartSector}-{interrupted.EndSector - 1}); this repair finishes it: " +
                    "every block it left old or torn that fails its tag is repaired here like any other.");
            else if (!r.Force)
                throw new IntegrityVolumeException(ErrorIds.WriteInterrupted, ErrorKind.InvalidData, $"{r.Volume.Path}: {interrupted.Advice} " +
                    "Finish that write first, or repair the whole volume (no sector ranges), or --force / -Force.", r.Volume.Path);
            else
                warnings.Add($"--force: repairing although an earlier write was interrupted; its record is dropped. {interrupted.Advice}");
        }

        // The algorithm and key proven on the volume before anything is decided (a wrong one makes every block "mismatched").
        ulong firstGiven = r.Sectors is { Length: > 0 } s0 ? s0.Min(x => x.Start) : 0;
        var (outcome, mismatch) = pending && journal.PendingEntries.Count > 0
            ? (AlgorithmProof.Outcome.Proven, null)
            : AlgorithmProof.Check(v, r.Volume.Path, algorithm, r.Integrity.Key, Math.Min(firstGiven, g.ProvidedDataSectors - 1) & ~((ulong)g.SectorsPerBlock - 1),
                interrupted is { Journaled: true } ? null : interrupted, forceOverrides: false);
        // Never overridden: with a wrong algorithm every block "mismatches", and zero-lost or re-tag would destroy them all.
        if (mismatch is not null)
            throw mismatch;
        if (outcome is AlgorithmProof.Outcome.NoEvidence)
            warnings.Add($"No block of {r.Volume.Path} could prove the algorithm and key; the tags are written with {algorithm.IntegritysetupName} as given.");

        using var copy = r.Source is null ? null : Copy.Open(r.Source, r.Volume.Path, r.Volume.DataDevicePath, g, algorithm, r.Integrity.Key, r.Force, r.Volume.WaitForLock, warnings, ct);

        // 1. The mismatched blocks: the given ranges (checked block by block), else one verify pass.
        TimeSpan verifyDuration = TimeSpan.Zero;
        ulong examined;
        ulong spb = (ulong)g.SectorsPerBlock;
        var plan = new RepairPlan(spb);
        var block = new byte[g.BlockSize];
        var stored = new byte[g.TagSize];
        var copyBlock = new byte[g.BlockSize];
        if (r.Sectors is null)
        {
            var verifier = new TagVerifier(v.Meta, v.Data, sb, g, algorithm, r.Integrity.Key, journal, null);
            var run = verifier.Run(r.Threads, int.MaxValue, progress, ct);
            verifyDuration = run.Duration;
            examined = g.Blocks;
            foreach (ulong s in RepairPlan.BlocksOf(run.Ranges, spb)) Decide(s);
        }
        else
        {
            var given = RepairPlan.GivenBlocks(r.Sectors, g.ProvidedDataSectors, spb, range => new IntegrityVolumeException(ErrorIds.OffsetOutOfRange,
                ErrorKind.InvalidArgument, $"{r.Volume.Path}: sectors {range} are past the end of the volume ({g.ProvidedDataSectors} sectors).", r.Volume.Path));
            examined = RepairPlan.BlockCount(given, spb);
            bool recalculating = sb.HasFlag(SuperblockFlags.Recalculating);
            foreach (ulong s in RepairPlan.BlocksOf(given, spb))
            {
                ct.ThrowIfCancellationRequested();
                if (journal.ReplayImage.ContainsKey(s)) continue;                  // the journal's replay rewrites it
                if (recalculating && s >= sb.RecalcSector) continue;                // not protected yet
                ReadBlock(v, s, block, stored);
                if (DiscardFiller.Is(stored) || tags.Matches(s, block, stored))
                    plan.Add(s, RepairOutcome.AlreadyValid, "its tag already matches its data");
                else Decide(s);
            }
        }

        // 2. A mismatched block's outcome, decided as it is found (the plan stays in sector order).
        void Decide(ulong s)
        {
            ct.ThrowIfCancellationRequested();
            if (r.Retag) { plan.Add(s, RepairOutcome.Retagged, "its current data was accepted and its tag recomputed"); return; }
            (RepairOutcome Outcome, string Detail) p;
            if (copy is null) p = (RepairOutcome.NoGoodCopy, "no copy was given");
            else
            {
                ReadBlock(v, s, block, stored);
                p = copy.Read(s, copyBlock) switch
                {
                    CopyCheck.Verified => (RepairOutcome.Healed, "rewritten from the copy, verified by the copy's own tag"),
                    CopyCheck.Failed => (RepairOutcome.NoGoodCopy, "the copy's block fails its own tag too"),
                    CopyCheck.Discarded => (RepairOutcome.NoGoodCopy, "the copy's block is discarded (no data)"),
                    _ when tags.Matches(s, copyBlock, stored) => (RepairOutcome.Healed, "rewritten from the copy, verified by the volume's stored tag"),
                    _ when r.TrustCopy => (RepairOutcome.HealedUnverified, "rewritten from the copy, unverified (--trust-copy / -TrustCopy)"),
                    _ when copyBlock.AsSpan().SequenceEqual(block) => (RepairOutcome.CopyUnverifiable,
                        "the copy equals the current data and the stored tag is damaged: nothing verifies it (re-tag or --trust-copy accepts it)"),
                    _ => (RepairOutcome.CopyUnverifiable,
                        "the copy differs from the current data and the stored tag verifies neither (--trust-copy / -TrustCopy writes the copy)"),
                };
            }
            if (r.ZeroLost && p.Outcome is RepairOutcome.NoGoodCopy or RepairOutcome.CopyUnverifiable)
                p = (RepairOutcome.Zeroed, $"lost, zeros written with a valid tag ({p.Detail})");
            plan.Add(s, p.Outcome, p.Detail);
        }

        RepairResult Result(bool whatIf) => BuildResult(r.Volume.Path, r.Source, r.Retag, g, algorithm, copy, plan, examined, whatIf,
            verifyDuration, sw.Elapsed, warnings);
        if (r.DryRun) return Result(whatIf: true);
        ulong toWrite = plan.BlocksToWrite;
        if (toWrite == 0 && !pending && interrupted is null) return Result(whatIf: false);
        // Asked whenever anything would be written: blocks, the pending journal's replay, or the intent record's removal.
        if (r.Confirm is not null && !r.Confirm(Result(whatIf: true))) return Result(whatIf: true);

        // 3. Writes: pending journal applied first (replay_journal), then the intent record, then the journaled blocks.
        if (pending)
        {
            JournaledWrite.ApplyPending(v.Meta, v.Data, g, journal);
            warnings.Add($"Applied {journal.PendingEntries.Count} committed journal entries (tags checked) as the kernel's replay would, before repairing.");
        }
        if (inPlaceReason is not null && toWrite > 0)
            warnings.Add($"Written in place, not through the journal: {inPlaceReason}. A repair killed half-way can leave torn blocks among those it rewrites; run it again.");
        if (plan.WrittenSpan is { } writtenSpan)
            WriteIntent.Begin(v.Meta, r.Volume.ReservedSectors, writtenSpan.Start, writtenSpan.End, 0, algorithm.KernelName, journaled: inPlaceReason is null);
        var ring = inPlaceReason is null ? JournaledWrite.Open(v.Meta, g, sb, null, ct) : null;
        int batch = ring?.BlocksPerBatch ?? InPlaceBatchBlocks;
        var data = new byte[batch * g.BlockSize];
        var tagBuf = new byte[batch * g.TagSize];
        var last = Stopwatch.StartNew();
        ulong written = 0;
        // Runs of consecutive blocks, at most one batch each.
        foreach (var writes in plan.WriteBatches(batch))
        {
            ct.ThrowIfCancellationRequested();
            int n = writes.Count;
            ulong first = writes[0].Sector;
            for (int k = 0; k < n; k++)
            {
                var w = writes[k];
                var span = data.AsSpan(k * g.BlockSize, g.BlockSize);
                switch (w.Outcome)
                {
                    case RepairOutcome.Zeroed: span.Clear(); break;
                    case RepairOutcome.Retagged: v.Data.Read(checked((long)g.DataSector(w.Sector) * 512), span); break;
                    default:
                        // The block as classified: a copy that changed meanwhile is refused rather than written unverified.
                        var check = copy!.Read(w.Sector, span);
                        if (w.Outcome is RepairOutcome.Healed && check is not CopyCheck.Verified && !(check is CopyCheck.NoTags && tags.Matches(w.Sector, span, ReadTag(v, w.Sector))))
                            throw new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError,
                                $"{copy.Path}: the copy's block at sector {w.Sector} changed during the repair; nothing more was written. Run the repair again.", copy.Path);
                        break;
                }
            }
            var blocks = data.AsSpan(0, n * g.BlockSize);
            tags.ComputeConsecutive(first, g.SectorsPerBlock, blocks, g.BlockSize, tagBuf);
            // Journal first (synced), then in place, synced: JournaledWrite's order.
            ring?.Commit(first, blocks, tagBuf, n, ct);
            DataWriter.WriteInPlace(v, first, blocks, tagBuf.AsSpan(0, n * g.TagSize), n);
            if (ring is not null) Flush(v);
            written += (ulong)n;
            if (last.ElapsedMilliseconds >= 250)
            {
                progress?.Report(new OperationProgress("Repairing blocks", r.Volume.Path, (long)written, (long)toWrite, sw.Elapsed));
                last.Restart();
            }
        }
        Flush(v);
        ring?.Finish(ct);
        // An earlier interrupted write's record (not a repair's) is superseded only when no block of its range is left failing its tag
        // (no good copy, unverifiable): otherwise it is put back, so dump and verify still name that write.
        ulong? stillBad = null;
        if (interrupted is { InputBytes: > 0 })
            foreach (var p in plan.Runs.Where(p => p.Outcome is RepairOutcome.NoGoodCopy or RepairOutcome.CopyUnverifiable))
            {
                // The run's first block inside the interrupted write's sectors, if any.
                ulong first = Math.Max(p.Start, (interrupted.StartSector + spb - 1) & ~(spb - 1));
                if (first < interrupted.EndSector && first < p.Start + p.Blocks * spb) { stillBad = first; break; }
            }
        if (stillBad is not null)
        {
            WriteIntent.Restore(v.Meta, r.Volume.ReservedSectors, interrupted!);
            warnings.Add($"Blocks of the interrupted write (sectors {interrupted!.StartSector}-{interrupted.EndSector - 1}) still fail their tag (first: sector {stillBad}); its record is kept. {interrupted.Advice}");
        }
        else if (toWrite > 0 || interrupted is not null) WriteIntent.End(v.Meta, r.Volume.ReservedSectors);
        progress?.Report(new OperationProgress("Repairing blocks", r.Volume.Path, (long)toWrite, (long)toWrite, sw.Elapsed));
        return Result(whatIf: false);
    }

    private static void Flush(VolumeOperations.OpenedVolume v)
    {
        v.Data.Flush();
        if (!ReferenceEquals(v.Data, v.Meta)) v.Meta.Flush();
    }

    private static void ReadBlock(VolumeOperations.OpenedVolume v, ulong sector, Span<byte> block, Span<byte> tag)
    {
        v.Data.Read(checked((long)v.Geometry.DataSector(sector) * 512), block);
        v.Meta.Read(checked((long)v.Geometry.TagOffset(sector)), tag);
    }

    private static byte[] ReadTag(VolumeOperations.OpenedVolume v, ulong sector)
    {
        var tag = new byte[v.Geometry.TagSize];
        v.Meta.Read(checked((long)v.Geometry.TagOffset(sector)), tag);
        return tag;
    }

    internal static RepairResult BuildResult(string path, RepairSource? source, bool retag, Geometry g, TagAlgorithm algorithm, Copy? copy, RepairPlan plan,
        ulong examined, bool whatIf, TimeSpan verifyDuration, TimeSpan elapsed, List<string> warnings) => new()
    {
        Path = path, Mode = retag ? "retag" : source is not null ? "copy" : "zero-lost",
        SourcePath = source?.Path, SourceOffsetSectors = source?.OffsetSectors ?? 0, SourceHasTags = copy?.HasTags ?? false,
        Algorithm = algorithm.IntegritysetupName, SectorSize = g.BlockSize, WhatIf = whatIf,
        BlocksExamined = examined, MismatchedBlocks = plan.Mismatched,
        HealedBlocks = plan.Count(RepairOutcome.Healed), HealedUnverifiedBlocks = plan.Count(RepairOutcome.HealedUnverified),
        RetaggedBlocks = plan.Count(RepairOutcome.Retagged), ZeroedBlocks = plan.Count(RepairOutcome.Zeroed),
        UnrepairedBlocks = plan.Count(RepairOutcome.NoGoodCopy) + plan.Count(RepairOutcome.CopyUnverifiable),
        BlocksToWrite = plan.BlocksToWrite,
        Ranges = plan.Runs.Select(p => new RepairRange
        {
            StartSector = p.Start, Sectors = p.Blocks * (ulong)g.SectorsPerBlock, Blocks = p.Blocks, Outcome = p.Outcome, Detail = p.Detail,
        }).ToArray(),
        LostSectors = plan.Sectors(o => o is RepairOutcome.Zeroed),
        UnrepairedSectors = plan.Sectors(o => o is RepairOutcome.NoGoodCopy or RepairOutcome.CopyUnverifiable),
        VerifyDuration = verifyDuration, Duration = elapsed, Warnings = warnings.ToArray(),
    };

    /// <summary>The copy: an integrity volume (read through its layout and journal, each block checked by its own tag)
    /// or plain bytes (no tags: its blocks are checked against the volume's stored tags).</summary>
    internal sealed class Copy : IDisposable
    {
        private BlockDevice? _plain;
        private VolumeOperations.OpenedVolume? _volume;
        private JournalReport? _journal;
        private TagComputer? _tags;
        private ulong _offset;
        private byte[] _tag = [];

        public required string Path { get; init; }
        public bool HasTags => _volume is not null;

        public static Copy Open(RepairSource src, string volumePath, string? volumeDataPath, Geometry g, TagAlgorithm algorithm, IntegrityKey? key,
            bool force, bool waitForLock, List<string> warnings, CancellationToken ct)
        {
            if (StorageIdentity.Same(src.Path, volumePath) || (volumeDataPath is { } dd && StorageIdentity.Same(src.Path, dd)))
                throw new IntegrityVolumeException(ErrorIds.RepairSourceMismatch, ErrorKind.InvalidArgument,
                    $"{src.Path}: the copy is the volume itself; give another copy of the same data.", src.Path);
            var c = new Copy { Path = src.Path, _offset = src.OffsetSectors };
            try
            {
                var raw = BlockDevice.Open(src.Path, write: false, ct: ct);
                bool integrity = false;
                if (!src.Plain && (ulong)raw.Sectors > src.ReservedSectors && raw.Length - (long)src.ReservedSectors * 512 >= Superblock.AreaSize)
                {
                    var area = new byte[Superblock.AreaSize];
                    raw.Read((long)src.ReservedSectors * 512, area);
                    integrity = Superblock.HasMagic(area);
                }
                ulong sectors;
                if (integrity)
                {
                    raw.Dispose();
                    c._volume = VolumeOperations.OpenVolume(new VolumeLocation
                    {
                        Path = src.Path, DataDevicePath = src.DataDevicePath, ReservedSectors = src.ReservedSectors, WaitForLock = waitForLock,
                    }, write: false, ct);
                    var cg = c._volume.Geometry;
                    if (cg.BlockSize != g.BlockSize)
                        throw new IntegrityVolumeException(ErrorIds.RepairSourceMismatch, ErrorKind.InvalidArgument,
                            $"{src.Path}: the copy's block size is {cg.BlockSize} bytes, the volume's {g.BlockSize}: its tags cannot verify the volume's blocks (give it as plain data to read its bytes).", src.Path);
                    if (src.OffsetSectors % (ulong)g.SectorsPerBlock != 0)
                        throw new IntegrityVolumeException(ErrorIds.RepairSourceMismatch, ErrorKind.InvalidArgument,
                            $"{src.Path}: offset {src.OffsetSectors} is not aligned to the copy's {cg.BlockSize}-byte blocks.", src.Path);
                    c._tags = TagComputer.ForVolume(c._volume.Superblock, algorithm, key);
                    c._journal = JournalInspector.Inspect(c._volume.Meta, c._volume.Superblock, cg, c._tags, c._volume.Data, ct);
                    c._tag = new byte[cg.TagSize];
                    var (_, mismatch) = AlgorithmProof.Check(c._volume, src.Path, algorithm, key, src.OffsetSectors,
                        WriteIntent.Read(c._volume.Meta, src.ReservedSectors) is { Journaled: false } w ? w : null);
                    if (mismatch is not null)
                    {
                        if (!force) throw mismatch;
                        warnings.Add($"--force: the copy's tags do not match the algorithm or key ({mismatch.ErrorId}): its blocks will not verify.");
                    }
                    sectors = cg.ProvidedDataSectors;
                }
                else
                {
                    if (src.DataDevicePath is not null)
                        throw new IntegrityVolumeException(ErrorIds.DataDeviceMismatch, ErrorKind.InvalidArgument,
                            $"{src.Path}: a data device was given for the copy, but it carries no integrity superblock.", src.Path);
                    c._plain = raw;
                    sectors = (ulong)raw.Sectors;
                    warnings.Add($"{src.Path} carries no integrity superblock: read as plain data; its blocks are verified by the volume's stored tags where those are intact.");
                }
                if (src.OffsetSectors > sectors)
                    throw new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument,
                        $"{src.Path}: offset {src.OffsetSectors} is past the end of the copy ({sectors} sectors).", src.Path);
                if (sectors - src.OffsetSectors < g.ProvidedDataSectors)
                    throw new IntegrityVolumeException(ErrorIds.RepairSourceTooSmall, ErrorKind.InvalidArgument,
                        $"{src.Path}: the copy holds {sectors - src.OffsetSectors} sectors from offset {src.OffsetSectors}; the volume's data is {g.ProvidedDataSectors} sectors.", src.Path);
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }

        /// <summary>The copy's block for the volume's logical <paramref name="sector"/>, and what its own tag says.</summary>
        public CopyCheck Read(ulong sector, Span<byte> block)
        {
            ulong s = sector + _offset;
            if (_plain is not null)
            {
                _plain.Read(checked((long)s * 512), block);
                return CopyCheck.NoTags;
            }
            var v = _volume!;
            var g = v.Geometry;
            if (_journal!.ReplayImage.TryGetValue(s, out var entry))
            {
                entry.Data.CopyTo(block);
                entry.Tag.CopyTo(_tag, 0);
            }
            else
            {
                v.Data.Read(checked((long)g.DataSector(s) * 512), block);
                v.Meta.Read(checked((long)g.TagOffset(s)), _tag);
            }
            if (v.Superblock.HasFlag(SuperblockFlags.Recalculating) && s >= v.Superblock.RecalcSector) return CopyCheck.NoTags;
            if (DiscardFiller.Is(_tag)) return CopyCheck.Discarded;
            return _tags!.Matches(s, block, _tag) ? CopyCheck.Verified : CopyCheck.Failed;
        }

        public void Dispose()
        {
            _plain?.Dispose();
            _volume?.Dispose();
            _tags?.Dispose();
        }
    }
}
