using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli.Commands;

/// <summary>
/// ivol open: activate a volume through the kernel (like integritysetup open): read the superblock, build the
/// dm-integrity table, create the device-mapper device with our ioctl client; image files get a loop device
/// (autoclear) that goes away with the mapping. Needs root and a kernel with device-mapper.
/// </summary>
internal static class OpenCommand
{
    public static Command Create()
    {
        var volume = new CommonOptions.VolumeOptions();
        var name = new Argument<string>("name") { Description = "Device-mapper name: the volume appears as /dev/mapper/<name>." };
        var integrity = CommonOptions.AlgorithmOptions.IntegrityDetected();
        var journalMac = CommonOptions.AlgorithmOptions.JournalIntegrity();
        var journalCrypt = CommonOptions.AlgorithmOptions.JournalCrypt();
        var discards = new Option<bool>("--allow-discards") { Description = "Pass discards down (kernel 5.7+); discarded blocks read back with the 0xF6 filler tag." };
        var bitmap = new Option<bool>("--integrity-bitmap-mode", "-B") { Description = "Bitmap mode (B) instead of the journal." };
        var noJournal = new Option<bool>("--integrity-no-journal", "-D") { Description = "Direct mode (D): no journal; a crash may leave data and tags out of step." };
        var recovery = new Option<bool>("--integrity-recovery-mode", "-R") { Description = "Recovery mode (R): no journal replay, no tag checks, writes refused." };
        var readOnly = new Option<bool>("--readonly", "-r") { Description = "Read-only mapping." };
        var watermark = new Option<uint?>("--journal-watermark") { Description = "Journal fill percentage that starts a flush (default 50)." };
        var commitTime = new Option<uint?>("--journal-commit-time") { Description = "Journal commit time in ms (default 10000)." };
        var bufferSectors = new Option<uint?>("--buffer-sectors") { Description = "Metadata buffer size in sectors (default 128)." };
        var sectorsPerBit = new Option<ulong?>("--bitmap-sectors-per-bit") { Description = "Bitmap granularity in sectors (bitmap mode; default 32768)." };
        var flushTime = new Option<uint?>("--bitmap-flush-time") { Description = "Bitmap flush interval in ms (bitmap mode; default 10000)." };
        var recalc = new Option<bool>("--integrity-recalculate") { Description = "Recalculate tags of the unprotected part (table 'recalculate')." };
        var recalcReset = new Option<bool>("--integrity-recalculate-reset") { Description = "Restart recalculation from sector 0 (kernel 5.13+)." };
        var legacyRecalc = new Option<bool>("--integrity-legacy-recalculate") { Description = "Allow recalculation with keyed hashes on volumes without fix_hmac." };
        var json = CommonOptions.Json();
        var cmd = new Command("open", "Activate a volume as /dev/mapper/<name> through the kernel's dm-integrity target (needs root).")
        {
            discards, bitmap, noJournal, recovery, readOnly,
            watermark, commitTime, bufferSectors, sectorsPerBit, flushTime, recalc, recalcReset, legacyRecalc, json,
        };
        volume.AddTo(cmd);
        cmd.Arguments.Add(name);
        integrity.AddTo(cmd);
        journalMac.AddTo(cmd);
        journalCrypt.AddTo(cmd);
        cmd.Aliases.Add("activate");
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            int modes = (p.GetValue(bitmap) ? 1 : 0) + (p.GetValue(noJournal) ? 1 : 0) + (p.GetValue(recovery) ? 1 : 0);
            if (modes > 1)
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    "Choose one of --integrity-bitmap-mode, --integrity-no-journal and --integrity-recovery-mode.");
            var mode = p.GetValue(bitmap) ? IntegrityMode.Bitmap : p.GetValue(recovery) ? IntegrityMode.Recovery
                : p.GetValue(noJournal) ? IntegrityMode.Direct : IntegrityMode.Journal;
            using var key = integrity.ReadKey(p);
            using var journalMacKey = journalMac.ReadKey(p);
            using var journalCryptKey = journalCrypt.ReadKey(p);
            var location = volume.Read(p);
            // No --integrity: detected offline before the table is built (the kernel computes the tags).
            string? algorithmName = integrity.Name(p) ?? integrity.ParseOrDetect(p, location, key, quiet: asJson).Algorithm.IntegritysetupName;
            var options = new IntegrityActivationOptions
            {
                Algorithm = algorithmName,
                Key = key,
                JournalMacAlgorithm = journalMac.Name(p),
                JournalMacKey = journalMacKey,
                JournalCryptAlgorithm = journalCrypt.Name(p),
                JournalCryptKey = journalCryptKey,
                Mode = mode,
                AllowDiscards = p.GetValue(discards),
                BufferSectors = p.GetValue(bufferSectors),
                JournalWatermark = p.GetValue(watermark),
                CommitTimeMs = p.GetValue(commitTime),
                SectorsPerBit = p.GetValue(sectorsPerBit),
                BitmapFlushIntervalMs = p.GetValue(flushTime),
                Recalculate = p.GetValue(recalc),
                ResetRecalculate = p.GetValue(recalcReset),
                LegacyRecalculate = p.GetValue(legacyRecalc),
            };
            var request = new IntegrityOpenRequest
            {
                Device = location.Path,
                Name = p.GetValue(name)!,
                DataDevice = location.DataDevicePath,
                ReservedSectors = location.ReservedSectors,
                Options = options,
                ReadOnly = p.GetValue(readOnly),
            };
            var sb = VolumeOperations.ReadSuperblock(new VolumeLocation { Path = request.Device, ReservedSectors = request.ReservedSectors });
            var info = IntegrityMappings.Open(request, sb, Program.Cancellation) with
            {
                AlgorithmSource = integrity.Name(p) is null ? AlgorithmSource.Detected : AlgorithmSource.Given,
            };
            if (asJson) CliOutput.WriteJson(info);
            else Console.WriteLine($"{info.Path} is active ({info.ProvidedDataSectors} sectors, {info.Algorithm ?? "external tags"}{(info.AlgorithmSource == AlgorithmSource.Detected ? " (detected)" : "")}, {IntegrityModes.Name(info.Mode)}).");
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
