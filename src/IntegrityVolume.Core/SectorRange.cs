namespace IntegrityVolume.Core;

/// <summary>A run of 512-byte logical sectors of the dm device (the kernel's "Checksum failed at sector" numbering).</summary>
/// <remarks>Not "Count": in PowerShell that name is every array's own property and hides the range's.</remarks>
public sealed record SectorRange(ulong Start, ulong Sectors)
{
    public ulong End => Start + Sectors;
    public override string ToString() => Sectors == 1 ? $"{Start}" : $"{Start}-{Start + Sectors - 1}";
}
