using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Common;

/// <summary>Tab completion of -Algorithm and -JournalIntegrity (integritysetup spellings from Core).</summary>
internal static class AlgorithmNames
{
    /// <summary>Names starting with the typed word (quotes stripped, case-insensitive), in Core's order.</summary>
    public static IEnumerable<string> Complete(string? wordToComplete)
    {
        string word = (wordToComplete ?? "").Trim().Trim('\'', '"');
        return TagAlgorithm.Names.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase));
    }
}
