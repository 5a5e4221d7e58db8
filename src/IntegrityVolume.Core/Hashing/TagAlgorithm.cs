using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// The registry of tag algorithms: the default, both spellings (the kernel's crypto API name in the table's
/// internal_hash, hmac(sha256); integritysetup's and systemd's hmac-sha256), which ones are keyed, and the key rule.
/// Every other place asks here.
/// </summary>
public sealed class TagAlgorithm
{
    private readonly Func<IntegrityKey?, TagHasher> _factory;

    private TagAlgorithm(string kernelName, int digestSize, Func<IntegrityKey?, TagHasher> factory)
    {
        KernelName = kernelName;
        DigestSize = digestSize;
        _factory = factory;
    }

    /// <summary>integritysetup's default (DEFAULT_ALG_NAME), and the kernel's when internal_hash names crc32c.</summary>
    public const string DefaultName = "crc32c";

    /// <summary>Name as the kernel and dmsetup table spell it: crc32c, hmac(sha256), ...</summary>
    public string KernelName { get; }
    /// <summary>integritysetup's spelling: hmac-sha256.</summary>
    public string IntegritysetupName => IntegritysetupSpelling(KernelName);
    public int DigestSize { get; }
    /// <summary>Keyed (an HMAC): the tag needs the key the volume was formatted with.</summary>
    public bool IsKeyed => IsKeyedName(KernelName);
    public override string ToString() => KernelName;

