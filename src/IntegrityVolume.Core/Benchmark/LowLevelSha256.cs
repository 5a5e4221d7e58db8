using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace IntegrityVolume.Core.Benchmark;

/// <summary>
/// Prototype for the hot-path recommendation: SHA-256 and HMAC-SHA256 tags through OpenSSL's low-level SHA256_*
/// functions (the same SHA-NI block code the EVP layer ends in) instead of IncrementalHash's EVP calls per block.
/// HMAC reuses the key's precomputed inner and outer states, so a tag costs the data's compressions plus two.
/// Only the benchmark uses it, to show what the engine could gain; tags are checked equal to TagComputer's.
/// </summary>
internal sealed unsafe partial class LowLevelSha256 : IDisposable
{
    private const string Lib = "libcrypto.so.3";
    private const int CtxBytes = 128; // sizeof(SHA256_CTX) is 112

    [LibraryImport(Lib, EntryPoint = "SHA256_Init")]
    private static partial int Sha256Init(byte* ctx);

    [LibraryImport(Lib, EntryPoint = "SHA256_Update")]
    private static partial int Sha256Update(byte* ctx, byte* data, nuint length);

    [LibraryImport(Lib, EntryPoint = "SHA256_Final")]
    private static partial int Sha256Final(byte* digest, byte* ctx);

    private readonly byte* _inner, _outer, _work;
    private readonly bool _hmac;
    private readonly byte[] _prefix;
    private readonly int _saltLength;

    public static bool Available
    {
        get
        {
            try
            {
                byte* ctx = stackalloc byte[CtxBytes];
                return Sha256Init(ctx) == 1;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { return false; }
        }
    }

    public LowLevelSha256(byte[] salt, byte[]? hmacKey)
    {
        _inner = (byte*)NativeMemory.AlignedAlloc(CtxBytes, 64);
        _outer = (byte*)NativeMemory.AlignedAlloc(CtxBytes, 64);
        _work = (byte*)NativeMemory.AlignedAlloc(CtxBytes, 64);
        _prefix = new byte[salt.Length + 8];
        salt.CopyTo(_prefix, 0);
        _saltLength = salt.Length;
        Sha256Init(_inner);
        _hmac = hmacKey is not null;
        if (hmacKey is null) return;
        if (hmacKey.Length > 64) throw new ArgumentException("The prototype takes keys of at most 64 bytes.");
        byte* ipad = stackalloc byte[64];
        byte* opad = stackalloc byte[64];
        for (int i = 0; i < 64; i++)
        {
            byte k = i < hmacKey.Length ? hmacKey[i] : (byte)0;
            ipad[i] = (byte)(k ^ 0x36);
            opad[i] = (byte)(k ^ 0x5c);
        }
        Sha256Update(_inner, ipad, 64);
        Sha256Init(_outer);
        Sha256Update(_outer, opad, 64);
    }

    /// <summary>digest (32 bytes) = SHA256 or HMAC-SHA256 of salt ‖ LE64(sector) ‖ block.</summary>
    public void Compute(ulong sector, ReadOnlySpan<byte> block, Span<byte> digest)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_prefix.AsSpan(_saltLength), sector);
        Buffer.MemoryCopy(_inner, _work, CtxBytes, CtxBytes);
        fixed (byte* p = _prefix)
        fixed (byte* b = block)
        fixed (byte* d = digest)
        {
            Sha256Update(_work, p, (nuint)_prefix.Length);
            Sha256Update(_work, b, (nuint)block.Length);
            if (!_hmac) { Sha256Final(d, _work); return; }
            byte* inner = stackalloc byte[32];
            Sha256Final(inner, _work);
            Buffer.MemoryCopy(_outer, _work, CtxBytes, CtxBytes);
            Sha256Update(_work, inner, 32);
            Sha256Final(d, _work);
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_inner);
        NativeMemory.AlignedFree(_outer);
        NativeMemory.AlignedFree(_work);
    }
}
