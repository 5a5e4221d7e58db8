using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Journal;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Userspace format: the superblock and empty journal the kernel's ctr writes (initialize_superblock,
/// init_journal with commit seq 0), then tags for an all-zero data area, so the volume opens without the kernel's
/// full-device wipe. The superblock is written last: an interrupted format never looks like a valid volume.
/// </summary>
internal static class Formatter
{
    private sealed record Prepared(Superblock Superblock, Geometry Geometry, TagAlgorithm Algorithm, TagAlgorithm? JournalMac);

    private static readonly int[] SectorSizes = { 512, 1024, 2048, 4096 };

    public static FormatResult Plan(FormatRequest r, CancellationToken ct = default)
    {
        RefuseExistingFile(r);
        var (metaBytes, dataBytes) = Sizes(r, forPlan: true, ct);
        var p = Prepare(r, metaBytes, dataBytes, salt: r.Salt ?? new byte[Superblock.SaltSize]);
        return new FormatResult
        {
            Volume = Describe(r, p, metaBytes), TagInitialization = r.NoWipe ? "none" : "tags-only",
            Duration = TimeSpan.Zero, WhatIf = true,
        };
    }

    public static FormatResult Format(FormatRequest r, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        bool created = false;
        BlockDevice.RefuseDirectory(r.Volume.Path);
        RefuseExistingFile(r);
        if (r.CreateSizeBytes is long size)
        {
            if (!File.Exists(r.Volume.Path))
            {
                ValidateCreateSize(size);
                using (var fs = new FileStream(r.Volume.Path, FileMode.CreateNew, FileAccess.Write)) fs.SetLength(size);
                created = true;
            }
        }
        try
        {
            var (metaBytes, dataBytes) = Sizes(r, forPlan: false, ct);
            var salt = r.Salt ?? RandomNumberGenerator.GetBytes(Superblock.SaltSize);
            var p = Prepare(r, metaBytes, dataBytes, salt);
            r.Volume.ThrowIfInUse("refusing to format it");

            using var meta = BlockDevice.Open(r.Volume.Path, write: true, r.Volume.WaitForLock, ct);
            using var dataDev = r.Volume.DataDevicePath is null ? null : BlockDevice.Open(r.Volume.DataDevicePath, write: true, r.Volume.WaitForLock, ct);
            var data = dataDev ?? meta;
            if (!created && !r.Force)
            {
                var sig = SignatureProbe.Detect(meta, r.Volume.ReservedSectors) ?? (dataDev is null ? null : SignatureProbe.Detect(dataDev));
                if (sig is not null)
                    throw new IntegrityVolumeException(ErrorIds.ExistingSignature, ErrorKind.ResourceExists,
                        $"{r.Volume.Path} holds {sig} data; formatting would destroy it. Use -Force / --force if that is what you want.", r.Volume.Path);
            }
            var sb = p.Superblock;
            var g = p.Geometry;
            long sbOffset = (long)g.Start * 512;

            // 1. Invalidate any old superblock first, so a crash mid-format leaves no valid-looking volume.
            meta.Write(sbOffset, new byte[Superblock.AreaSize]);

            string init = "none";
            using (var flusher = new BackgroundFlusher(meta))
            {
                // 2. Empty journal (init_journal, commit seq 0).
                using (var jmac = p.JournalMac?.CreateHasher(r.JournalIntegrityKey))
                    JournalWriter.WriteEmpty(meta, g, sb, jmac, ct);

                // 3. Tags of an all-zero data area.
                if (!r.NoWipe)
                    init = TagInitializer.Run(meta, data, sb, g, p.Algorithm, r.Integrity.Key, dataKnownZero: created, progress, ct);
                flusher.Complete();
            }

            // 4. Superblock last (with its MAC when FIXED_HMAC and a journal_mac are in use).
            meta.Flush();
            if (dataDev is not null) dataDev.Flush();
            var area = sb.ToArea();
            if (p.JournalMac is not null && sb.HasFlag(SuperblockFlags.FixedHmac))
                using (var mac = p.JournalMac.CreateHasher(r.JournalIntegrityKey))
                    JournalWriter.SignSuperblock(area, mac);
            meta.Write(sbOffset, area);
            meta.Flush();
            return new FormatResult { Volume = Describe(r, p, metaBytes), TagInitialization = init, Duration = sw.Elapsed };
        }
        catch when (created)
        {
            // Nothing of value was in a file we created: remove it rather than leave a half-formatted image.
            try { File.Delete(r.Volume.Path); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>A size asks for a new image file: an existing one is reused only when forced.</summary>
    private static void RefuseExistingFile(FormatRequest r)
    {
        if (r.CreateSizeBytes is not null && File.Exists(r.Volume.Path) && !r.Force)
            throw new IntegrityVolumeException(ErrorIds.FileExists, ErrorKind.ResourceExists,
                $"{r.Volume.Path} already exists; use -Force / --force to reuse it.", r.Volume.Path);
    }

    private static void ValidateCreateSize(long size)
    {
        if (size < 64 * 1024 || size % 512 != 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"Image size {size} must be a multiple of 512 bytes and at least 64 KiB.");
    }

    private static (long Meta, long Data) Sizes(FormatRequest r, bool forPlan, CancellationToken ct)
    {
        long meta;
        if (!File.Exists(r.Volume.Path))
        {
            if (r.CreateSizeBytes is not long size)
                throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound,
                    $"{r.Volume.Path} does not exist; give a size (-Size / --size) to create an image file.", r.Volume.Path);
            ValidateCreateSize(size);
            meta = size;
        }
        else
        {
            using var dev = BlockDevice.Open(r.Volume.Path, write: false, r.Volume.WaitForLock, ct);
            meta = dev.Length;
            if (forPlan && !r.Force && SignatureProbe.Detect(dev, r.Volume.ReservedSectors) is { } sig)
                throw new IntegrityVolumeException(ErrorIds.ExistingSignature, ErrorKind.ResourceExists,
                    $"{r.Volume.Path} holds {sig} data; formatting would destroy it. Use -Force / --force if that is what you want.", r.Volume.Path);
        }
        long data = 0;
        if (r.Volume.DataDevicePath is not null)
        {
            using var dev = BlockDevice.Open(r.Volume.DataDevicePath, write: false, r.Volume.WaitForLock, ct);
            data = dev.Length;
        }
        return (meta, data);
    }

    private static Prepared Prepare(FormatRequest r, long metaBytes, long dataBytes, byte[] salt)
    {
        var algorithm = r.Integrity.Algorithm;
        if (Array.IndexOf(SectorSizes, r.SectorSize) < 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Sector size {r.SectorSize} is not one of 512, 1024, 2048, 4096.");
        int tagSize = r.ResolvedTagSize;
        if (tagSize < 1 || tagSize > Superblock.MaxTagSize)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                $"Tag size {tagSize} is out of range (1 to {Superblock.MaxTagSize}).");
        var jmac = r.JournalIntegrity;   // keys: FormatRequest.Validate, at the entry points
        if (salt.Length != Superblock.SaltSize)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "The salt must be 16 bytes.");
        bool separate = r.Volume.DataDevicePath is not null;
        int log2Spb = BitOperations.Log2((uint)r.SectorSize / 512);
        var g = Geometry.ForFormat(new Geometry.FormatInput
        {
            TagSize = tagSize, Log2SectorsPerBlock = log2Spb, HaveJournalMac = jmac is not null,
            FixedPadding = !r.LegacyPadding && !separate,
            JournalSectors = r.JournalSizeBytes is long j ? (ulong)(j / 512) : null,
            InterleaveSectors = r.InterleaveSectors, Start = r.Volume.ReservedSectors,
            MetadataDeviceSectors = (ulong)metaBytes / 512, DataDeviceSectors = (ulong)dataBytes / 512, SeparateMetadata = separate,
        });
        var flags = SuperblockFlags.None;
        if (jmac is not null) flags |= SuperblockFlags.HaveJournalMac;
        if (!r.LegacyPadding && !separate) flags |= SuperblockFlags.FixedPadding;
        if (!r.LegacyHmac) flags |= SuperblockFlags.FixedHmac;
        if (r.NoWipe) flags |= SuperblockFlags.Recalculating;
        int log2SectorsPerBit = Geometry.DefaultLog2SectorsPerBitmapBit;
        if (r.BitmapSectorsPerBit is ulong spbit)
        {
            if (spbit == 0 || !BitOperations.IsPow2(spbit))
                throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                    $"Bitmap sectors per bit ({spbit}) must be a power of two.");
            log2SectorsPerBit = BitOperations.Log2(spbit);
        }
        var sb = new Superblock
        {
            Version = Superblock.VersionFor(flags, bitmapMode: false, metaDevice: separate),
            Log2InterleaveSectors = (byte)g.Log2InterleaveSectors, IntegrityTagSize = (ushort)tagSize,
            JournalSections = g.JournalSections, ProvidedDataSectors = g.ProvidedDataSectors, Flags = flags,
            Log2SectorsPerBlock = (byte)log2Spb, Log2BlocksPerBitmapBit = (byte)g.Log2BlocksPerBitmapBit(log2SectorsPerBit),
            RecalcSector = 0, Salt = (flags & SuperblockFlags.FixedHmac) != 0 ? salt : new byte[Superblock.SaltSize],
        };
        return new Prepared(sb, g, algorithm, jmac);
    }

    private static VolumeInfo Describe(FormatRequest r, Prepared p, long metaBytes) =>
        VolumeInfo.From(r.Volume.Path, r.Volume.DataDevicePath, metaBytes, p.Superblock, p.Geometry,
            new JournalReport { State = JournalState.Clean });
}
