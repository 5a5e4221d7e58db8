using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core;

/// <summary>What Get-IntegrityVolume / ivol dump report about one volume: superblock, layout, journal state.</summary>
public sealed class VolumeInfo
{
    public required string Path { get; init; }
    /// <summary>Separate data device, when the tags live on <see cref="Path"/> (integritysetup --data-device).</summary>
    public string? DataDevicePath { get; init; }
    public required long DeviceBytes { get; init; }
    public ulong ReservedSectors { get; init; }
    /// <summary>Tag algorithm (integritysetup spelling) when the caller knows it: the superblock does not store it, so only a format sets it.</summary>
    public string? Algorithm { get; private set; }
    /// <summary>Path of the key file of a keyed algorithm, when the caller knows it (never the key itself).</summary>
    public string? KeyFile { get; private set; }

    // Superblock fields, named as integritysetup dump names them.
    public required int SuperblockVersion { get; init; }
    public required int IntegrityTagSize { get; init; }
    public required int SectorSize { get; init; }
    public required ulong ProvidedDataSectors { get; init; }
    public required uint JournalSections { get; init; }
    public required int Log2InterleaveSectors { get; init; }
    public required int Log2BlocksPerBitmap { get; init; }
    /// <summary>Present while the RECALCULATING flag is set.</summary>
    public ulong? RecalcSector { get; init; }
    public required string[] Flags { get; init; }
    public required string Salt { get; init; }

    // Layout derived by the kernel's rules.
    public ulong ProvidedBytes => ProvidedDataSectors * 512;
    public required ulong InitialSectors { get; init; }
    public required ulong JournalSectors { get; init; }
    public required ulong InterleaveSectors { get; init; }
    public required ulong MetadataRunSectors { get; init; }
    public required ulong Areas { get; init; }
    /// <summary>Share of the device that is not user data, in percent.</summary>
    public required double OverheadPercent { get; init; }

    public required JournalState JournalState { get; init; }
    public int PendingJournalEntries { get; init; }
    public bool DirtyBitmap => Array.IndexOf(Flags, "dirty_bitmap") >= 0;
    /// <summary>An offline write that did not finish (intent record in the superblock area, see WriteIntent).</summary>
    public InterruptedWrite? InterruptedWrite { get; init; }
    public bool Recalculating => RecalcSector is not null && RecalcSector < ProvidedDataSectors;
    /// <summary>
    /// The LUKS2 container the volume sits in (cryptsetup luksFormat --integrity): the superblock is at its data offset
    /// and the tags are dm-crypt's (verify online through the crypt mapping). Null for a plain dm-integrity volume.
    /// </summary>
    public CryptContainerInfo? Container { get; init; }
    /// <summary>True when the tags come from the crypt layer above (a LUKS2 container), not from an internal_hash.</summary>
    public bool TagsFromCryptLayer => Container is not null;

    /// <summary>This volume described with the algorithm and key file it was formatted with, so the next command can bind them.</summary>
    public VolumeInfo WithAlgorithm(string? algorithm, string? keyFile)
    {
        var copy = (VolumeInfo)MemberwiseClone();
        copy.Algorithm = algorithm;
        copy.KeyFile = keyFile;
        copy.AlgorithmSource = algorithm is null ? null : Core.AlgorithmSource.Given;
        return copy;
    }

    /// <summary>Given (a format names it) or Detected (found on the volume); null when neither.</summary>
    public AlgorithmSource? AlgorithmSource { get; private set; }
    /// <summary>What the algorithm detection of Get-IntegrityVolume / ivol dump found: candidates and their matching blocks.</summary>
    public AlgorithmDetection? AlgorithmDetection { get; private set; }

    /// <summary>This volume with the result of a detection; a detected algorithm becomes <see cref="Algorithm"/>.</summary>
    public VolumeInfo WithDetection(AlgorithmDetection detection)
    {
        var copy = (VolumeInfo)MemberwiseClone();
        copy.AlgorithmDetection = detection;
        if (detection.Algorithm is not null)
        {
            copy.Algorithm = detection.Algorithm;
            copy.AlgorithmSource = Core.AlgorithmSource.Detected;
        }
        return copy;
    }

    public static VolumeInfo From(string path, string? dataPath, long deviceBytes, Superblock sb, Geometry g, JournalReport journal,
        InterruptedWrite? interrupted = null, CryptContainerInfo? container = null)
    {
        double overhead = deviceBytes <= 0 ? 0 : 100.0 * (1.0 - (double)(g.ProvidedDataSectors * 512) /
            (dataPath is null ? deviceBytes : deviceBytes + (double)g.DataDeviceSectors * 512));
        return new VolumeInfo
        {
            Path = path, DataDevicePath = dataPath, DeviceBytes = deviceBytes, ReservedSectors = g.Start,
            SuperblockVersion = sb.Version, IntegrityTagSize = sb.IntegrityTagSize, SectorSize = sb.BlockSize,
            ProvidedDataSectors = sb.ProvidedDataSectors, JournalSections = sb.JournalSections,
            Log2InterleaveSectors = sb.Log2InterleaveSectors, Log2BlocksPerBitmap = sb.Log2BlocksPerBitmapBit,
            RecalcSector = sb.HasFlag(SuperblockFlags.Recalculating) ? sb.RecalcSector : null,
            Flags = sb.FlagNames().ToArray(), Salt = Convert.ToHexString(sb.Salt).ToLowerInvariant(),
            InitialSectors = g.InitialSectors, JournalSectors = g.JournalSectors, InterleaveSectors = g.InterleaveSectors,
            MetadataRunSectors = g.MetadataRunSectors, Areas = g.Areas, OverheadPercent = Math.Round(overhead, 3),
            JournalState = journal.State, PendingJournalEntries = journal.PendingEntries.Count, InterruptedWrite = interrupted,
            Container = container,
        };
    }
}
