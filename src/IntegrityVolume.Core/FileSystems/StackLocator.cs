using System.Globalization;
using IntegrityVolume.Core.Arrays;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Core.FileSystems;

/// <summary>One layer above the leg: device-mapper layers below md (per-leg LUKS), the md array, then each device-mapper layer (crypt, linear) up to the file system.</summary>
/// <param name="Kind">md, crypt or linear.</param>
/// <param name="Device">The layer's device (/dev/md127, /dev/mapper/NAME).</param>
/// <param name="Detail">md: level, layout, chunk, the leg's slot and data offset; crypt/linear: the offset on the device below.</param>
public sealed record StackLayer(string Kind, string Device, string Detail);

/// <summary>Sectors of one layer's device that a piece of leg sectors maps to.</summary>
public sealed record LayerSectors(string Device, SectorRange Sectors);

/// <summary>
/// A piece of the leg sectors asked about: consecutive leg sectors with one role whose array sectors (and the
/// sectors of every layer above) are contiguous, and what owns them in the file system on top.
/// </summary>
public sealed record LegSectorPiece
{
    /// <summary>The range asked about.</summary>
    public required SectorRange Range { get; init; }
    /// <summary>The leg sectors of this piece (sectors of the leg device: for an integrity volume, its logical sectors).</summary>
    public required SectorRange LegSectors { get; init; }
    /// <summary>Data, parity, md's own area before the data offset, or beyond the array's data.</summary>
    public required MdLegRole Role { get; init; }
    /// <summary>Parity: "P" or "Q".</summary>
    public string? Parity { get; init; }
    /// <summary>Data: sectors of the array device.</summary>
    public SectorRange? ArraySectors { get; init; }
    /// <summary>The sectors of each device-mapper layer between the leg and the array, then (data) above the array, bottom to top (as far as they map).</summary>
    public required LayerSectors[] LayerSectors { get; init; }
    /// <summary>Data in every layer: the sectors of the device holding the file system; null otherwise.</summary>
    public SectorRange? FileSystemSectors { get; init; }
    /// <summary>Why the piece reaches no file system (e.g. a LUKS header before the crypt payload).</summary>
    public string? Note { get; init; }
    /// <summary>The file system's owners of <see cref="FileSystemSectors"/> (empty when it reaches none).</summary>
    public required BadBlockOwner[] Owners { get; init; }
}

/// <summary>Result of `ivol locate --leg` / Resolve-IntegrityVolumeSector -Leg: every layer from a leg sector to the file.</summary>
public sealed class LegSectorReport
{
    /// <summary>The leg device (/dev/mapper/NAME).</summary>
    public required string Leg { get; init; }
    /// <summary>The md array holding the leg (/dev/md127).</summary>
    public required string Array { get; init; }
    public required string Level { get; init; }
    public required string Layout { get; init; }
    public required ulong ChunkSectors { get; init; }
    public required int RaidDisks { get; init; }
    /// <summary>The leg's raid slot.</summary>
    public required int Slot { get; init; }
    /// <summary>The leg's md data offset in sectors.</summary>
    public required ulong DataOffset { get; init; }
    /// <summary>Bottom to top: each device-mapper layer between the leg and md (RAID over per-leg LUKS), md, each layer above md.</summary>
    public required StackLayer[] Layers { get; init; }
    /// <summary>The device holding the file system (top of the stack).</summary>
    public required string FileSystemPath { get; init; }
    /// <summary>ext2/3/4 or xfs; null when no piece reached the file system.</summary>
    public string? FileSystem { get; init; }
    public int? BlockSize { get; init; }
    public required LegSectorPiece[] Pieces { get; init; }
    public required string[] Warnings { get; init; }
}

/// <summary>
/// Bad block → file through a stack: a sector of one leg (an open integrity volume that is, directly or through
/// crypt/linear layers such as a per-leg LUKS mapping, a member of an md array) → the member sector (each layer below
/// md maps it as those above do) → the array sector md stores there (<see cref="MdGeometry"/>) → the sector of each device-mapper layer above the array
/// (dm-crypt: minus the payload offset of its table; linear: minus its offset) → the file system's owner
/// (<see cref="SectorLocator"/>). The stack is discovered from sysfs holders and the live dm tables.
/// </summary>
public static class StackLocator
{
    /// <summary>At most this many leg sectors per call.</summary>
    public const ulong MaxSectors = 1 << 20;

