using System.CommandLine;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;

namespace IntegrityVolume.Cli.Commands;

/// <summary>ivol status: an active mapping as the kernel reports it (like integritysetup status), or all of them.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("name") { Description = "Device-mapper name; omit to list every active dm-integrity mapping.", Arity = ArgumentArity.ZeroOrOne };
        var json = CommonOptions.Json();
        var cmd = new Command("status", "Show an active volume: table, mode, failures counter, devices (needs root).") { name, json };
        cmd.SetAction(p => CliOutput.Run(p.GetValue(json), () =>
        {
            bool asJson = p.GetValue(json);
            string? n = p.GetValue(name);
            if (n is null)
            {
                var all = IntegrityMappings.List();
                if (asJson) CliOutput.WriteJson(all);
                else foreach (var m in all) { Print(m); Console.WriteLine(); }
                return ExitCodes.Success;
            }
            var info = IntegrityMappings.Status(n);
            if (info is null)
            {
                if (asJson) CliOutput.WriteJson(new InactiveMapping(n, DeviceNodes.MapperPath(n), false));
                else Console.WriteLine($"{DeviceNodes.MapperPath(n)} is inactive.");
                return ExitCodes.UsageError;
            }
            if (asJson) CliOutput.WriteJson(info);
            else Print(info);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    // The layout of integritysetup status (cryptsetup 2.6), so scripts that read it keep working.
    private static void Print(IntegrityMappingInfo m)
    {
        Console.WriteLine($"{m.Path} is active{(m.OpenCount > 0 ? " and is in use" : "")}.");
        Console.WriteLine($"  type:    {m.Type}");
        Console.WriteLine($"  tag size: {m.TagSize}");
        Console.WriteLine($"  integrity: {m.Algorithm ?? "(none)"}");
        if (m.Algorithm is null)
            Console.WriteLine(m.TagsProvidedBy is { } c
                ? $"  tags provided by: crypt mapping {c.Name} ({c.DeviceNumber}), cipher {c.Cipher}, integrity {c.Integrity} ({c.IntegrityTagBytes} bytes per sector), key in {c.KeyLocation}"
                : "  tags provided by: the layer above (no mapping holds this one now)");
        Console.WriteLine($"  device:  {m.DataDevice}{(m.MetadataDevice is null ? "" : " (detached)")}");
        if (m.DataLoopBackingFile is { } loop) Console.WriteLine($"  loop:    {loop}");
        if (m.MetadataDevice is not null)
        {
            Console.WriteLine($"  metadata device:  {m.MetadataDevice}");
            if (m.MetadataLoopBackingFile is { } ml) Console.WriteLine($"  loop:    {ml}");
        }
        Console.WriteLine($"  sector size:  {m.SectorSize} bytes");
        Console.WriteLine($"  interleave sectors: {m.InterleaveSectors}");
        Console.WriteLine($"  size:    {m.SizeSectors} sectors");
        Console.WriteLine($"  mode:    {(m.ReadOnly ? "readonly" : "read/write")}{(m.Mode == IntegrityMode.Recovery ? " recovery" : "")}");
        Console.WriteLine($"  failures: {m.Failures}");
        if (m.Mode == IntegrityMode.Bitmap)
        {
            Console.WriteLine($"  bitmap 512-byte sectors per bit: {m.BitmapSectorsPerBit}");
            Console.WriteLine($"  bitmap flush interval: {m.BitmapFlushIntervalMs} ms");
        }
        if (m.Mode is IntegrityMode.Bitmap or IntegrityMode.Direct)
            Console.WriteLine("  journal: not active");
        else
        {
            Console.WriteLine($"  journal size: {m.JournalSizeBytes} bytes");
            Console.WriteLine($"  journal watermark: {m.JournalWatermark ?? 0}%");
            Console.WriteLine($"  journal commit time: {m.JournalCommitTimeMs ?? 0} ms");
            if (m.JournalIntegrity is { } ji) Console.WriteLine($"  journal integrity MAC: {ji}");
            if (m.JournalCrypt is { } jc) Console.WriteLine($"  journal encryption: {jc}");
        }
        if (m.AllowDiscards) Console.WriteLine("  flags: discards ");
    }
}
