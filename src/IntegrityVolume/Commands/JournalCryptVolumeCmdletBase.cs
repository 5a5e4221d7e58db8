using System.Management.Automation;
using IntegrityVolume.Core;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the cmdlets that read a journal the kernel encrypts (Open, Test): -JournalCrypt and -JournalCryptKeyFile
/// (integritysetup's --journal-crypt and --journal-crypt-key-file), declared once with their intake. Test overrides
/// them to bind by property name in its path sets.
/// </summary>
public abstract class JournalCryptVolumeCmdletBase : JournalKeyedVolumeCmdletBase
{
    /// <summary>Journal encryption cipher (journal_crypt), as integritysetup spells it (cbc-aes, ctr-aes) or the kernel.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(Host.JournalCipherCompleter))]
    public virtual string? JournalCrypt { get; set; }

    /// <summary>Key of the journal encryption: the file's raw bytes.</summary>
    [Parameter]
    public virtual string? JournalCryptKeyFile { get; set; }

    /// <summary>The cipher as given (null when not) and its key, read from the resolved file. Intake only: Core's requests
    /// check that a cipher has its key and a key its cipher.</summary>
    internal (string? Cipher, IntegrityKey? Key) JournalCipherAndKey()
    {
        string? path = Paths.ResolveOptionalLiteral(JournalCryptKeyFile, nameof(JournalCryptKeyFile));
        return (JournalCrypt, Core.KeyFile.ReadOptional(path, null, "-JournalCryptKeyFile"));
    }

}
