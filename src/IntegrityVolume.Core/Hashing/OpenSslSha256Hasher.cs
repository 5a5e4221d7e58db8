using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace IntegrityVolume.Core.Hashing;

/// <summary>
/// sha256 and hmac(sha256) tags through libcrypto's SHA256_Init/Update/Final: the same SHA-NI block code the EVP
/// layer ends in, without EVP's per-call dispatch (for 512-byte blocks that dispatch cost as much as the hashing).
/// HMAC starts each tag from the key's precomputed inner and outer states (RFC 2104, as crypto/hmac.c), so a tag
/// costs the message's compressions plus two. Used when libcrypto exports these functions and passes a known
/// answer at load; otherwise TagAlgorithm falls back to the platform's IncrementalHash.
/// </summary>
internal sealed unsafe class OpenSslSha256Hasher : TagHasher
{
    private const int ContextBytes = 128;   // sizeof(SHA256_CTX) is 112 in OpenSSL 1.1 and 3
    private const int BlockBytes = 64;      // SHA-256 block: the HMAC pad length
    private const int Size = 32;

    private sealed class Library
    {
        public delegate* unmanaged<byte*, int> Init;
        public delegate* unmanaged<byte*, byte*, nuint, int> Update;
        public delegate* unmanaged<byte*, byte*, int> Final;

        public static Library? Load()
        {
            foreach (var name in new[] { "libcrypto.so.3", "libcrypto.so.1.1" })
            {
                if (!NativeLibrary.TryLoad(name, out var handle)) continue;
                if (NativeLibrary.TryGetExport(handle, "SHA256_Init", out var init) &&
                    NativeLibrary.TryGetExport(handle, "SHA256_Update", out var update) &&
                    NativeLibrary.TryGetExport(handle, "SHA256_Final", out var final))
                {
                    var lib = new Library
                    {
                        Init = (delegate* unmanaged<byte*, int>)init,
                        Update = (delegate* unmanaged<byte*, byte*, nuint, int>)update,
                        Final = (delegate* unmanaged<byte*, byte*, int>)final,
                    };
                    if (lib.PassesKnownAnswer()) return lib;
                }
            }
            return null;
        }

        /// <summary>SHA-256 of a two-block message equals the platform's, or the library is not used.</summary>
        private bool PassesKnownAnswer()
        {
            var message = new byte[100];
            for (int i = 0; i < message.Length; i++) message[i] = (byte)(i * 13 + 7);
            byte* ctx = stackalloc byte[ContextBytes];
            byte* digest = stackalloc byte[Size];
            fixed (byte* m = message)
                if (Init(ctx) != 1 || Update(ctx, m, (nuint)message.Length) != 1 || Final(digest, ctx) != 1) return false;
            return new ReadOnlySpan<byte>(digest, Size).SequenceEqual(SHA256.HashData(message));
        }
    }

    private static readonly Library? Native = Library.Load();

    public static bool Available => Native is not null;

    /// <summary>The hasher (HMAC with <paramref name="hmacKey"/> when <paramref name="hmac"/>), or null when libcrypto's SHA256_* functions are not available here.</summary>
    public static OpenSslSha256Hasher? TryCreate(bool hmac, ReadOnlySpan<byte> hmacKey) => Native is null ? null : new OpenSslSha256Hasher(Native, hmac, hmacKey);

    private readonly Library _lib;
    private readonly byte[] _contexts;           // inner start, outer start, work; pinned for the hasher's life
    private readonly byte* _inner, _outer, _work;
    private readonly bool _hmac;

    private OpenSslSha256Hasher(Library lib, bool hmac, ReadOnlySpan<byte> hmacKey)
    {
        _lib = lib;
        // Written for every tag: a cache line of padding on each side keeps the other worker's contexts off its lines.
        _contexts = GC.AllocateArray<byte>(CacheLineBytes + 3 * ContextBytes + CacheLineBytes, pinned: true);
        _inner = (byte*)Unsafe.AsPointer(ref _contexts[CacheLineBytes]);
        _outer = _inner + ContextBytes;
        _work = _outer + ContextBytes;
        _lib.Init(_inner);
        _hmac = hmac;
        if (!hmac) return;
        // Keys longer than the block are replaced by their digest; shorter ones are zero padded. The digest and the
        // pads are key material: wiped before the constructor returns; the two states they produce, on Dispose.
        Span<byte> digest = stackalloc byte[Size];
        Span<byte> ipad = stackalloc byte[BlockBytes];
        Span<byte> opad = stackalloc byte[BlockBytes];
        try
        {
            if (hmacKey.Length > BlockBytes) SHA256.HashData(hmacKey, digest);
            scoped ReadOnlySpan<byte> key = hmacKey.Length > BlockBytes ? digest : hmacKey;
            for (int i = 0; i < BlockBytes; i++)
            {
                byte k = i < key.Length ? key[i] : (byte)0;
                ipad[i] = (byte)(k ^ 0x36);
                opad[i] = (byte)(k ^ 0x5c);
            }
            fixed (byte* ip = ipad)
            fixed (byte* op = opad)
            {
                _lib.Update(_inner, ip, BlockBytes);
                _lib.Init(_outer);
                _lib.Update(_outer, op, BlockBytes);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(digest);
            CryptographicOperations.ZeroMemory(ipad);
            CryptographicOperations.ZeroMemory(opad);
        }
    }

    /// <summary>Test hook: the three SHA256 contexts (inner start, outer start, work) as they are now.</summary>
    internal ReadOnlySpan<byte> ContextsForTests => _contexts.AsSpan(CacheLineBytes, 3 * ContextBytes);

    /// <summary>The inner and outer states are the key in all but name (HMAC's precomputed pads): zeroed here.</summary>
    public override void Dispose() => CryptographicOperations.ZeroMemory(_contexts);

    public override int DigestSize => Size;

    public override void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        if (digest.Length < Size) throw new ArgumentException("The digest buffer holds fewer than 32 bytes.", nameof(digest));
        Buffer.MemoryCopy(_inner, _work, ContextBytes, ContextBytes);
        fixed (byte* p = prefix)
        fixed (byte* b = block)
        fixed (byte* d = digest)
        {
            _lib.Update(_work, p, (nuint)prefix.Length);
            _lib.Update(_work, b, (nuint)block.Length);
            if (!_hmac) { _lib.Final(d, _work); return; }
            byte* inner = stackalloc byte[Size];   // H(ipad-state ‖ message): not key material, the tag's input
            _lib.Final(inner, _work);
            Buffer.MemoryCopy(_outer, _work, ContextBytes, ContextBytes);
            _lib.Update(_work, inner, Size);
            _lib.Final(d, _work);
        }
    }
}
