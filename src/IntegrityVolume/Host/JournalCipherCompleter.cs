using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace IntegrityVolume.Host;

/// <summary>Tab completion of -JournalCrypt: the ciphers integritysetup documents for --journal-crypt.</summary>
internal sealed class JournalCipherCompleter : IArgumentCompleter
{
    private static readonly string[] Ciphers = ["cbc-aes", "ctr-aes", "xts-aes"];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Ciphers.Where(c => c.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(c, c, CompletionResultType.ParameterValue, c))
            .ToArray();
}
