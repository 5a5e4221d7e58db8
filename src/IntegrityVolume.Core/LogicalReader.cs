using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core;

/// <summary>
/// Reads a closed volume's logical content (what /dev/mapper/NAME would return) offline: data blocks through the
/// interleave mapping, with committed journal entries applied on top as the kernel's replay would.
/// </summary>
public sealed class LogicalReader : IDisposable
{
    private readonly VolumeOperations.OpenedVolume _v;
    private readonly JournalReport _journal;

    public LogicalReader(VolumeLocation volume)
    {
        _v = VolumeOperations.OpenVolume(volume, write: false);
        _journal = JournalInspector.Inspect(_v.Meta, _v.Superblock, _v.Geometry);
    }

    public long Length => (long)_v.Geometry.ProvidedDataSectors * 512;
    public Superblock Superblock => _v.Superblock;
    public Geometry Geometry => _v.Geometry;
    public JournalState JournalState => _journal.State;

    /// <summary>Copy the whole logical device to <paramref name="output"/>.</summary>
    public void CopyTo(Stream output, CancellationToken ct = default)
    {
        var g = _v.Geometry;
        var buf = new byte[1 << 20];
        for (ulong sector = 0; sector < g.ProvidedDataSectors;)
        {
            ct.ThrowIfCancellationRequested();
            ulong areaLeft = g.SeparateMetadata ? g.ProvidedDataSectors - sector : g.InterleaveSectors - (sector & (g.InterleaveSectors - 1));
            ulong n = Math.Min(Math.Min((ulong)buf.Length / 512, areaLeft), g.ProvidedDataSectors - sector);
            var span = buf.AsSpan(0, (int)n * 512);
            _v.Data.Read((long)g.DataSector(sector) * 512, span);
            if (_journal.ReplayImage.Count != 0)
                for (ulong s = 0; s < n; s += (ulong)g.SectorsPerBlock)
                    if (_journal.ReplayImage.TryGetValue(sector + s, out var e))
                        e.Data.CopyTo(span[((int)s * 512)..]);
            output.Write(span);
            sector += n;
        }
    }

    public void Dispose() => _v.Dispose();
}
