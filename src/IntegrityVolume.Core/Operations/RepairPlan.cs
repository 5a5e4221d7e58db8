namespace IntegrityVolume.Core.Operations;

/// <summary>
/// What a repair does to each block it examined, kept as runs of consecutive blocks with the same outcome and reason:
/// memory grows with the number of outcome changes, not with the volume (a whole overwritten leg healed from its copy
/// is one run). Blocks are added in ascending order. Offline (<see cref="Repairer"/>) and online
/// (<see cref="OnlineRepairer"/>) repair share it.
/// </summary>
internal sealed class RepairPlan
{
    internal readonly record struct Run(ulong Start, ulong Blocks, RepairOutcome Outcome, string Detail);

    private readonly List<Run> _runs = new();
    private readonly ulong _spb;

    public RepairPlan(ulong sectorsPerBlock) => _spb = sectorsPerBlock;

    public IReadOnlyList<Run> Runs => _runs;
    /// <summary>Blocks whose tag failed (every block added except those already valid).</summary>
    public ulong Mismatched { get; private set; }
    public ulong BlocksToWrite { get; private set; }

    /// <summary>Outcomes that write the block (data and a new tag).</summary>
    public static bool Writes(RepairOutcome o) => o is RepairOutcome.Healed or RepairOutcome.HealedUnverified or RepairOutcome.Retagged or RepairOutcome.Zeroed;

    public void Add(ulong sector, RepairOutcome outcome, string detail)
    {
        if (_runs.Count > 0)
        {
            var last = _runs[^1];
            ulong end = last.Start + last.Blocks * _spb;
            if (sector < end)
                throw new InvalidOperationException($"repair plan: sector {sector} added after {end - _spb}");
            if (sector == end && last.Outcome == outcome && last.Detail == detail)
                _runs[^1] = last with { Blocks = last.Blocks + 1 };
            else _runs.Add(new Run(sector, 1, outcome, detail));
        }
        else _runs.Add(new Run(sector, 1, outcome, detail));
        if (outcome is not RepairOutcome.AlreadyValid) Mismatched++;
        if (Writes(outcome)) BlocksToWrite++;
    }

    public ulong Count(RepairOutcome outcome) => _runs.Where(r => r.Outcome == outcome).Aggregate(0UL, (n, r) => n + r.Blocks);

    /// <summary>The sectors of the blocks whose outcome matches, as merged ranges.</summary>
    public SectorRange[] Sectors(Func<RepairOutcome, bool> which)
    {
        var ranges = new List<SectorRange>();
        foreach (var r in _runs.Where(r => which(r.Outcome)))
        {
            ulong sectors = r.Blocks * _spb;
            if (ranges.Count > 0 && ranges[^1].End == r.Start) ranges[^1] = ranges[^1] with { Sectors = ranges[^1].Sectors + sectors };
            else ranges.Add(new SectorRange(r.Start, sectors));
        }
        return ranges.ToArray();
    }

    /// <summary>The first sector of a written block and the sector after the last one; null when nothing is written.</summary>
    public (ulong Start, ulong End)? WrittenSpan
    {
        get
        {
            var written = _runs.Where(r => Writes(r.Outcome)).ToList();
            return written.Count == 0 ? null : (written[0].Start, written[^1].Start + written[^1].Blocks * _spb);
        }
    }

    /// <summary>The written blocks in ascending order.</summary>
    public IEnumerable<(ulong Sector, RepairOutcome Outcome)> WrittenBlocks()
    {
        foreach (var r in _runs)
            if (Writes(r.Outcome))
                for (ulong b = 0; b < r.Blocks; b++) yield return (r.Start + b * _spb, r.Outcome);
    }

    /// <summary>The written blocks in batches of consecutive blocks, at most <paramref name="maxBlocks"/> each. The list
    /// handed out is reused: read it before asking for the next batch.</summary>
    public IEnumerable<List<(ulong Sector, RepairOutcome Outcome)>> WriteBatches(int maxBlocks)
    {
        var batch = new List<(ulong Sector, RepairOutcome Outcome)>(maxBlocks);
        foreach (var w in WrittenBlocks())
        {
            if (batch.Count == maxBlocks || (batch.Count > 0 && w.Sector != batch[^1].Sector + _spb))
            {
                yield return batch;
                batch.Clear();
            }
            batch.Add(w);
        }
        if (batch.Count > 0) yield return batch;
    }

    /// <summary>
    /// The given sector ranges widened to whole blocks (a range inside a block names the whole block), sorted and merged:
    /// each block once, without listing blocks. Bounds are checked without overflow against <paramref name="limitSectors"/>.
    /// </summary>
    public static List<SectorRange> GivenBlocks(IEnumerable<SectorRange> given, ulong limitSectors, ulong spb, Func<SectorRange, Exception> pastTheEnd)
    {
        var ranges = new List<SectorRange>();
        foreach (var range in given)
        {
            if (range.Sectors == 0) continue;
            if (range.Start >= limitSectors || range.Sectors > limitSectors - range.Start) throw pastTheEnd(range);
            ulong start = range.Start & ~(spb - 1);
            // The end rounded up to a whole block, never past the limit (and never overflowing near 2^64).
            ulong rem = range.End % spb;
            ulong end = rem == 0 ? range.End : limitSectors - range.End < spb - rem ? limitSectors : range.End + (spb - rem);
            ranges.Add(new SectorRange(start, end - start));
        }
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var merged = new List<SectorRange>();
        foreach (var r in ranges)
        {
            if (merged.Count > 0 && r.Start <= merged[^1].End)
            {
                if (r.End > merged[^1].End) merged[^1] = merged[^1] with { Sectors = r.End - merged[^1].Start };
            }
            else merged.Add(r);
        }
        return merged;
    }

    /// <summary>The blocks of merged ranges, one sector number per block.</summary>
    public static IEnumerable<ulong> BlocksOf(IEnumerable<SectorRange> ranges, ulong spb)
    {
        foreach (var r in ranges)
            for (ulong s = r.Start; s < r.End; s += spb) yield return s;
    }

    /// <summary>Block count of merged ranges.</summary>
    public static ulong BlockCount(IEnumerable<SectorRange> ranges, ulong spb) => ranges.Aggregate(0UL, (n, r) => n + r.Sectors / spb);
}
