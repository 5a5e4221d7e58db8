using System.Security.Cryptography;

namespace IntegrityVolume.Core;

/// <summary>
/// A secret key (internal_hash, journal_mac or journal_crypt key): the one owner of its bytes. The bytes live in a
/// pinned array, so the garbage collector never leaves a moved copy behind; <see cref="Dispose"/> zeroes them, and
/// whoever borrowed them (a table being loaded) sees zeros from then on. Hashers copy nothing of it but the state
/// they derive, which their own Dispose wipes. Created by <see cref="KeyFile.Read"/>; the front end that read it
/// disposes it when the operation is done. Never printed: <see cref="ToString"/> shows the length only.
/// </summary>
public sealed class IntegrityKey : IDisposable
{
    private readonly byte[] _bytes;
    private bool _disposed;

    /// <summary>A key holding a copy of <paramref name="bytes"/> (1 to <see cref="KeyFile.MaxBytes"/> bytes).</summary>
    public IntegrityKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes.Length > KeyFile.MaxBytes)
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument,
                $"A key has 1 to {KeyFile.MaxBytes} bytes, not {bytes.Length}.");
        _bytes = GC.AllocateUninitializedArray<byte>(bytes.Length, pinned: true);
        bytes.CopyTo(_bytes);
    }

    /// <summary>Key length in bytes (kept after Dispose: the table shows zeros of this length).</summary>
    public int Length => _bytes.Length;

    /// <summary>The key bytes; ObjectDisposedException once disposed.</summary>
    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bytes;
        }
    }

    public bool IsDisposed => _disposed;

    /// <summary>The owned array itself, for a borrower that must hold a byte[] (a table's key); zeroed on Dispose.</summary>
    internal byte[] Borrow()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _bytes;
    }

    /// <summary>Test hook: the bytes as they are now, zeros after Dispose.</summary>
    internal ReadOnlySpan<byte> RawForTests => _bytes;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_bytes);
        _disposed = true;
    }

    public override string ToString() => $"key ({_bytes.Length} bytes)";
}
