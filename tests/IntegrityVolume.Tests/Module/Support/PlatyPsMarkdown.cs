using System.Text;
using System.Text.RegularExpressions;

namespace IntegrityVolume.Tests.Module.Support;

internal sealed record ExampleHelp(string Title, string Code, IReadOnlyList<string> Remarks);
internal sealed record ParameterHelp(string Name, IReadOnlyList<string> Description, IReadOnlyDictionary<string, string> Yaml)
{
    public string Type => Yaml.GetValueOrDefault("Type", "");
    public IReadOnlyList<string> ParameterSets => Split(Yaml.GetValueOrDefault("Parameter Sets", "(All)"));
    public IReadOnlyList<string> Aliases => Split(Yaml.GetValueOrDefault("Aliases", ""));
    public IReadOnlyList<string> AcceptedValues => Split(Yaml.GetValueOrDefault("Accepted values", ""));
    public bool Required => string.Equals(Yaml.GetValueOrDefault("Required", "False"), "True", StringComparison.OrdinalIgnoreCase);
    public string Position => Yaml.GetValueOrDefault("Position", "Named");
    public string DefaultValue => Yaml.GetValueOrDefault("Default value", "None");
    public string PipelineInput => Yaml.GetValueOrDefault("Accept pipeline input", "False");
    public bool Wildcards => string.Equals(Yaml.GetValueOrDefault("Accept wildcard characters", "False"), "True", StringComparison.OrdinalIgnoreCase);
    public bool InAllSets => ParameterSets.Count == 0 || ParameterSets.Contains("(All)");

