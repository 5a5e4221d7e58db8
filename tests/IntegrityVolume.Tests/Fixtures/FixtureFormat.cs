using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Tests.Fixtures;
using IntegrityVolume.Core;

namespace IntegrityVolume.Tests.Fixtures;

/// <summary>Turns a fixture's integritysetup format options into our FormatRequest (the CLI maps the same names).</summary>
internal static class FixtureFormat
{
    public static FormatRequest Request(FixtureCase c, string path, string? dataPath = null, byte[]? salt = null) => new()
    {
        Volume = new VolumeLocation { Path = path, DataDevicePath = dataPath ?? (c.FormatOption("--data-device") is null ? null : path + ".data") },
        Integrity = new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.ParseOrDefault(c.FormatOption("--integrity")), Key = TestKey.Of(c.Key) },
        TagSize = c.FormatOption("--tag-size") is { } t ? int.Parse(t) : null,
        SectorSize = c.FormatOption("--sector-size") is { } s ? int.Parse(s) : 512,
        JournalSizeBytes = c.FormatOption("--journal-size") is { } j ? long.Parse(j) : null,
        InterleaveSectors = c.FormatOption("--interleave-sectors") is { } i ? ulong.Parse(i) : null,
        LegacyPadding = c.FormatFlag("--integrity-legacy-padding") && !c.FormatFlag("--integrity-legacy-hmac"),
        LegacyHmac = c.FormatFlag("--integrity-legacy-hmac"),
        JournalIntegrity = c.FormatOption("--journal-integrity") is { } jmac ? TagAlgorithm.Parse(jmac) : null,
        JournalIntegrityKey = TestKey.Of(c.JournalKey),
        NoWipe = c.FormatFlag("--no-wipe"),
        Salt = salt,
        Force = true,
    };
}
