namespace IntegrityVolume.Core.Kernel;

/// <summary>The device-mapper driver's interface version (4.x.y).</summary>
public readonly record struct DmVersion(uint Major, uint Minor, uint Patch) : IComparable<DmVersion>
{
    public override string ToString() => $"{Major}.{Minor}.{Patch}";
    public int CompareTo(DmVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major) : Minor != other.Minor ? Minor.CompareTo(other.Minor) : Patch.CompareTo(other.Patch);
    public static bool operator >=(DmVersion a, DmVersion b) => a.CompareTo(b) >= 0;
    public static bool operator <=(DmVersion a, DmVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >(DmVersion a, DmVersion b) => a.CompareTo(b) > 0;
    public static bool operator <(DmVersion a, DmVersion b) => a.CompareTo(b) < 0;
}

/// <summary>A target type the kernel has loaded (dmsetup targets).</summary>
public sealed record DmTargetVersion(string Name, DmVersion Version);

/// <summary>One device-mapper device (dmsetup info).</summary>
public sealed record DmDeviceInfo
{
    public required string Name { get; init; }
    public string? Uuid { get; init; }
    public required DeviceNumber Device { get; init; }
    public int OpenCount { get; init; }
    public uint TargetCount { get; init; }
    public uint EventNumber { get; init; }
    public bool Suspended { get; init; }
    public bool ReadOnly { get; init; }
    public bool LiveTablePresent { get; init; }
    public bool InactiveTablePresent { get; init; }
    /// <summary>The kernel generated a uevent for this operation (udev will act on it).</summary>
    internal bool UeventGenerated { get; init; }
    /// <summary>A deferred removal is pending (removed on last close unless cancelled).</summary>
    public bool DeferredRemovePending { get; init; }
    public string NodePath => DeviceNodes.MapperPath(Name);
}

/// <summary>One line of a table or status: start and length in 512-byte sectors, target type, parameters.</summary>
public sealed record DmTarget(ulong Start, ulong Length, string TargetType, string Parameters)
{
    /// <summary>As dmsetup prints it: "start length type params".</summary>
    public override string ToString() => Parameters.Length == 0 ? $"{Start} {Length} {TargetType}" : $"{Start} {Length} {TargetType} {Parameters}";

    /// <summary>
    /// The device below a crypt or linear target and the sector on it where this target's first sector lies
    /// (crypt_ctr: &lt;cipher&gt; &lt;key&gt; &lt;iv_offset&gt; &lt;device&gt; &lt;offset&gt; ...; linear_ctr: &lt;device&gt; &lt;offset&gt;);
    /// null for other targets or a table line too short to hold them.
    /// </summary>
    public (string Device, ulong Offset)? Underlying()
    {
        int field = TargetType switch { "crypt" => 3, "linear" => 0, _ => -1 };
        string[] p = Parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return field >= 0 && p.Length >= field + 2
            && ulong.TryParse(p[field + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong offset)
            ? (p[field], offset) : null;
    }
}
