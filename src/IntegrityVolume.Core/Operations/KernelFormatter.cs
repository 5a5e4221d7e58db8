using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using IntegrityVolume.Core.Devices;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Core.Kernel;
using Microsoft.Win32.SafeHandles;

namespace IntegrityVolume.Core.Operations;

/// <summary>
/// Kernel-side format, as integritysetup format does it (format doc E.2, C.4): zero the 4 KiB superblock area, load
/// an 8-sector dm-integrity table into a temporary private device so the kernel's constructor formats the volume
/// (superblock, empty journal), remove it, read the new superblock back, then - unless NoWipe - activate the whole
/// volume in direct mode (D) under another temporary name and write zeros through it in 1 MiB blocks, so the kernel
/// computes every tag. The same refusals as the userspace formatter (existing file, signatures, devices in use) apply
/// before anything is written; without device-mapper nothing is written at all.
/// </summary>
/// <remarks>
/// Differences from integritysetup 2.6: the 8-sector table carries <c>sectors_per_bit:</c> for a requested bitmap
/// granularity (integritysetup puts that value into <c>journal_watermark:</c> and the kernel refuses it),
/// <c>--integrity-legacy-padding</c> together with <c>--integrity-legacy-hmac</c> omits both flags (integritysetup
/// 2.6 keeps fix_padding then), and an interrupted or failed wipe zeroes the superblock again, so a half-initialised
/// volume never looks valid (integritysetup leaves it with invalid tags). A NoWipe format is what
/// <c>integritysetup format --no-wipe</c> leaves: superblock and journal only, no RECALCULATING flag; open it with
/// <c>--integrity-recalculate</c> so the kernel computes the tags.
/// </remarks>
public static class KernelFormatter
{
    /// <summary>FormatResult.TagInitialization of a kernel format whose data area was wiped through the kernel.</summary>
    public const string KernelWipe = "kernel-wipe";
    /// <summary>integritysetup's wipe block (DEFAULT_WIPE_BLOCK).</summary>
    public const int WipeBlockBytes = 1 << 20;
    /// <summary>Length of the temporary format mapping in sectors (what integritysetup loads).</summary>
    public const ulong FormatTableSectors = 8;
    public const string TemporaryNamePrefix = "temporary-ivol-";

    private const nuint BLKFLSBUF = 0x1261;   // _IO(0x12, 97)

    /// <summary>Format through the kernel's dm-integrity target (needs root and device-mapper).</summary>
    public static FormatResult Format(FormatRequest request, IProgress<OperationProgress>? progress = null, CancellationToken ct = default) =>
        Format(request, progress, ct, DeviceMapperClient.DefaultControlPath);

