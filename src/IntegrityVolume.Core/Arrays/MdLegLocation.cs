namespace IntegrityVolume.Core.Arrays;

/// <summary>What a member (leg) sector of an md array holds.</summary>
public enum MdLegRole
{
    /// <summary>Array data: <see cref="MdLegLocation.ArraySector"/> says which sector of /dev/mdX.</summary>
    Data,
    /// <summary>raid4/5/6 parity (P, or raid6's Q): no file's data, rebuilt from the other members.</summary>
    Parity,
    /// <summary>Before the member's data offset: md's superblock, write-intent bitmap, or the reserve before the data.</summary>
    MdMetadata,
    /// <summary>After the array's data on this member (unused tail, or a partial chunk md does not use).</summary>
    BeyondArray,
    /// <summary>
    /// Outside every segment of a device-mapper layer between the leg and the array (RAID over per-leg LUKS: the
    /// leg's LUKS header and key slots); md never sees it.
    /// </summary>
    BelowArrayLayer,
}

/// <summary>Where one member sector lands in the array.</summary>
/// <param name="Role">Data, parity, md's own area or unused.</param>
/// <param name="ArraySector">For data: the sector of the array device (/dev/mdX).</param>
/// <param name="Detail">For parity: "P" or "Q".</param>
/// <param name="Copy">raid10: which copy of the chunk (0 = first) this member holds; 0 otherwise.</param>
public sealed record MdLegLocation(MdLegRole Role, ulong? ArraySector = null, string? Detail = null, int Copy = 0);