    public static readonly IReadOnlyList<TagAlgorithm> All = new[]
    {
        new TagAlgorithm("crc32c", 4, k => k is null ? new Crc32CHasher() : new Crc32CHasher(Crc32CHasher.SeedFromKey(k.Span))),
        new TagAlgorithm("crc32", 4, _ => new KernelCrc32Hasher()),
        new TagAlgorithm("xxhash64", 8, _ => new XxHash64Hasher()),
        new TagAlgorithm("sha1", 20, _ => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA1))),
        new TagAlgorithm("sha256", 32, _ => (TagHasher?)OpenSslSha256Hasher.TryCreate(hmac: false, default) ?? new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA256))),
        new TagAlgorithm("sha512", 64, _ => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA512))),
        new TagAlgorithm("blake2b-256", 32, _ => new BouncyCastleHasher(new Blake2bDigest(256))),
        new TagAlgorithm("blake2s-256", 32, _ => new BouncyCastleHasher(new Blake2sDigest(256))),
        new TagAlgorithm("hmac(sha1)", 20, k => new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, k!.Span))),
        new TagAlgorithm("hmac(sha256)", 32, k => (TagHasher?)OpenSslSha256Hasher.TryCreate(hmac: true, k!.Span) ?? new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k!.Span))),
        new TagAlgorithm("hmac(sha512)", 64, k => new IncrementalHasher(IncrementalHash.CreateHMAC(HashAlgorithmName.SHA512, k!.Span))),
    };

    /// <summary>crc32c: what a volume uses when nobody names an algorithm.</summary>
    public static TagAlgorithm Default => All[0];

    /// <summary>Names users may type, for completion and help (integritysetup's spelling; the kernel's works too).</summary>
    public static IEnumerable<string> Names => All.Select(a => a.IntegritysetupName);

    /// <summary>The names, comma-separated, the default marked: for help texts and messages.</summary>
    public static string NameList => string.Join(", ", Names.Select(n => n == DefaultName ? n + " (default)" : n));

    /// <summary>An algorithm this engine computes, in either spelling, any case.</summary>
    public static TagAlgorithm Parse(string name)
    {
        string n = KernelSpelling(name.Trim().ToLowerInvariant());
        foreach (var a in All)
            if (a.KernelName == n) return a;
        throw new IntegrityVolumeException(ErrorIds.UnknownAlgorithm, ErrorKind.InvalidArgument,
            $"Unknown integrity algorithm '{name}'. Supported: {string.Join(", ", Names)}.", name);
    }

    /// <summary>Parse, with null or blank meaning the default (an omitted option).</summary>
    public static TagAlgorithm ParseOrDefault(string? name) => string.IsNullOrWhiteSpace(name) ? Default : Parse(name);

    /// <summary>
    /// integritysetup's spelling to the kernel crypto API's, its rule (crypt_parse_hash_integrity_mode): "a-b" is
    /// "a(b)" unless b starts with a digit (blake2b-256, sha3-256 stay); hmac-sha256 is hmac(sha256), cbc-aes is
    /// cbc(aes). Names without '-' and names already in kernel spelling (with parentheses) are unchanged.
    /// </summary>
    public static string KernelSpelling(string name)
    {
        if (name.Contains('(') || name.Contains(')')) return name;
        int dash = name.IndexOf('-');
        if (dash <= 0 || dash == name.Length - 1 || char.IsAsciiDigit(name[dash + 1])) return name;
        string mode = name[..dash];
        // hmac/phmac in any case (HMAC-sha512): the kernel's template names are lower case.
        foreach (var prefix in KeyedPrefixes)
            if (mode.Equals(prefix, StringComparison.OrdinalIgnoreCase)) mode = prefix;
        return $"{mode}({name[(dash + 1)..]})";
    }

    /// <summary>The kernel's spelling to integritysetup's and systemd's: hmac(sha256) is hmac-sha256.</summary>
    public static string IntegritysetupSpelling(string name) =>
        name.EndsWith(')') && name.IndexOf('(') is int open and > 0 ? name[..open] + "-" + name[(open + 1)..^1] : name;

    /// <summary>
    /// The kernel name of an algorithm argument of a dm-integrity table (internal_hash:, journal_mac:): any name the
    /// kernel's crypto API may know, so not only ours; one token without ':' (the key separator).
    /// </summary>
    public static string ToKernelName(string name)
    {
        string n = name.Trim();
        if (n.Length == 0 || n.Any(c => char.IsWhiteSpace(c) || c == ':' || char.IsControl(c)))
            throw new IntegrityVolumeException(ErrorIds.UnknownAlgorithm, ErrorKind.InvalidArgument, $"'{name}' is not an algorithm name.", name);
        return KernelSpelling(n);
    }

    /// <summary>Keyed algorithms of the kernel: hmac(...) and phmac(...) (protected keys), in either spelling.</summary>
    public static bool IsKeyedName(string name)
    {
        string n = name.Trim();
        foreach (var prefix in KeyedPrefixes)
            if (n.StartsWith(prefix + "(", StringComparison.OrdinalIgnoreCase) || n.StartsWith(prefix + "-", StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    private static readonly string[] KeyedPrefixes = { "hmac", "phmac" };

    /// <summary>
    /// The key rule (the kernel's: internal_hash and journal_mac take a key exactly when the algorithm is keyed):
    /// KeyRequired without one, KeyNotAllowed with one it would ignore. <paramref name="option"/> names the key option.
    /// </summary>
    public void ValidateKey(IntegrityKey? key, string option = "--integrity-key-file / -KeyFile")
    {
        ValidateKey(KernelName, key?.Length, option);
        // The kernel seeds crc32 and xxhash64 with a key too; this engine computes the seeded crc32c only.
        if (key is not null && !IsKeyed && KernelName != "crc32c")
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                $"{IntegritysetupName} with a key (a seed) is computed by the kernel only; ivol computes a seeded crc32c ({option}).", KernelName);
    }

    /// <summary>The key rule for any kernel algorithm name (also those only the kernel computes, such as phmac).</summary>
    public static void ValidateKey(string name, bool hasKey, string option = "--integrity-key-file / -KeyFile") =>
        ValidateKey(name, hasKey ? -1 : null, option);

    /// <summary>
    /// The checksums the kernel marks CRYPTO_ALG_OPTIONAL_KEY: a key replaces their seed and must have exactly this
    /// many bytes (crc32/crc32c: 4, get_unaligned_le32; xxhash64: 8, get_unaligned_le64); null for other algorithms.
    /// </summary>
    public static int? OptionalKeySize(string name) => KernelSpelling(name.Trim().ToLowerInvariant()) switch
    {
        "crc32" or "crc32c" => 4,
        "xxhash64" => 8,
        _ => null,
    };

    /// <summary>
    /// The key rule with the key's length (-1 = length unknown): hmac/phmac need a key, the seeded checksums take an
    /// optional key of their seed's size (the kernel's setkey refuses any other length), the rest take none.
    /// </summary>
    public static void ValidateKey(string name, int? keyLength, string option)
    {
        bool keyed = IsKeyedName(name);
        if (keyed && keyLength is null)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{IntegritysetupSpelling(name)} is keyed: give the key file ({option}).", name);
        if (keyed || keyLength is null) return;
        if (OptionalKeySize(name) is int seedSize)
        {
            if (keyLength >= 0 && keyLength != seedSize)
                throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                    $"A {IntegritysetupSpelling(name)} key is its {seedSize}-byte seed; this one has {keyLength} bytes ({option}, --integrity-key-size {seedSize}).", name);
            return;
        }
        throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
            $"{IntegritysetupSpelling(name)} takes no key ({option}).", name);
    }

    /// <summary>A hasher for one worker, holding what it derives from the key until disposed.</summary>
    public TagHasher CreateHasher(IntegrityKey? key)
    {
        ValidateKey(key);
        return _factory(key);
    }
}
