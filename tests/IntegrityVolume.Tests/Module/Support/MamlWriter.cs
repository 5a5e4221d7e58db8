using System.Xml;
using System.Xml.Linq;

namespace IntegrityVolume.Tests.Module.Support;

/// <summary>
/// Converts platyPS markdown (docs/en-US/*.md) into MAML, in the shape platyPS New-ExternalHelp and PowerShell's
/// own help files use. Stand-in for New-ExternalHelp where PlatyPS cannot run: HelpTests regenerates the MAML in
/// memory and fails when en-US/IntegrityVolume.dll-Help.xml differs; set IVOL_UPDATE_HELP=1 to rewrite it.
/// </summary>
internal static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    public static readonly XNamespace MsHelp = "http://msdn.microsoft.com/mshelp";

    public static XDocument Write(IEnumerable<CommandHelp> commands) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                commands.OrderBy(c => c.Name, StringComparer.Ordinal).Select(Command_)));

    public static string ToText(XDocument doc)
    {
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new System.Text.UTF8Encoding(false), NewLineChars = "\n" };
        using var ms = new MemoryStream();
        using (var w = XmlWriter.Create(ms, settings)) doc.Save(w);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static XElement Command_(CommandHelp c)
    {
        string[] verbNoun = c.Name.Split('-', 2);
        var setNames = c.Parameters.SelectMany(p => p.ParameterSets).Where(s => s != "(All)").Distinct().ToList();
        // Syntax items in the order of the SYNTAX section, then any set it does not show.
        var ordered = c.Syntax.Where(s => s.SetName is not null).Select(s => s.SetName!).Concat(setNames).Distinct().Where(setNames.Contains).ToList();
        var syntaxSets = ordered.Count > 0 ? ordered.Cast<string?>().ToList() : new List<string?> { null };

        return new XElement(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MsHelp),
            new XElement(Command + "details",
                new XElement(Command + "name", c.Name),
                new XElement(Command + "verb", verbNoun[0]),
                new XElement(Command + "noun", verbNoun.Length > 1 ? verbNoun[1] : ""),
                Description(new[] { c.Synopsis })),
            Description(c.Description),
            new XElement(Command + "syntax",
                syntaxSets.Select(set => new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", c.Name),
                    SyntaxOrder(c.Parameters.Where(p => set is null || p.InAllSets || p.ParameterSets.Contains(set)))
                        .Select(p => Parameter(p, forSyntax: true))))),
            new XElement(Command + "parameters", c.Parameters.Select(p => Parameter(p, forSyntax: false))),
            new XElement(Command + "inputTypes", c.Inputs.Select(t => new XElement(Command + "inputType", TypeElement(t.TypeName), Description(t.Description)))),
            new XElement(Command + "returnValues", c.Outputs.Select(t => new XElement(Command + "returnValue", TypeElement(t.TypeName), Description(t.Description)))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", c.Notes.Select(n => new XElement(Maml + "para", n)))),
            new XElement(Command + "examples", c.Examples.Select(e => new XElement(Command + "example",
                new XElement(Maml + "title", $"-------------------------- {e.Title} --------------------------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", e.Remarks.Select(r => new XElement(Maml + "para", r)))))),
            new XElement(Command + "relatedLinks", c.Links.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text),
                new XElement(Maml + "uri", IsWebLink(l.Uri) ? l.Uri : "")))));
    }

    /// <summary>Positional parameters by position, then mandatory ones, then the rest, each in document order.</summary>
    private static IEnumerable<ParameterHelp> SyntaxOrder(IEnumerable<ParameterHelp> parameters) =>
        parameters.Select((p, i) => (p, i))
            .OrderBy(x => int.TryParse(x.p.Position, out int pos) ? pos : int.MaxValue)
            .ThenBy(x => x.p.Required ? 0 : 1)
            .ThenBy(x => x.i)
            .Select(x => x.p);

    private static XElement Parameter(ParameterHelp p, bool forSyntax)
    {
        bool isSwitch = p.Type == "SwitchParameter";
        var e = new XElement(Command + "parameter",
            new XAttribute("required", p.Required ? "true" : "false"),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", p.Wildcards ? "true" : "false"),
            new XAttribute("pipelineInput", p.PipelineInput),
            new XAttribute("position", int.TryParse(p.Position, out int pos) ? pos.ToString() : "named"),
            new XAttribute("aliases", p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases)),
            new XElement(Maml + "name", p.Name),
            Description(p.Description));
        if (p.AcceptedValues.Count > 0)
            e.Add(new XElement(Command + "parameterValueGroup", p.AcceptedValues.Select(v =>
                new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), v))));
        // Like PowerShell's own help: a switch has no value in the syntax.
        if (!(forSyntax && isSwitch))
            e.Add(new XElement(Command + "parameterValue", new XAttribute("required", isSwitch ? "false" : "true"), new XAttribute("variableLength", "false"), p.Type));
        e.Add(TypeElement(p.Type));
        e.Add(new XElement(Dev + "defaultValue", p.DefaultValue));
        return e;
    }

    private static XElement TypeElement(string name) =>
        new(Dev + "type", new XElement(Maml + "name", name), new XElement(Maml + "uri"));

    private static XElement Description(IEnumerable<string> paragraphs) =>
        new(Maml + "description", paragraphs.Select(p => new XElement(Maml + "para", p)));

    private static bool IsWebLink(string uri) => uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