    /// <summary>A leg name (/dev/mapper/NAME) or a block device path.</summary>
    public static string LegPath(string leg) => leg.Contains('/', StringComparison.Ordinal) ? leg : DeviceNodes.MapperPath(leg);

    public static LegSectorReport Locate(string leg, IReadOnlyList<SectorRange> ranges, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        string legPath = LegPath(leg);
        var legDev = DeviceNumber.Of(legPath)
            ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{legPath}: no such block device (give an open volume's name or a block device).", legPath);
        string legSys = LoopDevice.SysName(legDev)
            ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{legPath}: sysfs does not know device {legDev}.", legPath);
        ulong legSectors = ReadNumber($"/sys/dev/block/{legDev}/size");
        ulong total = 0;
        foreach (var r in ranges)
        {
            if (r.Sectors == 0 || r.End > legSectors || r.End < r.Start)
                throw new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument,
                    $"{legPath}: sectors {r} are outside the leg ({legSectors} sectors of 512 bytes).", legPath);
            total += r.Sectors;
        }
        if (total > MaxSectors)
            throw new IntegrityVolumeException(ErrorIds.OffsetOutOfRange, ErrorKind.InvalidArgument,
                $"{legPath}: {total} sectors asked about; at most {MaxSectors} per call (ask about fewer sectors at a time).", legPath);

        // Device-mapper layers between the leg and the array (RAID over per-leg LUKS: leg → crypt → md), then the md
        // array holding the top one: a holder named mdN with it as an active member.
        var layers = new List<StackLayer>();
        var lower = WalkDeviceMapper(legSys, legDev, layers, untilMd: true, ct);
        string memberSys = lower.Count > 0 ? lower[^1].KernelName : legSys;
        DeviceNumber memberDev = lower.Count > 0 ? ReadDeviceNumber(memberSys) : legDev;
        string? md = DeviceNodes.Holders(memberDev).FirstOrDefault(h => h.StartsWith("md", StringComparison.Ordinal));
        if (md is null)
            throw new IntegrityVolumeException(ErrorIds.NotAnArrayMember, ErrorKind.InvalidArgument,
                $"{legPath}: no md array holds this device{(lower.Count > 0 ? $" or the layers above it ({string.Join(", ", lower.Select(l => l.Device))})" : "")} (sysfs lists no md holder); " +
                $"for a file system on the volume itself use 'ivol locate {DeviceNodes.MapperPath("NAME")}'.", legPath);
        var geometry = MdGeometry.Read(md);
        var member = geometry.Members.FirstOrDefault(m => m.KernelName == memberSys);
        if (member?.Slot is not { } slot)
            throw new IntegrityVolumeException(ErrorIds.NotAnArrayMember, ErrorKind.InvalidArgument,
                $"{legPath}: {md} holds {(lower.Count > 0 ? lower[^1].Device : "it")} {(member is null ? "but lists no member for it" : "as a spare or faulty member (slot none)")}: it holds no array data.", legPath);
        string mdPath = DeviceNodes.PathOf(ReadDeviceNumber(md)) ?? "/dev/" + md;
        layers.Add(new("md", mdPath, string.Create(CultureInfo.InvariantCulture,
            $"{geometry.Level} {geometry.LayoutName}, {geometry.RaidDisks} disks, chunk {geometry.ChunkSectors} sectors; leg slot {slot}, data offset {member.DataOffset}")));

        // Device-mapper layers above the array (LUKS over RAID), up to the device nothing holds.
        var upper = WalkDeviceMapper(md, ReadDeviceNumber(md), layers, untilMd: false, ct);
        string top = upper.Count > 0 ? upper[^1].Device : mdPath;

        // Leg sectors → pieces.
        var pieces = new List<LegSectorPiece>();
        foreach (var range in ranges)
        {
            LegSectorPiece? current = null;
            for (ulong s = range.Start; s < range.End; s++)
            {
                var layerSectors = new List<LayerSectors>();
                string? note = null;
                ulong? m = MapUp(lower, s, layerSectors, ref note);
                var loc = m is { } memberSector ? geometry.Map(slot, member.DataOffset, memberSector) : new MdLegLocation(MdLegRole.BelowArrayLayer);
                ulong? x = MapUp(upper, loc.ArraySector, layerSectors, ref note);
                var piece = new LegSectorPiece
                {
                    Range = range, LegSectors = new SectorRange(s, 1), Role = loc.Role, Parity = loc.Detail,
                    ArraySectors = loc.ArraySector is { } a ? new SectorRange(a, 1) : null,
                    LayerSectors = layerSectors.ToArray(), Note = note,
                    FileSystemSectors = loc.Role == MdLegRole.Data && x is { } fs ? new SectorRange(fs, 1) : null,
                    Owners = Array.Empty<BadBlockOwner>(),
                };
                if (current is not null && Extends(current, piece)) current = Grow(current);
                else
                {
                    if (current is not null) pieces.Add(current);
                    current = piece;
                }
            }
            if (current is not null) pieces.Add(current);
        }

        // The file system's owners of the sectors that reach it.
        var fsRanges = pieces.Where(p => p.FileSystemSectors is not null).Select(p => p.FileSystemSectors!).Distinct().ToArray();
        SectorOwnerReport? owners = null;
        var warnings = new List<string>();
        try
        {
            if (fsRanges.Length > 0) owners = SectorLocator.Locate(top, fsRanges, ct);
        }
        catch (IntegrityVolumeException e) when (e.ErrorId == ErrorIds.FileSystemNotRecognized)
        {
            // A raw array (or one holding something else): the layers are still worth reporting.
            warnings.Add($"{e.Message} The layers are reported without file owners.");
        }
        if (owners is not null) warnings.AddRange(owners.Warnings);
        if (owners is not null)
            for (int i = 0; i < pieces.Count; i++)
                if (pieces[i].FileSystemSectors is { } f)
                    pieces[i] = pieces[i] with { Owners = owners.Owners.Where(o => o.Range == f).ToArray() };

        return new LegSectorReport
        {
            Leg = legPath, Array = mdPath, Level = geometry.Level, Layout = geometry.LayoutName, ChunkSectors = geometry.ChunkSectors,
            RaidDisks = geometry.RaidDisks, Slot = slot, DataOffset = member.DataOffset, Layers = layers.ToArray(),
            FileSystemPath = top, FileSystem = owners?.FileSystem, BlockSize = owners?.BlockSize,
            Pieces = pieces.ToArray(), Warnings = warnings.ToArray(),
        };
    }

