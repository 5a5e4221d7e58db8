namespace IntegrityVolume.Core;

/// <summary>
/// The stable error ids of the engine, every folder's in one catalogue (the front ends add only their own intake
/// failures). Never rename one: scripts match on them. <see cref="ErrorClassifier"/> turns any exception into one.
/// </summary>
public static class ErrorIds
{
    // Superblock validation (kernel rules in dm_integrity_ctr).
    public const string SuperblockBadMagic = "SuperblockBadMagic";
    public const string SuperblockUnknownVersion = "SuperblockUnknownVersion";
    public const string SuperblockBadTagSize = "SuperblockBadTagSize";
    public const string SuperblockBadBlockSize = "SuperblockBadBlockSize";
    public const string SuperblockBadInterleave = "SuperblockBadInterleave";
    /// <summary>A data device given for an interleaved volume, or none for a volume formatted with one (the superblock is fine).</summary>
    public const string DataDeviceMismatch = "DataDeviceMismatch";
    public const string SuperblockBadJournalSections = "SuperblockBadJournalSections";
    public const string SuperblockUnknownFlags = "SuperblockUnknownFlags";
    public const string SuperblockProvidedSectorsTooLarge = "SuperblockProvidedSectorsTooLarge";
    public const string SuperblockBadProvidedSectors = "SuperblockBadProvidedSectors";
    public const string SuperblockMacMismatch = "SuperblockMacMismatch";
    public const string InlineModeNotSupported = "InlineModeNotSupported";

    // Devices and files.
    public const string DeviceNotFound = "DeviceNotFound";
    public const string DeviceTooSmall = "DeviceTooSmall";
    public const string DeviceTruncated = "DeviceTruncated";
    public const string DeviceReadFailed = "DeviceReadFailed";
    public const string DeviceWriteFailed = "DeviceWriteFailed";
    /// <summary>The device is open (mounted, used by a program, a mapping or another writer); exit 5.</summary>
    public const string DeviceInUse = "DeviceInUse";
    public const string DeviceAccessDenied = "DeviceAccessDenied";
    public const string ExistingSignature = "ExistingSignature";
    public const string FileExists = "FileExists";

    // Algorithms and keys.
    public const string UnknownAlgorithm = "UnknownAlgorithm";
    public const string KeyRequired = "KeyRequired";
    public const string KeyNotAllowed = "KeyNotAllowed";
    public const string KeyFileInvalid = "KeyFileInvalid";
    public const string TagSizeMismatch = "TagSizeMismatch";
    public const string AlgorithmMismatch = "AlgorithmMismatch";
    /// <summary>No algorithm given and none detected: every candidate mismatched (damaged tags?), tied evidence, or no evidence (KeyRequired when a key is needed).</summary>
    public const string AlgorithmNotDetected = "AlgorithmNotDetected";
    /// <summary>The running kernel's crypto API has no such algorithm (not in /proc/crypto, no module): it could not open the volume.</summary>
    public const string AlgorithmNotInKernel = "AlgorithmNotInKernel";
    /// <summary>--journal-crypt for a volume whose journal was formatted unencrypted (its commit ids read in plain text).</summary>
    public const string JournalNotEncrypted = "JournalNotEncrypted";

    // Parameters.
    public const string InvalidParameter = "InvalidParameter";
    public const string InvalidSize = "InvalidSize";

    // Journal and state.
    public const string JournalPending = "JournalPending";
    public const string JournalUnreadable = "JournalUnreadable";
    public const string JournalMacMismatch = "JournalMacMismatch";
    public const string VolumeDirty = "VolumeDirty";

    public const string OperationCancelled = "OperationCancelled";

    // Bad paths and last-resort failures (issue 12 defect 8).
    public const string PathIsDirectory = "PathIsDirectory";
    public const string IoError = "IoError";
    public const string InternalError = "InternalError";
    // Writes: bounds, proof of algorithm and key, interrupted writes (issue 12).
    public const string OffsetOutOfRange = "OffsetOutOfRange";
    public const string KeyMismatch = "KeyMismatch";
    public const string WriteInterrupted = "WriteInterrupted";
    /// <summary>A shrink would cut blocks that hold data (non-zero data or a non-zero-block tag); -Force / --force cuts them.</summary>
    public const string ResizeWouldCutData = "ResizeWouldCutData";

