using System.Runtime.InteropServices;
using System.Text;
using IntegrityVolume.Core.Devices;

namespace IntegrityVolume.Core.Kernel;

/// <summary>
/// A client of the kernel's device-mapper control interface (/dev/mapper/control ioctls, interface version 4),
/// without libdevmapper or dmsetup. Needs CAP_SYS_ADMIN. Not thread-safe; cheap to open.
/// </summary>
public sealed unsafe class DeviceMapperClient : IDisposable
{
    public const string DefaultControlPath = "/dev/mapper/control";
    private const int MinOutputBuffer = 16 * 1024;
    private const int MaxOutputBuffer = 64 * 1024 * 1024;

    private int _fd;

    private DeviceMapperClient(int fd, string controlPath, DmVersion version)
    {
        _fd = fd;
        ControlPath = controlPath;
        DriverVersion = version;
    }

    public string ControlPath { get; }
    /// <summary>The driver's interface version from the DM_VERSION handshake (e.g. 4.47.0).</summary>
    public DmVersion DriverVersion { get; }

    /// <summary>
    /// Open the control node and do the version handshake. Throws <see cref="ErrorIds.DeviceMapperUnavailable"/>
    /// when there is no device-mapper, <see cref="ErrorIds.NotRoot"/> without the privilege.
    /// </summary>
    public static DeviceMapperClient Open(string controlPath = DefaultControlPath)
    {
        if (!OperatingSystem.IsLinux())
            throw Unavailable(controlPath, "device-mapper exists only on Linux.");
        if (controlPath == DefaultControlPath && NativeMethods.Stat(controlPath) is null)
            TryCreateControlNode(controlPath);
        var st = NativeMethods.Stat(controlPath);
        if (st is null)
            throw Unavailable(controlPath, $"{controlPath} does not exist: the kernel has no device-mapper (load it with 'modprobe dm-mod').");
        if (!st.Value.IsCharDevice)
            throw Unavailable(controlPath, $"{controlPath} is not a device-mapper control node.");
        int fd = NativeMethods.Open(controlPath, NativeMethods.O_RDWR | NativeMethods.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int e = NativeMethods.Errno;
            if (e is NativeMethods.EACCES or NativeMethods.EPERM) throw NotRoot(controlPath, e);
            throw Unavailable(controlPath, $"cannot open {controlPath}: {NativeMethods.ErrorText(e)} (is dm-mod loaded?).");
        }
        try
        {
            var h = NewHeader(DmIoctlHeader.Size);
            int r = NativeMethods.Ioctl(fd, Dm.Command(Dm.VERSION), &h);
            if (r < 0)
            {
                int e = NativeMethods.Errno;
                if (e is NativeMethods.EACCES or NativeMethods.EPERM) throw NotRoot(controlPath, e);
                throw Unavailable(controlPath, $"{controlPath} does not answer the device-mapper version handshake: {NativeMethods.ErrorText(e)}.");
            }
            var v = new DmVersion(h.Version[0], h.Version[1], h.Version[2]);
            if (v.Major != Dm.VersionMajor)
                throw Unavailable(controlPath, $"unsupported device-mapper interface version {v} (need 4.x).");
            return new DeviceMapperClient(fd, controlPath, v);
        }
        catch
        {
            NativeMethods.Close(fd);
            throw;
        }
    }

    /// <summary>True when a device-mapper control node is present (no privilege needed to ask).</summary>
    public static bool IsAvailable(string controlPath = DefaultControlPath) =>
        NativeMethods.Stat(controlPath) is { IsCharDevice: true } || File.Exists("/sys/class/misc/device-mapper/dev");

