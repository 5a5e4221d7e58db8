using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// A tag algorithm by its kernel crypto API name (the name in the table's internal_hash). Accepts
/// integritysetup's spelling too ("hmac-sha256" becomes "hmac(sha256)").
/// </summary>
public sealed class TagAlgorithm
{
    private readonly Func<byte[]?, TagHasher> _factory;

    private TagAlgorithm(string kernelName, int digestSize, bool keyed, Func<byte[]?, TagHasher> factory)
    {
        KernelName = kernelName;
        DigestSize = digestSize;
        IsKeyed = keyed;
        _factory = factory;
    }

    /// <summary>Name as the kernel and dmsetup table spell it: crc32c, hmac(sha256), ...</summary>
    public string KernelName { get; }
    /// <summary>integritysetup's spelling: hmac-sha256.</summary>
    public string IntegritysetupName => IsKeyed ? "hmac-" + KernelName[5..^1] : KernelName;
    public int DigestSize { get; }
    public bool IsKeyed { get; }
    public override string ToString() => KernelName;

    public static readonly IReadOnlyList<TagAlgorithm> All = new[]
    {
        new TagAlgorithm("crc32c", 4, false, _ => new Crc32CHasher()),
        new TagAlgorithm("crc32", 4, false, _ => new KernelCrc32Hasher()),
        new TagAlgorithm("xxhash64", 8, false, _ => new XxHash64Hasher()),
        new TagAlgorithm("sha1", 20, false, _ => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA1))),
        new TagAlgorithm("sha256", 32, false, _ => (TagHasher?)OpenSslSha256Hasher.TryCreate(null) ?? new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA256))),
        new TagAlgorithm("sha512", 64, false, _ => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA512))),
        new TagAlgorithm("blake2b-256", 32, false, _ => new BouncyCastleHasher(new Blake2bDigest(256))),
        new TagAlgorithm("blake2s-256", 32, false, _ => new BouncyCastleHasher(new Blake2sDigest(256))),
        new TagAlgorithm("hmac(sha1)", 20, true, k => new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, k!))),
        new TagAlgorithm("hmac(sha256)", 32, true, k => (TagHasher?)OpenSslSha256Hasher.TryCreate(k) ?? new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k!))),
        new TagAlgorithm("hmac(sha512)", 64, true, k => new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA512, k!))),
    };

    /// <summary>Names users may type, for completion and help.</summary>
    public static IEnumerable<string> Names => All.Select(a => a.IntegritysetupName);

    public static TagAlgorithm Parse(string name)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n.StartsWith("hmac-", StringComparison.Ordinal)) n = $"hmac({n[5..]})";
        foreach (var a in All)
            if (a.KernelName == n) return a;
        throw new IntegrityVolumeException(ErrorIds.UnknownAlgorithm, ErrorKind.InvalidArgument,
            $"Unknown integrity algorithm '{name}'. Supported: {string.Join(", ", Names)}.", name);
    }

    /// <summary>A hasher for one worker. Keyed algorithms need the key; the others refuse one.</summary>
    public TagHasher CreateHasher(byte[]? key)
    {
        if (IsKeyed && (key is null || key.Length == 0))
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{IntegritysetupName} is keyed: give the key file (--integrity-key-file / -KeyFile).", KernelName);
        if (!IsKeyed && key is { Length: > 0 })
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                $"{IntegritysetupName} takes no key.", KernelName);
        return _factory(key);
    }
}
