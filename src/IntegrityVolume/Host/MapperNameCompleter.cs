using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using IntegrityVolume.Core.Kernel;
using IntegrityVolume.Common;

namespace IntegrityVolume.Host;

/// <summary>
/// Completes -Name of Close-, Get- and Test-IntegrityVolume with the names of the active dm-integrity mappings
/// (IntegrityMappings.List). Offers nothing, and never throws, where device-mapper is unavailable or not root.
/// </summary>
internal sealed class MapperNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        MappingQuery.CompleteNames(wordToComplete, () => IntegrityMappings.List().Select(m => m.Name))
            .Select(n => new CompletionResult(n, n.Trim('\''), CompletionResultType.ParameterValue, n.Trim('\'')))
            .ToArray();
}
