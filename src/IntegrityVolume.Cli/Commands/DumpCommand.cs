using System.CommandLine;
using IntegrityVolume.Core;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol dump: the superblock as integritysetup dump prints it, plus layout and journal state.</summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var json = CommonOptions.Json();
        var cmd = new Command("dump", "Show the superblock, layout and journal state of a volume.") { json };
        volume.AddTo(cmd);
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
            {
                bool asJson = p.GetValue(json);
                var location = volume.Read(p);
                VolumeInfo v;
                try { v = VolumeOperations.Inspect(location, Program.Cancellation, detectAlgorithm: true); }
                catch (IntegrityVolumeException ex) when (ex.ErrorId == ErrorIds.DataDeviceMismatch && location.DataDevicePath is null && !asJson)
                {
                    // integritysetup dump of a metadata device prints its superblock alone: so do we; the layout and
                    // journal state need the data device's size.
                    var sb = VolumeOperations.ReadSuperblock(location);
                    Console.WriteLine($"Info for integrity device {location.Path}.");
                    PrintSuperblock(sb.Version, sb.Log2InterleaveSectors, sb.IntegrityTagSize, sb.JournalSections, sb.ProvidedDataSectors,
                        sb.BlockSize, sb.HasFlag(IntegrityVolume.Core.Format.SuperblockFlags.Recalculating) ? sb.RecalcSector : null,
                        sb.Log2BlocksPerBitmapBit, sb.FlagNames());
                    Console.WriteLine();
                    Console.WriteLine("layout: the data is on a separate data device: give --data-device for the layout and journal state");
                    return ExitCodes.Success;
                }
                if (asJson) { CliOutput.WriteJson(v); return ExitCodes.Success; }
                Console.WriteLine($"Info for integrity device {v.Path}.");
                if (v.Container is { } c)
                {
                    // Not dm-integrity fields: the LUKS2 header around the volume (its data segment holds the superblock).
                    Console.WriteLine($"container {c.Container} uuid {c.Uuid}{(c.FromSecondaryHeader ? " (secondary header)" : "")}");
                    Console.WriteLine($"data_offset {c.DataOffsetBytes} [bytes] ({c.DataOffsetSectors} sectors)");
                    Console.WriteLine($"cipher {c.Cipher}, sector {c.CryptSectorSize} [bytes]");
                    Console.WriteLine($"integrity {c.Integrity} (journal_encryption {c.JournalEncryption ?? "none"}, journal_integrity {c.JournalIntegrity ?? "none"})");
                    Console.WriteLine("tags provided by dm-crypt (the crypt mapping above): verify online through it (ivol verify --name NAME)");
                }
                PrintSuperblock(v.SuperblockVersion, v.Log2InterleaveSectors, v.IntegrityTagSize, v.JournalSections, v.ProvidedDataSectors,
                    v.SectorSize, v.RecalcSector, v.Log2BlocksPerBitmap, v.Flags);
                Console.WriteLine();
                Console.WriteLine($"salt {v.Salt}");
                Console.WriteLine($"usable_size {CliOutput.Size(v.ProvidedBytes)} ({v.OverheadPercent:0.###}% overhead)");
                Console.WriteLine($"initial_sectors {v.InitialSectors} (superblock + journal {v.JournalSectors})");
                Console.WriteLine($"interleave_sectors {v.InterleaveSectors}, metadata_run_sectors {v.MetadataRunSectors}, areas {v.Areas}");
                Console.WriteLine($"journal {v.JournalState}{(v.PendingJournalEntries > 0 ? $" ({v.PendingJournalEntries} entries to replay)" : "")}");
                // Not a superblock field: found on the volume (at most AlgorithmDetection.MaxSampleBlocks blocks read).
                if (v.AlgorithmDetection is { } d) Console.WriteLine($"algorithm {d.Algorithm ?? "unknown"} ({d.Summary})");
                if (v.InterruptedWrite is { } iw) Console.WriteLine($"interrupted_write sectors {iw.StartSector}-{iw.EndSector - 1}: {iw.Advice}");
                return ExitCodes.Success;
            }));
        return cmd;
    }

    /// <summary>The superblock lines, named and ordered as integritysetup dump prints them.</summary>
    private static void PrintSuperblock(int version, int log2Interleave, int tagSize, uint journalSections, ulong provided,
        int sectorSize, ulong? recalcSector, int log2BlocksPerBitmap, IEnumerable<string> flags)
    {
        Console.WriteLine($"superblock_version {version}");
        Console.WriteLine($"log2_interleave_sectors {log2Interleave}");
        Console.WriteLine($"integrity_tag_size {tagSize}");
        Console.WriteLine($"journal_sections {journalSections}");
        Console.WriteLine($"provided_data_sectors {provided}");
        Console.WriteLine($"sector_size {sectorSize}");
        if (recalcSector is { } rs) Console.WriteLine($"recalc_sector {rs}");
        Console.WriteLine($"log2_blocks_per_bitmap {log2BlocksPerBitmap}");
        Console.WriteLine("flags " + string.Concat(flags.Select(f => f + " ")));
    }
}