    // libdevmapper creates the control node when it is missing but the misc device is registered.
    private static void TryCreateControlNode(string path)
    {
        try
        {
            const string sys = "/sys/class/misc/device-mapper/dev";
            if (!File.Exists(sys) || !DeviceNumber.TryParse(File.ReadAllText(sys).Trim(), out var d)) return;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            NativeMethods.Mknod(path, NativeMethods.S_IFCHR | 0x180, d.Major, d.Minor);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        if (_fd >= 0) { NativeMethods.Close(_fd); _fd = -1; }
    }

    // ------------------------------------------------------------------ queries

    /// <summary>Loaded target types (dmsetup targets). Targets of unloaded modules are not listed.</summary>
    public IReadOnlyList<DmTargetVersion> ListTargetVersions()
    {
        var reply = Call(Dm.LIST_VERSIONS, null, 0, MinOutputBuffer, growOnFull: true)!;
        return ParseTargetVersions(reply.Payload);
    }

    /// <summary>
    /// Version of one target type; the kernel loads its module on demand (DM_GET_TARGET_VERSION, interface 4.41+,
    /// else the list). Null when the kernel has no such target.
    /// </summary>
    public DmTargetVersion? GetTargetVersion(string targetType)
    {
        if (DriverVersion >= new DmVersion(4, 41, 0))
        {
            byte[] name = Encoding.ASCII.GetBytes(targetType + "\0");
            try
            {
                var reply = Call(Dm.GET_TARGET_VERSION, null, 0, DmIoctlHeader.Size + 256,
                    payload: name, growOnFull: true, errorMap: e => e == NativeMethods.EINVAL ? null : DefaultError(Dm.GET_TARGET_VERSION, targetType, e));
                if (reply is not null)
                    return ParseTargetVersions(reply.Payload).FirstOrDefault(t => t.Name == targetType);
            }
            catch (IntegrityVolumeException ex) when (ex.ErrorId == ErrorIds.DeviceMapperIoctlFailed) { }
        }
        return ListTargetVersions().FirstOrDefault(t => t.Name == targetType);
    }

    /// <summary>All device-mapper devices (dmsetup ls), with uuids where the kernel reports them (4.46+).</summary>
    public IReadOnlyList<DmDeviceInfo> ListDevices()
    {
        var reply = Call(Dm.LIST_DEVICES, null, Dm.UUID_FLAG, MinOutputBuffer, growOnFull: true)!;
        var list = new List<DmDeviceInfo>();
        byte[] p = reply.Payload;
        int pos = 0;
        while (pos + 12 <= p.Length)
        {
            ulong dev = BitConverter.ToUInt64(p, pos);
            uint next = BitConverter.ToUInt32(p, pos + 8);
            if (dev == 0 && list.Count == 0 && next == 0) break;   // "no devices"
            int end = next == 0 ? p.Length : Math.Min(p.Length, pos + (int)next);
            int nameStart = pos + 12;
            int nameEnd = Array.IndexOf(p, (byte)0, nameStart, Math.Max(0, end - nameStart));
            if (nameEnd < 0) nameEnd = end;
            string name = Encoding.UTF8.GetString(p, nameStart, nameEnd - nameStart);
            string? uuid = null;
            uint eventNr = 0;
            int extra = Align8(nameEnd + 1);
            if (extra + 8 <= end)
            {
                eventNr = BitConverter.ToUInt32(p, extra);
                uint flags = BitConverter.ToUInt32(p, extra + 4);
                if ((flags & Dm.NAME_LIST_FLAG_HAS_UUID) != 0 && extra + 8 < end)
                {
                    int us = extra + 8;
                    int ue = Array.IndexOf(p, (byte)0, us, end - us);
                    if (ue > us) uuid = Encoding.UTF8.GetString(p, us, ue - us);
                }
            }
            list.Add(new DmDeviceInfo { Name = name, Uuid = uuid, Device = DeviceNumber.Decode(dev), EventNumber = eventNr });
            if (next == 0) break;
            pos += (int)next;
        }
        return list;
    }

    /// <summary>State of one device (dmsetup info); null when there is no device of that name.</summary>
    public DmDeviceInfo? GetInfo(string name)
    {
        ValidateName(name);
        var reply = Call(Dm.DEV_STATUS, name, 0, DmIoctlHeader.Size, errorMap: e => e == NativeMethods.ENXIO ? null : DefaultError(Dm.DEV_STATUS, name, e));
        return reply is null ? null : InfoFrom(reply.Header);
    }

    /// <summary>The live table (dmsetup table). Keys are zeroed unless <paramref name="showKeys"/> (dmsetup --showkeys).</summary>
    public IReadOnlyList<DmTarget> GetTable(string name, bool showKeys = false, bool inactive = false)
    {
        var targets = TableStatus(name, Dm.STATUS_TABLE_FLAG | Dm.SECURE_DATA_FLAG | (inactive ? Dm.QUERY_INACTIVE_TABLE_FLAG : 0));
        return showKeys ? targets : targets.Select(t => t with { Parameters = TableKeys.Mask(t.TargetType, t.Parameters) }).ToList();
    }

    /// <summary>The targets' runtime status (dmsetup status).</summary>
    public IReadOnlyList<DmTarget> GetStatus(string name, bool noFlush = false) =>
        TableStatus(name, noFlush ? Dm.NOFLUSH_FLAG : 0);

    private List<DmTarget> TableStatus(string name, uint flags)
    {
        ValidateName(name);
        var reply = Call(Dm.TABLE_STATUS, name, flags, MinOutputBuffer, growOnFull: true, errorMap: e => e == NativeMethods.ENXIO
            ? new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name)
            : DefaultError(Dm.TABLE_STATUS, name, e))!;
        try
        {
            var list = new List<DmTarget>();
            byte[] p = reply.Payload;
            int pos = 0;
            for (uint i = 0; i < reply.Header.TargetCount && pos + DmTargetSpec.Size <= p.Length; i++)
            {
                ulong start = BitConverter.ToUInt64(p, pos), length = BitConverter.ToUInt64(p, pos + 8);
                uint next = BitConverter.ToUInt32(p, pos + 20);
                string type = CString(p, pos + 24, DmTargetSpec.TypeLength);
                int ps = pos + DmTargetSpec.Size;
                int pe = Array.IndexOf(p, (byte)0, ps);
                if (pe < 0) pe = p.Length;
                list.Add(new DmTarget(start, length, type, Encoding.UTF8.GetString(p, ps, pe - ps)));
                if (next <= pos) break;
                pos = (int)next;   // offset from the first spec
            }
            return list;
        }
        finally
        {
            Array.Clear(reply.Payload);
        }
    }

