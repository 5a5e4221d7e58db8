using System.Buffers.Binary;
using System.Security.Cryptography;
using IntegrityVolume.Core.Format;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Core.Journal;

/// <summary>
/// journal_crypt as the kernel keeps the journal on disk (create_journal, encrypt_journal), for reading it offline.
/// A stream cipher (block size 1: ctr(aes)) XORs the whole journal with the encryption of zeros under IV 0, and the
/// four commit-id bases are the same encryption of their constants, right after the journal's pages. A block cipher
/// (cbc(aes)) encrypts each section on its own under IV_s = E_K(LE32(s) padded to one block) (the encryption under
/// IV 0 of that block); the commit-id bases stay the constants. Only AES in these two modes is read here.
/// </summary>
public sealed class JournalCipher : IDisposable
{
    private const int PageBytes = 4096;
    private readonly Aes _aes;
    private readonly bool _xor;
    private readonly int _sectionBytes;

    private JournalCipher(Aes aes, bool xor, int sectionBytes, ulong[] commitIdBases)
    {
        _aes = aes; _xor = xor; _sectionBytes = sectionBytes; CommitIdBases = commitIdBases;
    }

    /// <summary>The kernel's commit-id bases (ic->commit_ids): commit_id(i, j, seq) = base[seq] ^ ((i &lt;&lt; 32) ^ j).</summary>
    public ulong[] CommitIdBases { get; }

    /// <summary>The four constants 0x1111.. to 0x4444.. of a journal without journal_crypt (or with a block cipher).</summary>
    public static ulong[] PlainCommitIdBases() => [0x1111111111111111UL, 0x2222222222222222UL, 0x3333333333333333UL, 0x4444444444444444UL];

    /// <summary>The kernel's cipher name (cbc(aes), ctr(aes)) or integritysetup's (cbc-aes, ctr-aes) with its key.</summary>
    public static JournalCipher Create(string name, IntegrityKey key, Geometry g)
    {
        string kernel = TagAlgorithm.ToKernelName(name);
        bool xor = kernel switch
        {
            "ctr(aes)" => true,
            "cbc(aes)" => false,
            _ => throw new IntegrityVolumeException(ErrorIds.UnknownAlgorithm, ErrorKind.InvalidArgument,
                $"Journal cipher {name}: offline, only cbc-aes and ctr-aes journals are read (the kernel takes any skcipher; open the volume to let it replay).", name),
        };
        if (key.Length is not (16 or 24 or 32))
            throw new IntegrityVolumeException(ErrorIds.KeyFileInvalid, ErrorKind.InvalidArgument,
                $"Journal cipher {name}: an AES key is 16, 24 or 32 bytes, not {key.Length} (the kernel refuses it: \"Error setting encryption key\").", name);
        var aes = Aes.Create();
        try
        {
            aes.Key = key.Span.ToArray();
            int sectionBytes = g.JournalSectionSectors * 512;
            var bases = PlainCommitIdBases();
            if (xor)
            {
                // The commit ids follow the journal's pages in the encrypted stream: PAGE_SIZE * journal_pages.
                ulong journalPages = ((ulong)g.JournalSections * (ulong)g.JournalSectionSectors + 7) / 8;
                var stream = new byte[32];
                Keystream(aes, journalPages * PageBytes, stream);
                for (int i = 0; i < 4; i++) bases[i] ^= BinaryPrimitives.ReadUInt64LittleEndian(stream.AsSpan(i * 8));
            }
            // create_journal: equal commit ids are made distinct by incrementing the later one.
            for (int i = 1; i < 4; i++)
                for (int j = 0; j < i; j++)
                    if (bases[j] == bases[i]) { bases[i]++; j = -1; }
            return new JournalCipher(aes, xor, sectionBytes, bases);
        }
        catch
        {
            aes.Dispose();
            throw;
        }
    }

    /// <summary>A section as read from disk (<paramref name="bytes"/>, section_sectors * 512) decrypted in place.</summary>
    public void Decrypt(uint section, Span<byte> bytes)
    {
        if (bytes.Length != _sectionBytes)
            throw new ArgumentException($"a journal section is {_sectionBytes} bytes", nameof(bytes));
        if (_xor)
        {
            var stream = new byte[bytes.Length];
            Keystream(_aes, (ulong)section * (ulong)_sectionBytes, stream);
            for (int i = 0; i < bytes.Length; i++) bytes[i] ^= stream[i];
            return;
        }
        Span<byte> iv = stackalloc byte[16];
        iv.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(iv, section);
        _aes.EncryptEcb(iv, iv, PaddingMode.None);   // one block under IV 0: CBC == ECB
        var plain = _aes.DecryptCbc(bytes, iv, PaddingMode.None);
        plain.CopyTo(bytes);
    }

    /// <summary>ctr(aes) under IV 0 over zeros from byte <paramref name="offset"/> (a multiple of 16): block b is
    /// E_K(b as a 128-bit big-endian counter).</summary>
    private static void Keystream(Aes aes, ulong offset, Span<byte> output)
    {
        if (offset % 16 != 0 || output.Length % 16 != 0) throw new ArgumentException("keystream offsets and lengths are whole AES blocks");
        var counters = new byte[output.Length];
        ulong block = offset / 16;
        for (int i = 0; i < output.Length / 16; i++)
            BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan(i * 16 + 8), block + (ulong)i);
        aes.EncryptEcb(counters, output, PaddingMode.None);
    }

    public void Dispose() => _aes.Dispose();
}
