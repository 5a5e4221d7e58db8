using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using IntegrityVolume.Common;

namespace IntegrityVolume.Host;

/// <summary>Completes -Algorithm / -JournalIntegrity with the names Core accepts (TagAlgorithm.Names).</summary>
internal sealed class AlgorithmCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        AlgorithmNames.Complete(wordToComplete)
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n))
            .ToArray();
}