    /// <summary>One device-mapper layer of the stack: its kernel name, /dev/mapper path and segments over the device below.</summary>
    private sealed record DmLayer(string KernelName, string Device, List<(DmTarget Target, ulong Offset)> Segments);

    /// <summary>
    /// The chain of single device-mapper holders (crypt or linear segments over the device below) starting above
    /// <paramref name="kernelName"/>; with <paramref name="untilMd"/> it stops below the first device an md array holds.
    /// Each layer is added to <paramref name="layers"/>.
    /// </summary>
    private static List<DmLayer> WalkDeviceMapper(string kernelName, DeviceNumber dev, List<StackLayer> layers, bool untilMd, CancellationToken ct)
    {
        var chain = new List<DmLayer>();
        string below = kernelName;
        DeviceNumber belowDev = dev;
        while (DeviceNodes.Holders(belowDev) is { Count: > 0 } holders)
        {
            ct.ThrowIfCancellationRequested();
            if (untilMd && holders.Any(h => h.StartsWith("md", StringComparison.Ordinal))) break;
            if (holders.Count > 1 || !holders[0].StartsWith("dm-", StringComparison.Ordinal))
                throw MdGeometry.Unsupported(below, $"its holders ({string.Join(", ", holders)}) are not one device-mapper device");
            string dmName = DeviceNodes.MapperNameOf(holders[0])
                ?? throw MdGeometry.Unsupported(below, $"its holder {holders[0]} has no device-mapper name (removed meanwhile?)");
            IReadOnlyList<DmTarget> table;
            using (var dm = DeviceMapperClient.Open()) table = dm.GetTable(dmName);
            var segments = new List<(DmTarget, ulong)>();
            foreach (var t in table)
            {
                if (t.Underlying() is not { } u)
                    throw MdGeometry.Unsupported(dmName, $"its table has a '{t.TargetType}' target: only crypt and linear layers are mapped");
                if (DeviceNumber.Of(u.Device) != belowDev) continue;
                segments.Add((t, u.Offset));
            }
            string dmPath = DeviceNodes.MapperPath(dmName);
            layers.Add(new StackLayer(segments.Count > 0 ? segments[0].Item1.TargetType : "linear", dmPath,
                string.Join("; ", segments.Select(s => string.Create(CultureInfo.InvariantCulture,
                    $"sectors {s.Item1.Start}-{s.Item1.Start + s.Item1.Length - 1} from {s.Item2} of {below}")))));
            chain.Add(new DmLayer(holders[0], dmPath, segments));
            below = holders[0];
            belowDev = ReadDeviceNumber(holders[0]);
        }
        return chain;
    }

