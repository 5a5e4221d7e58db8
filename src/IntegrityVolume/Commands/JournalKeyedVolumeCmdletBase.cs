using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the cmdlets that take a journal MAC (New, Test, Open): -JournalIntegrity and -JournalIntegrityKeyFile,
/// declared once with their intake. Test overrides them to bind by property name in its path sets.
/// </summary>
public abstract class JournalKeyedVolumeCmdletBase : KeyedVolumeCmdletBase
{
    /// <summary>Journal MAC algorithm (journal_mac), e.g. hmac-sha256.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    public virtual string? JournalIntegrity { get; set; }

    /// <summary>Key of the journal MAC: the file's raw bytes.</summary>
    [Parameter]
    public virtual string? JournalIntegrityKeyFile { get; set; }

    /// <summary>
    /// The parsed journal MAC algorithm (null when not given) and its key, read from the resolved file. Intake only:
    /// Core's requests check that a key has its algorithm.
    /// </summary>
    internal (TagAlgorithm? Algorithm, IntegrityKey? Key) JournalAlgorithmAndKey() =>
        RequestBuilder.JournalIntegrity(JournalIntegrity, Paths.ResolveOptionalLiteral(JournalIntegrityKeyFile, nameof(JournalIntegrityKeyFile)));
}