    /// <summary>
    /// What Format would do, nothing written (dry run): every check of the userspace formatter (existing file,
    /// signatures, algorithm, key, sizes) and the same layout; the tags come from the kernel's wipe ("none" with NoWipe).
    /// </summary>
    public static FormatResult Plan(FormatRequest r, CancellationToken ct = default)
    {
        r.Validate();
        if (r.Salt is not null)
            throw new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument,
                "The kernel chooses the salt when it formats; a given salt works only with the userspace formatter.");
        var plan = Formatter.Plan(r, ct);
        return new FormatResult { Volume = plan.Volume, TagInitialization = r.NoWipe ? "none" : KernelWipe, Duration = TimeSpan.Zero, WhatIf = true };
    }

    internal static FormatResult Format(FormatRequest r, IProgress<OperationProgress>? progress, CancellationToken ct, string controlPath)
    {
        var sw = Stopwatch.StartNew();
        var plan = Plan(r, ct);
        int tagSize = plan.Volume.IntegrityTagSize;

        using var dm = DeviceMapperClient.Open(controlPath);
        if (dm.GetTargetVersion(IntegrityTable.TargetType) is null)
            throw new IntegrityVolumeException(ErrorIds.IntegrityTargetUnavailable, ErrorKind.NotSupported,
                "The kernel has no dm-integrity target (load it with 'modprobe dm-integrity').", r.Volume.Path);
        ct.ThrowIfCancellationRequested();

        r.Volume.ThrowIfInUse("refusing to format it");

        bool created = false;
        if (r.CreateSizeBytes is long size && !File.Exists(r.Volume.Path))
        {
            using (var fs = new FileStream(r.Volume.Path, FileMode.CreateNew, FileAccess.Write)) fs.SetLength(size);
            created = true;
        }

        var loops = new List<LoopDevice>();
        var temporary = new List<(string Name, DeviceNumber Dev)>();
        long sbOffset = (long)r.Volume.ReservedSectors * 512;
        bool superblockWritten = false;
        try
        {
            // 1. Refuse a signature on a separate data device too (the plan probed the metadata device), then zero the
            //    superblock area: the kernel formats only over an all-zero area. O_EXCL opens refuse busy devices.
            using (var meta = BlockDevice.Open(r.Volume.Path, write: true))
            using (var data = r.Volume.DataDevicePath is null ? null : BlockDevice.Open(r.Volume.DataDevicePath, write: true))
            {
                if (!created && !r.Force && data is not null && SignatureProbe.Detect(data) is { } sig)
                    throw new IntegrityVolumeException(ErrorIds.ExistingSignature, ErrorKind.ResourceExists,
                        $"{r.Volume.DataDevicePath} holds {sig} data; formatting would destroy it. Use -Force / --force if that is what you want.",
                        r.Volume.DataDevicePath);
                if (meta.Length < sbOffset + Superblock.AreaSize)
                    throw new IntegrityVolumeException(ErrorIds.DeviceTooSmall, ErrorKind.InvalidArgument,
                        $"{r.Volume.Path} is too small for a dm-integrity superblock.", r.Volume.Path);
                meta.Write(sbOffset, new byte[Superblock.AreaSize]);
                meta.Flush();
            }

            // 2. The kernel formats in the constructor of an 8-sector temporary mapping (loaded, never resumed).
            string metaDev = Attach(r.Volume.Path, loops);
            string? dataDev = r.Volume.DataDevicePath is null ? null : Attach(r.Volume.DataDevicePath, loops);
            string parameters = FormatTableParameters(r, tagSize, dataDev ?? metaDev, dataDev is null ? null : metaDev, KeyRendering.Clear);
            string fmtName = TemporaryNamePrefix + Guid.NewGuid().ToString("D");
            var fmt = dm.Create(fmtName, IntegrityMappings.UuidFor(fmtName));
            temporary.Add((fmtName, fmt.Device));
            superblockWritten = true;   // from here on a failure may leave a kernel-written superblock behind
            dm.LoadTable(fmtName, new[] { new DmTarget(0, FormatTableSectors, IntegrityTable.TargetType, parameters) }, secureData: true);
            dm.Remove(fmtName, retries: 10);
            temporary.RemoveAll(t => t.Name == fmtName);

            // 3. Read back what the kernel wrote (past any stale page cache of a block device).
            DropCache(r.Volume.Path);
            var sb = VolumeOperations.ReadSuperblock(r.Volume);

            // 4. Wipe: zeros through a direct-mode mapping of the whole volume; the kernel computes the tags.
            string init = "none";
            if (!r.NoWipe)
            {
                var table = IntegrityTable.ForActivation(sb, metaDev, new IntegrityActivationOptions
                {
                    Algorithm = r.Integrity.Algorithm.KernelName, Key = r.Integrity.Key, Mode = IntegrityMode.Direct,
                    JournalMacAlgorithm = r.JournalIntegrity?.KernelName, JournalMacKey = r.JournalIntegrityKey,
                    // The resume replays the journal in mode D too: an encrypted one needs its cipher (integritysetup's wipe has it).
                    JournalCryptAlgorithm = r.JournalCrypt, JournalCryptKey = r.JournalCryptKey,
                }, dataDev, r.Volume.ReservedSectors);
                string wipeName = TemporaryNamePrefix + Guid.NewGuid().ToString("D");
                var wipe = dm.Create(wipeName, IntegrityMappings.UuidFor(wipeName));
                temporary.Add((wipeName, wipe.Device));
                dm.LoadTable(wipeName, new[] { table.ToTarget() }, secureData: table.HasKeys);
                dm.Resume(wipeName, PrivateCookie());
                string node = DeviceNodes.Ensure(wipeName, wipe.Device);
                WriteZeros(node, (long)sb.ProvidedDataSectors * 512, r.Volume.Path, progress, ct);
                dm.Remove(wipeName, udevCookie: PrivateCookie(), retries: 10);
                temporary.RemoveAll(t => t.Name == wipeName);
                DeviceNodes.Remove(wipeName, wipe.Device);
                init = KernelWipe;
            }
            ReleaseLoops(loops);
            superblockWritten = false;   // formatted: nothing below may undo it
            created = false;
            DropCache(r.Volume.Path);
            if (r.Volume.DataDevicePath is not null) DropCache(r.Volume.DataDevicePath);
            var volume = VolumeOperations.Inspect(r.Volume);
            return new FormatResult { Volume = volume, TagInitialization = init, Duration = sw.Elapsed };
        }
        catch
        {
            foreach (var (name, dev) in temporary)
            {
                try { dm.Remove(name, retries: 10); } catch (IntegrityVolumeException) { }
                try { DeviceNodes.Remove(name, dev); } catch (IntegrityVolumeException) { }
            }
            ReleaseLoops(loops);
            if (created)
            {
                try { File.Delete(r.Volume.Path); } catch (IOException) { }
            }
            else if (superblockWritten)
            {
                // An interrupted format must not look like a valid volume (the userspace formatter's promise).
                try
                {
                    using var meta = BlockDevice.Open(r.Volume.Path, write: true);
                    meta.Write(sbOffset, new byte[Superblock.AreaSize]);
                    meta.Flush();
                }
                catch (IntegrityVolumeException) { }
            }
            throw;
        }
    }

    /// <summary>
    /// The parameters of the 8-sector format table, in integritysetup's order (get_dm_integrity_params):
    /// "&lt;data dev&gt; &lt;offset&gt; &lt;tag size&gt; J &lt;n&gt; [journal_sectors:] [sectors_per_bit:] [interleave_sectors:]
    /// block_size: internal_hash:alg[:zeros] [journal_mac:alg:key] [fix_padding] [fix_hmac] [meta_device:]".
    /// The internal hash gets a zeroed key of the key's length, as integritysetup does (the format touches no data).
    /// </summary>
    internal static string FormatTableParameters(FormatRequest r, int tagSize, string dataDevice, string? metaDevice, KeyRendering keys)
    {
        var args = new List<string>();
        if (r.JournalSizeBytes is long j) args.Add(U("journal_sectors:", (ulong)(j / 512)));
        if (r.BitmapSectorsPerBit is ulong spb) args.Add(U("sectors_per_bit:", spb));
        if (r.InterleaveSectors is ulong il) args.Add(U("interleave_sectors:", il));
        if (r.JournalWatermark is uint wm) args.Add(U("journal_watermark:", wm));
        if (r.CommitTimeMs is uint ct) args.Add(U("commit_time:", ct));
        args.Add(U("block_size:", (ulong)r.SectorSize));
        string alg = r.Integrity.Algorithm.KernelName;
        byte[]? zeroKey = r.Integrity.Key is null ? null : new byte[r.Integrity.Key.Length];
        args.Add("internal_hash:" + new TableAlgorithm(alg, zeroKey).Render(keys));
        if (r.JournalCrypt is not null)
            args.Add("journal_crypt:" + new TableAlgorithm(TableAlgorithm.KernelName(r.JournalCrypt), r.JournalCryptKey?.Borrow()).Render(keys));
        if (r.JournalIntegrity is not null)
            args.Add("journal_mac:" + new TableAlgorithm(r.JournalIntegrity.KernelName, r.JournalIntegrityKey?.Borrow()).Render(keys));
        if (!r.LegacyPadding) args.Add("fix_padding");
        if (!r.LegacyHmac) args.Add("fix_hmac");
        if (metaDevice is not null) args.Add("meta_device:" + metaDevice);
        return string.Create(CultureInfo.InvariantCulture,
            $"{dataDevice} {r.Volume.ReservedSectors} {tagSize} J {args.Count} {string.Join(' ', args)}");
    }

    /// <summary>The format table for a request, devices named as given (a path or major:minor); keys as <paramref name="keys"/>.</summary>
    public static string FormatTable(FormatRequest request, string metadataDevice, string? dataDevice = null, KeyRendering keys = KeyRendering.Zeros)
    {
        int tagSize = request.ResolvedTagSize;
        return $"0 {FormatTableSectors} {IntegrityTable.TargetType} " +
               FormatTableParameters(request, tagSize, dataDevice ?? metadataDevice, dataDevice is null ? null : metadataDevice, keys);
    }

    private static string U(string name, ulong v) => name + v.ToString(CultureInfo.InvariantCulture);

    /// <summary>udev flags of a private temporary device (libcryptsetup's CRYPT_TEMP_UDEV_FLAGS): no rules, no symlinks.</summary>
    private static uint PrivateCookie() => DeviceNodes.UdevRunning
        ? (Dm.UDEV_PRIMARY_SOURCE_FLAG | Dm.UDEV_DISABLE_SUBSYSTEM_RULES_FLAG | Dm.UDEV_DISABLE_DISK_RULES_FLAG |
           Dm.UDEV_DISABLE_OTHER_RULES_FLAG) << (int)Dm.UDEV_FLAGS_SHIFT
        : 0;

    private static string Attach(string path, List<LoopDevice> loops)
    {
        var st = NativeMethods.Stat(path) ?? throw new IntegrityVolumeException(ErrorIds.DeviceNotFound, ErrorKind.NotFound, $"{path}: no such device or file.", path);
        if (st.IsBlockDevice) return new DeviceNumber(st.RdevMajor, st.RdevMinor).ToString();
        var loop = LoopDevice.Attach(path, readOnly: false, autoClear: true);
        loops.Add(loop);
        return loop.Device.ToString();
    }

    /// <summary>Drop our handles (autoclear detaches once the kernel lets go) and make sure the loops are gone.</summary>
    private static void ReleaseLoops(List<LoopDevice> loops)
    {
        foreach (var l in loops)
        {
            l.Dispose();
            string dev = l.Device.ToString();
            for (int i = 0; i < 100 && LoopDevice.GetBackingFile(dev) is not null; i++) Thread.Sleep(20);
            if (LoopDevice.GetBackingFile(dev) is not null)
                try { LoopDevice.DetachDevice(l.Path); } catch (IntegrityVolumeException) { }
        }
        loops.Clear();
    }

    /// <summary>The kernel wrote past our page cache: flush and invalidate a block device's cache (files go through the loop device's, which is shared).</summary>
    private static void DropCache(string path)
    {
        if (NativeMethods.Stat(path) is not { IsBlockDevice: true }) return;
        int fd = NativeMethods.Open(path, NativeMethods.O_RDONLY | NativeMethods.O_CLOEXEC, 0);
        if (fd < 0) return;
        try { NativeMethods.IoctlValue(fd, BLKFLSBUF, 0); }
        finally { NativeMethods.Close(fd); }
    }

    /// <summary>Zeros over the whole mapping in 1 MiB O_DIRECT writes (crypt_wipe), progress on this thread, then fsync.</summary>
    private static unsafe void WriteZeros(string node, long total, string target, IProgress<OperationProgress>? progress, CancellationToken ct)
    {
        const string activity = "Wiping through dm-integrity (the kernel computes the tags)";
        int fd = NativeMethods.Open(node, NativeMethods.O_RDWR | NativeMethods.O_EXCL | NativeMethods.O_CLOEXEC | NativeMethods.O_DIRECT, 0);
        if (fd < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                $"{node}: cannot open the temporary mapping for the wipe: {Marshal.GetPInvokeErrorMessage(e)} (errno {e}).", target);
        }
        void* buffer = NativeMemory.AlignedAlloc(WipeBlockBytes, 4096);
        try
        {
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            var zeros = new ReadOnlySpan<byte>(buffer, WipeBlockBytes);
            new Span<byte>(buffer, WipeBlockBytes).Clear();
            var sw = Stopwatch.StartNew();
            var last = TimeSpan.Zero;
            progress?.Report(new OperationProgress(activity, target, 0, total, sw.Elapsed));
            for (long done = 0; done < total;)
            {
                ct.ThrowIfCancellationRequested();
                int n = (int)Math.Min(WipeBlockBytes, total - done);
                try { RandomAccess.Write(handle, zeros[..n], done); }
                catch (IOException ex)
                {
                    throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                        $"{target}: writing zeros through the kernel failed at byte {done}: {ex.Message}", target, ex);
                }
                done += n;
                if (sw.Elapsed - last >= TimeSpan.FromMilliseconds(250))
                {
                    last = sw.Elapsed;
                    progress?.Report(new OperationProgress(activity, target, done, total, sw.Elapsed));
                }
            }
            if (NativeMethods.Fsync(fd) != 0)
                throw new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError,
                    $"{target}: fsync of the wiped mapping failed ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}).", target);
            progress?.Report(new OperationProgress(activity, target, total, total, sw.Elapsed));
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }
}
