namespace IntegrityVolume.Core.Format;

/// <summary>The kernel's SB_FLAG_* bits (drivers/md/dm-integrity.c).</summary>
[Flags]
public enum SuperblockFlags : uint
{
    None = 0,
    /// <summary>SB_FLAG_HAVE_JOURNAL_MAC: 8 bytes of every journal metadata sector hold the section MAC.</summary>
    HaveJournalMac = 0x1,
    /// <summary>SB_FLAG_RECALCULATING: blocks at or beyond recalc_sector are not yet protected.</summary>
    Recalculating = 0x2,
    /// <summary>SB_FLAG_DIRTY_BITMAP: the journal area holds a bitmap (bitmap mode active or crashed).</summary>
    DirtyBitmap = 0x4,
    /// <summary>SB_FLAG_FIXED_PADDING: metadata runs padded to 4 KiB instead of 128 KiB.</summary>
    FixedPadding = 0x8,
    /// <summary>SB_FLAG_FIXED_HMAC: the salt is mixed into every tag and journal MAC.</summary>
    FixedHmac = 0x10,
    /// <summary>SB_FLAG_INLINE: tags live in the device's hardware integrity metadata.</summary>
    Inline = 0x20,
}