    // ------------------------------------------------------------------ changes

    /// <summary>DM_DEV_CREATE: a new device with no table (suspended). Throws MapperNameTaken when the name or uuid exists.</summary>
    public DmDeviceInfo Create(string name, string? uuid = null)
    {
        ValidateName(name);
        if (uuid is not null && (Encoding.UTF8.GetByteCount(uuid) >= DmIoctlHeader.UuidLength || uuid.Length == 0))
            throw new IntegrityVolumeException(ErrorIds.InvalidMapperName, ErrorKind.InvalidArgument, $"Invalid device-mapper uuid '{uuid}'.", name);
        var reply = Call(Dm.DEV_CREATE, name, 0, DmIoctlHeader.Size, uuid: uuid, errorMap: e => e switch
        {
            NativeMethods.EEXIST or NativeMethods.EBUSY => new IntegrityVolumeException(ErrorIds.MapperNameTaken, ErrorKind.ResourceExists,
                $"A device-mapper device named '{name}'{(uuid is null ? "" : $" or with uuid {uuid}")} already exists.", name),
            _ => DefaultError(Dm.DEV_CREATE, name, e),
        })!;
        return InfoFrom(reply.Header);
    }

    /// <summary>
    /// DM_TABLE_LOAD into the inactive slot. The target constructors run here (dm-integrity formats an all-zero
    /// superblock area at this point). A refusal throws TableLoadRejected with errno and the kernel's log line.
    /// </summary>
    public DmDeviceInfo LoadTable(string name, IReadOnlyList<DmTarget> targets, bool readOnly = false, bool secureData = false)
    {
        ValidateName(name);
        if (targets.Count == 0) throw new ArgumentException("A table needs at least one target.", nameof(targets));
        // Payload: specs back to back, each followed by its NUL-terminated params padded to 8 bytes.
        var parts = targets.Select(t => Encoding.UTF8.GetBytes(t.Parameters)).ToArray();
        int size = 0;
        for (int i = 0; i < parts.Length; i++) size += DmTargetSpec.Size + Align8(parts[i].Length + 1);
        var payload = new byte[size];
        try
        {
            int pos = 0;
            for (int i = 0; i < targets.Count; i++)
            {
                var t = targets[i];
                byte[] type = Encoding.ASCII.GetBytes(t.TargetType);
                if (type.Length >= DmTargetSpec.TypeLength) throw new ArgumentException($"Target type '{t.TargetType}' is too long.");
                int entry = DmTargetSpec.Size + Align8(parts[i].Length + 1);
                BitConverter.TryWriteBytes(payload.AsSpan(pos), t.Start);
                BitConverter.TryWriteBytes(payload.AsSpan(pos + 8), t.Length);
                BitConverter.TryWriteBytes(payload.AsSpan(pos + 20), i == targets.Count - 1 ? 0u : (uint)entry);
                type.CopyTo(payload, pos + 24);
                parts[i].CopyTo(payload, pos + DmTargetSpec.Size);
                pos += entry;
            }
            using var log = KernelLogTail.Open();
            uint flags = (readOnly ? Dm.READONLY_FLAG : 0) | (secureData ? Dm.SECURE_DATA_FLAG : 0);
            var reply = Call(Dm.TABLE_LOAD, name, flags, DmIoctlHeader.Size + payload.Length, payload: payload,
                targetCount: (uint)targets.Count, errorMap: e => e switch
                {
                    NativeMethods.ENXIO => new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name),
                    NativeMethods.EACCES or NativeMethods.EPERM => NotRoot(name, e),
                    _ => TableRejected(name, targets, e, log),
                })!;
            return InfoFrom(reply.Header);
        }
        finally
        {
            CryptoZero(payload);
            foreach (var p in parts) CryptoZero(p);
        }
    }

    /// <summary>DM_DEV_SUSPEND without the suspend flag: make the inactive table live (journal replay happens here).</summary>
    public DmDeviceInfo Resume(string name, uint udevCookie = 0)
    {
        ValidateName(name);
        var reply = Call(Dm.DEV_SUSPEND, name, 0, DmIoctlHeader.Size, eventNr: udevCookie, errorMap: e => e == NativeMethods.ENXIO
            ? new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name)
            : DefaultError(Dm.DEV_SUSPEND, name, e))!;
        return InfoFrom(reply.Header);
    }

    /// <summary>DM_DEV_SUSPEND with the suspend flag (optionally without flushing / freezing the file system).</summary>
    public DmDeviceInfo Suspend(string name, bool noFlush = false, bool skipLockfs = false)
    {
        ValidateName(name);
        uint flags = Dm.SUSPEND_FLAG | (noFlush ? Dm.NOFLUSH_FLAG : 0) | (skipLockfs ? Dm.SKIP_LOCKFS_FLAG : 0);
        var reply = Call(Dm.DEV_SUSPEND, name, flags, DmIoctlHeader.Size, errorMap: e => e == NativeMethods.ENXIO
            ? new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name)
            : DefaultError(Dm.DEV_SUSPEND, name, e))!;
        return InfoFrom(reply.Header);
    }

    /// <summary>
    /// Reload a live device with a new table (dmsetup reload + suspend + resume, as libdevmapper's reload does): load
    /// into the inactive slot, suspend (the old table's postsuspend runs: dm-integrity flushes and syncs), resume (the new
    /// table's resume runs: dm-integrity writes the superblock when provided_data_sectors changed). If the suspend fails
    /// the inactive table is dropped and the old one keeps running; if the resume fails the device stays suspended.
    /// </summary>
    public DmDeviceInfo Reload(string name, IReadOnlyList<DmTarget> targets, bool readOnly = false, bool secureData = false,
        bool noFlush = false, bool skipLockfs = false, uint udevCookie = 0)
    {
        LoadTable(name, targets, readOnly, secureData);
        try { Suspend(name, noFlush, skipLockfs); }
        catch
        {
            try { ClearInactiveTable(name); } catch (IntegrityVolumeException) { }
            throw;
        }
        return Resume(name, udevCookie);
    }

    /// <summary>DM_TABLE_CLEAR: drop the inactive table.</summary>
    public void ClearInactiveTable(string name)
    {
        ValidateName(name);
        Call(Dm.TABLE_CLEAR, name, 0, DmIoctlHeader.Size);
    }

    /// <summary>
    /// DM_DEV_REMOVE. With <paramref name="deferred"/> an open device is removed when its last user closes it.
    /// A device that stays busy throws DeviceInUse (after a few short retries: udev's blkid often holds it briefly).
    /// </summary>
    public DmDeviceInfo Remove(string name, bool deferred = false, uint udevCookie = 0, int retries = 5)
    {
        ValidateName(name);
        for (int attempt = 0; ; attempt++)
        {
            bool busy = false;
            var reply = Call(Dm.DEV_REMOVE, name, deferred ? Dm.DEFERRED_REMOVE : 0, DmIoctlHeader.Size, eventNr: udevCookie, errorMap: e =>
            {
                if (e == NativeMethods.EBUSY && !deferred && attempt < retries) { busy = true; return null; }
                return e switch
                {
                    NativeMethods.ENXIO => new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name),
                    NativeMethods.EBUSY => new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
                        $"'{name}' is in use (mounted, open by a program, or under another mapping); close it first or use --deferred.", name),
                    _ => DefaultError(Dm.DEV_REMOVE, name, e),
                };
            });
            if (!busy) return InfoFrom(reply!.Header);
            Thread.Sleep(200);
        }
    }

    /// <summary>
    /// DM_TARGET_MSG (dmsetup message): a struct dm_target_msg (LE64 sector, NUL-terminated text). Messages starting
    /// with '@' go to device-mapper itself (@cancel_deferred_remove), the rest to the target at that sector.
    /// </summary>
    public void SendMessage(string name, ulong sector, string message)
    {
        ValidateName(name);
        byte[] text = Encoding.UTF8.GetBytes(message);
        var payload = new byte[Align8(8 + text.Length + 1)];
        BitConverter.TryWriteBytes(payload.AsSpan(0), sector);
        text.CopyTo(payload, 8);
        Call(Dm.TARGET_MSG, name, 0, DmIoctlHeader.Size + payload.Length, payload: payload, errorMap: e => e switch
        {
            NativeMethods.ENXIO => new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound, $"No device-mapper device named '{name}'.", name),
            _ => DefaultError(Dm.TARGET_MSG, name, e),
        });
    }

    // ------------------------------------------------------------------ plumbing

    private sealed class Reply
    {
        public DmIoctlHeader Header;
        public byte[] Payload = Array.Empty<byte>();
    }

    private static DmIoctlHeader NewHeader(int dataSize)
    {
        var h = new DmIoctlHeader();
        h.Version[0] = Dm.VersionMajor;
        h.Version[1] = 0;
        h.Version[2] = 0;
        h.DataSize = (uint)dataSize;
        h.DataStart = DmIoctlHeader.Size;
        return h;
    }

    /// <summary>
    /// One ioctl. Returns null when <paramref name="errorMap"/> maps the errno to null (the "absent" answer);
    /// throws what it maps to otherwise. Retries with a larger buffer while the kernel sets DM_BUFFER_FULL_FLAG.
    /// </summary>
    private Reply? Call(uint cmd, string? name, uint flags, int bufferSize, byte[]? payload = null, string? uuid = null,
        uint targetCount = 0, uint eventNr = 0, bool growOnFull = false, Func<int, Exception?>? errorMap = null)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int size = Math.Max(bufferSize, DmIoctlHeader.Size + (payload?.Length ?? 0));
        while (true)
        {
            byte* buf = (byte*)NativeMemory.AllocZeroed((nuint)size);
            try
            {
                var h = (DmIoctlHeader*)buf;
                *h = NewHeader(size);
                h->Flags = flags;
                h->TargetCount = targetCount;
                h->EventNr = eventNr;
                if (name is not null) WriteCString(h->Name, DmIoctlHeader.NameLength, name);
                if (uuid is not null) WriteCString(h->Uuid, DmIoctlHeader.UuidLength, uuid);
                if (payload is not null) payload.CopyTo(new Span<byte>(buf + DmIoctlHeader.Size, payload.Length));

                int r = NativeMethods.Ioctl(_fd, Dm.Command(cmd), buf);
                if (r < 0)
                {
                    int e = NativeMethods.Errno;
                    var ex = errorMap is null ? DefaultError(cmd, name, e) : errorMap(e);
                    if (ex is null) return null;
                    throw ex;
                }
                if (growOnFull && (h->Flags & Dm.BUFFER_FULL_FLAG) != 0)
                {
                    if (size >= MaxOutputBuffer)
                        throw new IntegrityVolumeException(ErrorIds.DeviceMapperIoctlFailed, ErrorKind.DeviceError,
                            $"{Dm.CommandName(cmd)}: the kernel's answer does not fit in {MaxOutputBuffer} bytes.", name);
                    size *= 2;
                    continue;
                }
                var reply = new Reply { Header = *h };
                uint start = h->DataStart, end = Math.Min(h->DataSize, (uint)size);
                if (end > start) reply.Payload = new ReadOnlySpan<byte>(buf + start, (int)(end - start)).ToArray();
                return reply;
            }
            finally
            {
                new Span<byte>(buf, size).Clear();   // tables may hold keys
                NativeMemory.Free(buf);
            }
        }
    }

    private static void WriteCString(byte* dest, int capacity, string value)
    {
        byte[] b = Encoding.UTF8.GetBytes(value);
        if (b.Length >= capacity) throw new ArgumentException($"'{value}' is longer than {capacity - 1} bytes.");
        b.CopyTo(new Span<byte>(dest, capacity));
    }

    private static string CString(byte[] p, int offset, int max)
    {
        int end = Array.IndexOf(p, (byte)0, offset, Math.Min(max, p.Length - offset));
        return Encoding.ASCII.GetString(p, offset, (end < 0 ? Math.Min(max, p.Length - offset) : end - offset));
    }

    private static string CString(byte* p, int max)
    {
        var span = new ReadOnlySpan<byte>(p, max);
        int end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    private static DmDeviceInfo InfoFrom(DmIoctlHeader h)
    {
        string name = CString(h.Name, DmIoctlHeader.NameLength);
        string uuid = CString(h.Uuid, DmIoctlHeader.UuidLength);
        return new DmDeviceInfo
        {
            Name = name,
            Uuid = uuid.Length == 0 ? null : uuid,
            Device = DeviceNumber.Decode(h.Dev),
            OpenCount = h.OpenCount,
            TargetCount = h.TargetCount,
            EventNumber = h.EventNr,
            Suspended = (h.Flags & Dm.SUSPEND_FLAG) != 0,
            ReadOnly = (h.Flags & Dm.READONLY_FLAG) != 0,
            LiveTablePresent = (h.Flags & Dm.ACTIVE_PRESENT_FLAG) != 0,
            InactiveTablePresent = (h.Flags & Dm.INACTIVE_PRESENT_FLAG) != 0,
            UeventGenerated = (h.Flags & Dm.UEVENT_GENERATED_FLAG) != 0,
            DeferredRemovePending = (h.Flags & Dm.DEFERRED_REMOVE) != 0,
        };
    }

    private static List<DmTargetVersion> ParseTargetVersions(byte[] p)
    {
        var list = new List<DmTargetVersion>();
        int pos = 0;
        while (pos + 16 <= p.Length)
        {
            uint next = BitConverter.ToUInt32(p, pos);
            var v = new DmVersion(BitConverter.ToUInt32(p, pos + 4), BitConverter.ToUInt32(p, pos + 8), BitConverter.ToUInt32(p, pos + 12));
            string name = CString(p, pos + 16, p.Length - pos - 16);
            if (name.Length > 0) list.Add(new DmTargetVersion(name, v));
            if (next == 0) break;
            pos += (int)next;
        }
        return list;
    }

    /// <summary>Device-mapper names: 1 to 127 bytes, no '/', not '.' or '..', no control characters.</summary>
    public static void ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name is "." or ".." ||
            Encoding.UTF8.GetByteCount(name) >= DmIoctlHeader.NameLength || name.Any(char.IsControl))
            throw new IntegrityVolumeException(ErrorIds.InvalidMapperName, ErrorKind.InvalidArgument,
                $"'{name}' is not a valid device-mapper name (1 to 127 bytes, no '/', not '.' or '..').", name);
    }

    private static int Align8(int n) => (n + 7) & ~7;

    private static void CryptoZero(byte[] b) => System.Security.Cryptography.CryptographicOperations.ZeroMemory(b);

    private static IntegrityVolumeException Unavailable(string path, string message) =>
        new(ErrorIds.DeviceMapperUnavailable, ErrorKind.NotSupported, $"Device-mapper is not available: {message}", path);

    private static IntegrityVolumeException NotRoot(string target, int errno) =>
        new(ErrorIds.NotRoot, ErrorKind.PermissionDenied,
            $"Device-mapper needs root (CAP_SYS_ADMIN): {NativeMethods.ErrorText(errno)} (errno {errno}).", target);

    private static IntegrityVolumeException DefaultError(uint cmd, string? name, int errno) => errno switch
    {
        NativeMethods.EACCES or NativeMethods.EPERM => NotRoot(name ?? DefaultControlPath, errno),
        NativeMethods.EBUSY => new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy,
            $"{Dm.CommandName(cmd)} {name}: device busy.", name),
        NativeMethods.ENXIO => new IntegrityVolumeException(ErrorIds.MapperDeviceNotFound, ErrorKind.NotFound,
            $"No device-mapper device named '{name}'.", name),
        _ => new IntegrityVolumeException(ErrorIds.DeviceMapperIoctlFailed, ErrorKind.DeviceError,
            $"{Dm.CommandName(cmd)}{(name is null ? "" : " " + name)} failed: {NativeMethods.ErrorText(errno)} (errno {errno}).", name),
    };

    private static IntegrityVolumeException TableRejected(string name, IReadOnlyList<DmTarget> targets, int errno, KernelLogTail log)
    {
        string? reason = log.LastTableError();
        string types = string.Join(",", targets.Select(t => t.TargetType).Distinct());
        return new IntegrityVolumeException(ErrorIds.TableLoadRejected, ErrorKind.InvalidArgument,
            $"The kernel rejected the {types} table for '{name}': {NativeMethods.ErrorText(errno)} (errno {errno})" +
            (reason is null ? "; see the kernel log (dmesg) for the reason." : $"; kernel: {reason}"), name);
    }
}