    // Kernel: device-mapper, loop devices, device nodes (Kernel/).
    /// <summary>No device-mapper: /dev/mapper/control missing or not a device-mapper node, dm-mod not loaded.</summary>
    public const string DeviceMapperUnavailable = "DeviceMapperUnavailable";
    /// <summary>The caller lacks CAP_SYS_ADMIN (not root).</summary>
    public const string NotRoot = "NotRoot";
    /// <summary>A device-mapper device of that name (or uuid) exists already.</summary>
    public const string MapperNameTaken = "MapperNameTaken";
    /// <summary>No device-mapper device of that name.</summary>
    public const string MapperDeviceNotFound = "MapperDeviceNotFound";
    /// <summary>The name is not usable for a device-mapper device (empty, too long, contains '/').</summary>
    public const string InvalidMapperName = "InvalidMapperName";
    /// <summary>The kernel refused the table (its constructor failed); the message carries errno and the kernel's reason.</summary>
    public const string TableLoadRejected = "TableLoadRejected";
    /// <summary>Any other failing device-mapper ioctl; the message carries the command and errno.</summary>
    public const string DeviceMapperIoctlFailed = "DeviceMapperIoctlFailed";
    /// <summary>The kernel has no dm-integrity target (module missing).</summary>
    public const string IntegrityTargetUnavailable = "IntegrityTargetUnavailable";
    /// <summary>No free loop device, or loop-control missing.</summary>
    public const string LoopDeviceUnavailable = "LoopDeviceUnavailable";
    /// <summary>Attaching or detaching a loop device failed.</summary>
    public const string LoopDeviceFailed = "LoopDeviceFailed";
    /// <summary>The /dev/mapper node could not be created.</summary>
    public const string DeviceNodeFailed = "DeviceNodeFailed";
    /// <summary>The device is not an active dm-integrity mapping (other target type).</summary>
    public const string NotAnIntegrityDevice = "NotAnIntegrityDevice";

    // /etc/integritytab (Boot/).
    /// <summary>A line with a volume name but no device (systemd's generator skips it).</summary>
    public const string IntegrityTabTooFewFields = "IntegrityTabTooFewFields";
    /// <summary>More than four fields; systemd ignores the rest (a warning).</summary>
    public const string IntegrityTabExtraFields = "IntegrityTabExtraFields";
    /// <summary>Not a usable volume name: empty, '.', '..', contains '/', whitespace or control characters, longer than 127 bytes, starts with '#'.</summary>
    public const string IntegrityTabInvalidName = "IntegrityTabInvalidName";
    /// <summary>The device is neither an absolute path nor UUID=, PARTUUID=, LABEL=, PARTLABEL= with a value.</summary>
    public const string IntegrityTabInvalidDevice = "IntegrityTabInvalidDevice";
    /// <summary>The key file is not an absolute path (or, when checked, is empty or larger than 4096 bytes).</summary>
    public const string IntegrityTabInvalidKeyFile = "IntegrityTabInvalidKeyFile";
    /// <summary>A known option with a bad value: mode=, journal-watermark=, journal-commit-time=, data-device=.</summary>
    public const string IntegrityTabInvalidOption = "IntegrityTabInvalidOption";
    /// <summary>An option systemd does not know; it logs a warning and ignores it (a warning here too).</summary>
    public const string IntegrityTabUnknownOption = "IntegrityTabUnknownOption";
    /// <summary>integrity-algorithm= names an algorithm systemd-integritysetup does not accept.</summary>
    public const string IntegrityTabUnknownAlgorithm = "IntegrityTabUnknownAlgorithm";
    /// <summary>A keyed algorithm without a key file, or a key file with an algorithm that takes no key.</summary>
    public const string IntegrityTabKeyMismatch = "IntegrityTabKeyMismatch";
    /// <summary>Two lines for one volume name: the generator refuses the second unit file.</summary>
    public const string IntegrityTabDuplicateName = "IntegrityTabDuplicateName";
    /// <summary>The file could not be read.</summary>
    public const string IntegrityTabReadFailed = "IntegrityTabReadFailed";
    /// <summary>The file could not be written (temporary file, rename).</summary>
    public const string IntegrityTabWriteFailed = "IntegrityTabWriteFailed";

    // Repair (Operations/Repairer.cs).
    /// <summary>The copy holds fewer sectors than the volume's logical content needs at the given offset.</summary>
    public const string RepairSourceTooSmall = "RepairSourceTooSmall";
    /// <summary>The copy cannot carry the same logical data: another block size, the volume itself, an unaligned offset.</summary>
    public const string RepairSourceMismatch = "RepairSourceMismatch";
    /// <summary>An active mapping that cannot be repaired through the kernel: read-only, recovery mode, tags from the layer above.</summary>
    public const string OnlineRepairRefused = "OnlineRepairRefused";

    // LUKS2 authenticated encryption (cryptsetup luksFormat --integrity): dm-integrity under dm-crypt.
    /// <summary>A LUKS2 header whose copies are both invalid (magic, version, sizes, checksum) or whose JSON has no usable crypt segment.</summary>
    public const string Luks2HeaderInvalid = "Luks2HeaderInvalid";
    /// <summary>A LUKS device without integrity (LUKS1, or a LUKS2 crypt segment without an "integrity" object): no dm-integrity superblock.</summary>
    public const string LuksWithoutIntegrity = "LuksWithoutIntegrity";
    /// <summary>The tags are dm-crypt's (AEAD/HMAC with the volume key): nothing can check or write them offline; verify through the crypt mapping.</summary>
    public const string TagsFromCryptLayer = "TagsFromCryptLayer";