    private static IReadOnlyList<string> Split(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
internal sealed record TypeHelp(string TypeName, IReadOnlyList<string> Description);
internal sealed record SyntaxHelp(string? SetName, bool IsDefault, string Text);

/// <summary>A cmdlet help page in platyPS 0.14 markdown (schema 2.0.0), as New-MarkdownHelp writes it.</summary>
internal sealed class CommandHelp
{
    public required string Name { get; init; }
    public required IReadOnlyDictionary<string, string> FrontMatter { get; init; }
    public required string Synopsis { get; init; }
    public required IReadOnlyList<SyntaxHelp> Syntax { get; init; }
    public required IReadOnlyList<string> Description { get; init; }
    public required IReadOnlyList<ExampleHelp> Examples { get; init; }
    public required IReadOnlyList<ParameterHelp> Parameters { get; init; }
    public required IReadOnlyList<TypeHelp> Inputs { get; init; }
    public required IReadOnlyList<TypeHelp> Outputs { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    public required IReadOnlyList<(string Text, string Uri)> Links { get; init; }

    public static CommandHelp Load(string path) => Parse(File.ReadAllText(path));

    public static CommandHelp Parse(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        int i = 0;
        var front = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (lines[0] == "---")
        {
            for (i = 1; lines[i] != "---"; i++)
            {
                int colon = lines[i].IndexOf(':');
                if (colon > 0) front[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
            i++;
        }
        // Sections: "# Name", then "## X" sections with "### Y" subsections.
        string name = "";
        var sections = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        List<string>? current = null;
        bool inFence = false;
        for (; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (!inFence && line.StartsWith("# ", StringComparison.Ordinal)) { name = line[2..].Trim(); continue; }
            if (!inFence && line.StartsWith("## ", StringComparison.Ordinal)) { sections[line[3..].Trim()] = current = new List<string>(); continue; }
            current?.Add(line);
        }
        List<string> Section(string key) => sections.TryGetValue(key, out var s) ? s : new List<string>();

        return new CommandHelp
        {
            Name = name,
            FrontMatter = front,
            Synopsis = string.Join(" ", Paragraphs(Section("SYNOPSIS"))),
            Syntax = Subsections(Section("SYNTAX"), includeLeading: true).Select(s =>
            {
                string? set = s.Title;
                bool isDefault = set?.EndsWith("(Default)", StringComparison.Ordinal) == true;
                if (isDefault) set = set![..^"(Default)".Length].Trim();
                return new SyntaxHelp(set, isDefault, string.Join("\n", Fences(s.Body).FirstOrDefault().Lines ?? new List<string>()));
            }).Where(s => s.Text.Length > 0).ToArray(),
            Description = Paragraphs(Section("DESCRIPTION")),
            Examples = Subsections(Section("EXAMPLES")).Select(s =>
            {
                var fences = Fences(s.Body);
                var code = fences.FirstOrDefault(f => f.Lang is "powershell" or "" or "PowerShell");
                var remarks = new List<string>();
                foreach (var f in fences.Where(f => !ReferenceEquals(f.Lines, code.Lines)))
                    remarks.Add(string.Join("\n", f.Lines));
                remarks.AddRange(Paragraphs(WithoutFences(s.Body)));
                return new ExampleHelp(s.Title!, string.Join("\n", code.Lines ?? new List<string>()), remarks);
            }).ToArray(),
            Parameters = Subsections(Section("PARAMETERS"))
                .Where(s => s.Title!.StartsWith('-'))
                .Select(s =>
                {
                    var yaml = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var l in Fences(s.Body).First(f => f.Lang == "yaml").Lines)
                    {
                        int colon = l.IndexOf(':');
                        if (colon > 0) yaml[l[..colon].Trim()] = l[(colon + 1)..].Trim();
                    }
                    return new ParameterHelp(s.Title![1..], Paragraphs(WithoutFences(s.Body)), yaml);
                }).ToArray(),
            Inputs = Subsections(Section("INPUTS")).Select(s => new TypeHelp(s.Title!, Paragraphs(s.Body))).ToArray(),
            Outputs = Subsections(Section("OUTPUTS")).Select(s => new TypeHelp(s.Title!, Paragraphs(s.Body))).ToArray(),
            Notes = Paragraphs(Section("NOTES")),
            Links = Section("RELATED LINKS")
                .Select(l => Regex.Match(l, @"^\[(?<t>[^\]]+)\]\((?<u>[^)]*)\)"))
                .Where(m => m.Success)
                .Select(m => (m.Groups["t"].Value, m.Groups["u"].Value))
                .ToArray(),
        };
    }

    private static List<(string? Title, List<string> Body)> Subsections(List<string> lines, bool includeLeading = false)
    {
        var result = new List<(string?, List<string>)>();
        var body = new List<string>();
        string? title = null;
        bool started = includeLeading, inFence = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (!inFence && line.StartsWith("### ", StringComparison.Ordinal))
            {
                if (started && (title is not null || body.Any(l => l.Length > 0))) result.Add((title, body));
                title = line[4..].Trim();
                body = new List<string>();
                started = true;
                continue;
            }
            if (started) body.Add(line);
        }
        if (started && (title is not null || body.Any(l => l.Length > 0))) result.Add((title, body));
        return result;
    }

    private static List<(string Lang, List<string> Lines)> Fences(List<string> lines)
    {
        var result = new List<(string, List<string>)>();
        List<string>? current = null;
        string lang = "";
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (current is null) { current = new List<string>(); lang = line[3..].Trim(); }
                else { result.Add((lang, current)); current = null; }
                continue;
            }
            current?.Add(line);
        }
        return result;
    }

    private static List<string> WithoutFences(List<string> lines)
    {
        var result = new List<string>();
        bool inFence = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) { inFence = !inFence; result.Add(""); continue; }
            if (!inFence) result.Add(line);
        }
        return result;
    }

    /// <summary>Blank-line separated paragraphs, lines joined with spaces (Get-Help re-wraps text).</summary>
    private static List<string> Paragraphs(IEnumerable<string> lines)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        foreach (var raw in lines.Append(""))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                if (sb.Length > 0) { result.Add(sb.ToString()); sb.Clear(); }
                continue;
            }
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(line);
        }
        return result;
    }
}