    /// <summary>
    /// A sector of the device below <paramref name="chain"/> through each layer (its segment's start + the sector minus
    /// the segment's offset, as crypt and linear map), adding each layer's sector; null with a note when a layer does not
    /// map it (before a crypt payload: a LUKS header).
    /// </summary>
    private static ulong? MapUp(List<DmLayer> chain, ulong? sector, List<LayerSectors> layerSectors, ref string? note)
    {
        ulong? x = sector;
        foreach (var layer in chain)
        {
            if (x is not { } v) return null;
            var seg = layer.Segments.FirstOrDefault(g => v >= g.Offset && v - g.Offset < g.Target.Length);
            if (seg.Target is null)
            {
                note = $"outside every segment of {layer.Device}" + (layer.Segments.Count > 0 && layer.Segments.All(g => v < g.Offset) && layer.Segments[0].Target.TargetType == "crypt"
                    ? " (before the encrypted payload: the LUKS header and key slots)" : "");
                return null;
            }
            x = seg.Target.Start + (v - seg.Offset);
            layerSectors.Add(new LayerSectors(layer.Device, new SectorRange(x.Value, 1)));
        }
        return x;
    }

    /// <summary>The next leg sector continues the piece: same role, parity and note, every layer's sectors contiguous.</summary>
    private static bool Extends(LegSectorPiece p, LegSectorPiece next) =>
        p.Range == next.Range && p.Role == next.Role && p.Parity == next.Parity && p.Note == next.Note
        && Next(p.ArraySectors, next.ArraySectors) && Next(p.FileSystemSectors, next.FileSystemSectors)
        && p.LayerSectors.Length == next.LayerSectors.Length
        && p.LayerSectors.Zip(next.LayerSectors).All(z => z.First.Device == z.Second.Device && z.First.Sectors.End == z.Second.Sectors.Start);

    private static bool Next(SectorRange? a, SectorRange? b) => a is null ? b is null : b is not null && a.End == b.Start;

    private static LegSectorPiece Grow(LegSectorPiece p)
    {
        static SectorRange? One(SectorRange? r) => r is null ? null : r with { Sectors = r.Sectors + 1 };
        return p with
        {
            LegSectors = One(p.LegSectors)!, ArraySectors = One(p.ArraySectors), FileSystemSectors = One(p.FileSystemSectors),
            LayerSectors = p.LayerSectors.Select(l => l with { Sectors = One(l.Sectors)! }).ToArray(),
        };
    }

    private static DeviceNumber ReadDeviceNumber(string kernelName) =>
        DeviceNumber.TryParse(File.ReadAllText($"/sys/block/{kernelName}/dev").Trim(), out var d) ? d
            : throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{kernelName}: sysfs gives no device number.", kernelName);

    private static ulong ReadNumber(string path) =>
        ulong.Parse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
}