    // Bad block → file (FileSystems/): the file system's own tools answer.
    /// <summary>No ext2/3/4 or xfs superblock at the start of the device (unknown, unsupported or damaged file system).</summary>
    public const string FileSystemNotRecognized = "FileSystemNotRecognized";
    /// <summary>The tool that reads this file system is not installed: debugfs (e2fsprogs) or xfs_db (xfsprogs).</summary>
    public const string FileSystemToolMissing = "FileSystemToolMissing";
    /// <summary>debugfs/xfs_db failed, timed out, or printed nothing usable; the message carries its words.</summary>
    public const string FileSystemToolFailed = "FileSystemToolFailed";

    // md arrays over integrity legs (Arrays/).
    /// <summary>No md array of that name: no /dev/mdN, /dev/md/NAME or mdN in sysfs.</summary>
    public const string ArrayNotFound = "ArrayNotFound";
    /// <summary>The device exists but is not an md array (no /sys/block/X/md).</summary>
    public const string NotAnMdArray = "NotAnMdArray";
    /// <summary>A sync, recovery, reshape or check already runs (sync_action not idle): a scrub is not started, a leg not replaced; exit 5.</summary>
    public const string ArrayBusy = "ArrayBusy";
    /// <summary>The array cannot be scrubbed: no redundancy (raid0, linear), not active, or md refused the request.</summary>
    public const string ArrayScrubRefused = "ArrayScrubRefused";
    // Bad block → file through a stack (Arrays/MdGeometry.cs, FileSystems/StackLocator.cs).
    /// <summary>The leg is not an active member (with a raid slot) of an md array, or the array holds it as a spare/faulty member.</summary>
    public const string NotAnArrayMember = "NotAnArrayMember";
    /// <summary>The array's level or layout is one we do not map (raid0, linear, raid10 far/offset, DDF layouts, a reshape under way),
    /// or a layer above it is neither dm-crypt nor linear.</summary>
    public const string ArrayLayoutNotSupported = "ArrayLayoutNotSupported";
    // Replacing a leg of an md array (Arrays/ArrayLegReplace.cs).
    /// <summary>The leg to replace is no member of the array (nor a missing one: the array is not degraded), or it is a spare.</summary>
    public const string LegNotInArray = "LegNotInArray";
    /// <summary>The array cannot take a new leg: no redundancy (raid0, linear), not running read-write, or more legs lost than it tolerates.</summary>
    public const string ArrayReplaceRefused = "ArrayReplaceRefused";
    /// <summary>The new leg cannot be formatted like the others: no dm-integrity leg left to read the parameters from, or
    /// a key (hmac tags, journal MAC or encryption) that the kernel does not give back.</summary>
    public const string LegParametersUnknown = "LegParametersUnknown";
    /// <summary>The new device, formatted like the other legs, provides fewer sectors than md's data offset plus component size.</summary>
    public const string ReplacementTooSmall = "ReplacementTooSmall";
    // Creating, opening and closing an array over integrity legs (Arrays/ArrayCreate.cs, ArrayClose.cs).
    /// <summary>The array cannot be created as asked: too few devices for the level, a device given twice, the md name or a leg name taken, a chunk for raid1.</summary>
    public const string ArrayCreateRefused = "ArrayCreateRefused";
    /// <summary>The md array (or something above it) is mounted, held (holders/ in sysfs) or open: it is not stopped; exit 5.</summary>
    public const string ArrayInUse = "ArrayInUse";
    /// <summary>The mdadm.conf named for the array's ARRAY line could not be written (temporary file, rename); the array is undone.</summary>
    public const string MdadmConfWriteFailed = "MdadmConfWriteFailed";
    // mdadm itself (every array operation runs the real mdadm through ToolProcess).
    /// <summary>mdadm is not installed or could not be started (Debian/Ubuntu: apt-get install mdadm).</summary>
    public const string MdadmMissing = "MdadmMissing";
    /// <summary>mdadm refused or failed a step (--create, --assemble, --stop, --detail, --replace, --add; its words in the message) or timed out, or a new leg failed / was dropped during recovery.</summary>
    public const string MdadmFailed = "MdadmFailed";
    // LUKS2 on top of an array (Arrays/ArrayCrypt.cs): the real cryptsetup formats, opens and closes the crypt layer.
    /// <summary>cryptsetup is not installed or could not be started (Debian/Ubuntu: apt-get install cryptsetup-bin).</summary>
    public const string CryptsetupMissing = "CryptsetupMissing";
    /// <summary>cryptsetup refused or failed a step (luksFormat, open, close, luksUUID; its words in the message) or timed out; a wrong key is this too.</summary>
    public const string CryptsetupFailed = "CryptsetupFailed";
    /// <summary>The crypttab named for the crypt layer's line could not be written (temporary file, rename); the array is undone.</summary>
    public const string CrypttabWriteFailed = "CrypttabWriteFailed";
}
