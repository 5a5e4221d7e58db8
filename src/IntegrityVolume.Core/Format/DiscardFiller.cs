namespace IntegrityVolume.Core.Format;

/// <summary>
/// The tag dm-integrity stores for a discarded block when allow_discards is on (DISCARD_FILLER, 0xf6 in every tag
/// byte): the kernel then reads the block without checking it, so such a tag proves nothing about any algorithm.
/// </summary>
public static class DiscardFiller
{
    public const byte Value = 0xF6;

    /// <summary>True when every byte of <paramref name="tag"/> is the filler.</summary>
    public static bool Is(ReadOnlySpan<byte> tag) => tag.IndexOfAnyExcept(Value) < 0;
}
