namespace IntegrityVolume.Core.Kernel;

/// <summary>The dm-integrity mode letter of a table line.</summary>
public enum IntegrityMode
{
    /// <summary>J: writes go through the journal (default).</summary>
    Journal,
    /// <summary>D: direct writes, no journal (a crash can leave data and tag out of step).</summary>
    Direct,
    /// <summary>B: bitmap mode (dirty regions recalculated after a crash); needs an internal hash.</summary>
    Bitmap,
    /// <summary>R: recovery: no journal replay, no tag checks, writes rejected.</summary>
    Recovery,
    /// <summary>I: tags in the device's hardware integrity metadata.</summary>
    Inline,
}
