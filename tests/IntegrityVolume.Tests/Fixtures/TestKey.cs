using IntegrityVolume.Core;

namespace IntegrityVolume.Tests.Fixtures;

/// <summary>Key bytes of a test as the engine takes them (an IntegrityKey), null staying null.</summary>
internal static class TestKey
{
    public static IntegrityKey? Of(byte[]? bytes) => bytes is null ? null : new IntegrityKey(bytes);
}
