namespace IntegrityVolume.Core;

/// <summary>A run of 512-byte logical sectors of the dm device (the kernel's "Checksum failed at sector" numbering).</summary>
/// <remarks>Not "Count": in PowerShell that name is every array's own property and hides the range's.</remarks>
public sealed record SectorRange(ulong Start, ulong Sectors)
{
    /// <summary>First sector after the range (exclusive): Start + Sectors.</summary>
    public ulong End => Start + Sectors;
    /// <summary>Last sector of the range (inclusive), the number every rendering shows ("8-15": Start 8, Last 15).</summary>
    public ulong Last => Start + Sectors - 1;
    public override string ToString() => Sectors == 1 ? $"{Start}" : $"{Start}-{Start + Sectors - 1}";
}
