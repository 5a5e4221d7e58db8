using System.Collections.ObjectModel;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace IntegrityVolume.Tests.Module.Support;

/// <summary>One [Parameter] attribute of a parameter (a parameter may carry one per parameter set).</summary>
internal sealed record ParameterSetBinding(string SetName, bool Mandatory, int? Position, bool ByValue, bool ByPropertyName)
{
    public const string AllSets = "__AllParameterSets";
    public string PipelineInput => (ByValue, ByPropertyName) switch
    {
        (true, true) => "True (ByValue, ByPropertyName)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };
}

internal sealed record ParameterModel(
    string Name, string TypeName, string TypeFullName, bool IsSwitch, IReadOnlyList<string> Aliases,
    IReadOnlyList<string> ValidateSet, bool SupportsWildcards, string? CompleterType, IReadOnlyList<ParameterSetBinding> Sets,
    bool IsCommonShouldProcess = false)
{
    public bool InSet(string set) => Sets.Any(s => s.SetName == set || s.SetName == ParameterSetBinding.AllSets);
    public ParameterSetBinding BindingFor(string set) =>
        Sets.FirstOrDefault(s => s.SetName == set) ?? Sets.First(s => s.SetName == ParameterSetBinding.AllSets);
}

internal sealed record CmdletModel(
    string Name, string Verb, string Noun, string ClassFullName, string ClassName, bool IsPublic, bool IsSealed, bool IsAbstract,
    string BaseTypeFullName, bool SupportsShouldProcess, string ConfirmImpact, string? DefaultParameterSetName,
    IReadOnlyList<string> OutputTypes, IReadOnlyList<ParameterModel> DeclaredParameters)
{
    /// <summary>Declared parameters plus -WhatIf/-Confirm when SupportsShouldProcess (what help must document).</summary>
    public IReadOnlyList<ParameterModel> DocumentedParameters =>
        SupportsShouldProcess
            ? DeclaredParameters.Concat(new[]
              {
                  ShouldProcessParameter("WhatIf", "wi"),
                  ShouldProcessParameter("Confirm", "cf"),
              }).ToArray()
            : DeclaredParameters;

    /// <summary>Parameter sets as pwsh computes them: the named sets, or the single implicit set.</summary>
    public IReadOnlyList<string> ParameterSets
    {
        get
        {
            var named = DeclaredParameters.SelectMany(p => p.Sets).Select(s => s.SetName)
                .Where(s => s != ParameterSetBinding.AllSets).Distinct().ToList();
            return named.Count > 0 ? named : new List<string> { ParameterSetBinding.AllSets };
        }
    }

    private static ParameterModel ShouldProcessParameter(string name, string alias) =>
        new(name, "SwitchParameter", "System.Management.Automation.SwitchParameter", true, new[] { alias }, Array.Empty<string>(), false, null,
            new[] { new ParameterSetBinding(ParameterSetBinding.AllSets, false, null, false, false) }, IsCommonShouldProcess: true);
}

/// <summary>Constant fields of SMA types read from the reference assembly (verbs, ErrorCategory).</summary>
internal sealed record SmaFacts(IReadOnlyDictionary<string, string> ApprovedVerbs, IReadOnlyDictionary<string, int> ErrorCategories);

/// <summary>
/// Reads IntegrityVolume.dll with System.Reflection.MetadataLoadContext: the cmdlet attributes are inspected
/// without loading System.Management.Automation for execution (the PowerShellStandard stub serves as metadata).
/// Everything is copied into plain records, so the load context is disposed right away.
/// </summary>
internal static class ModuleMetadata
{
    private const string Sma = "System.Management.Automation.";
    private static readonly Lazy<(IReadOnlyList<CmdletModel> Cmdlets, SmaFacts Facts, IReadOnlyList<string> PublicTypes, IReadOnlyList<string> References)> Data = new(Load);

    public static IReadOnlyList<CmdletModel> Cmdlets => Data.Value.Cmdlets;
    public static SmaFacts Facts => Data.Value.Facts;
    public static IReadOnlyList<string> PublicTypeNames => Data.Value.PublicTypes;
    /// <summary>Assembly references of IntegrityVolume.dll ("Name, Version").</summary>
    public static IReadOnlyList<string> AssemblyReferences => Data.Value.References;

    public static MetadataLoadContext CreateContext(params string[] extraAssemblies)
    {
        var paths = Directory.GetFiles(ModulePaths.RuntimeDir, "*.dll")
            .Concat(Directory.GetFiles(ModulePaths.ModuleBinDir, "*.dll"))
            .Append(ModulePaths.SmaStub)
            .Concat(extraAssemblies)
            .Distinct()
            .ToArray();
        return new MetadataLoadContext(new PathAssemblyResolver(paths));
    }

    private static (IReadOnlyList<CmdletModel>, SmaFacts, IReadOnlyList<string>, IReadOnlyList<string>) Load()
    {
        using var mlc = CreateContext();
        var module = mlc.LoadFromAssemblyPath(ModulePaths.ModuleAssembly);
        var sma = mlc.LoadFromAssemblyPath(ModulePaths.SmaStub);

        var verbs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var cls in new[] { "VerbsCommon", "VerbsCommunications", "VerbsData", "VerbsDiagnostic", "VerbsLifecycle", "VerbsSecurity", "VerbsOther" })
            foreach (var f in sma.GetType(Sma + cls, throwOnError: true)!.GetFields(BindingFlags.Public | BindingFlags.Static))
                if (f.IsLiteral && f.GetRawConstantValue() is string v)
                    verbs[v] = cls;
        var categories = sma.GetType(Sma + "ErrorCategory", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .ToDictionary(f => f.Name, f => Convert.ToInt32(f.GetRawConstantValue()));

        var cmdlets = new List<CmdletModel>();
        foreach (var type in module.GetTypes())
        {
            var cmdletAttr = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == Sma + "CmdletAttribute");
            if (cmdletAttr is null) continue;
            string verb = (string)cmdletAttr.ConstructorArguments[0].Value!;
            string noun = (string)cmdletAttr.ConstructorArguments[1].Value!;
            var named = cmdletAttr.NamedArguments.ToDictionary(n => n.MemberName, n => n.TypedValue.Value);
            var outputs = type.GetCustomAttributesData()
                .Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
                .SelectMany(a => a.ConstructorArguments)
                .SelectMany(arg => arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> list ? list.Select(x => x.Value) : new[] { arg.Value })
                .Select(v => v is Type t ? t.FullName! : v?.ToString() ?? "")
                .ToArray();
            string confirmImpact = named.TryGetValue("ConfirmImpact", out var ci) && ci is not null
                ? sma.GetType(Sma + "ConfirmImpact")!.GetFields(BindingFlags.Public | BindingFlags.Static).First(f => Equals(f.GetRawConstantValue(), ci)).Name
                : "Medium";
            cmdlets.Add(new CmdletModel(
                $"{verb}-{noun}", verb, noun, type.FullName!, type.Name, type.IsPublic, type.IsSealed, type.IsAbstract,
                type.BaseType?.FullName ?? "", named.TryGetValue("SupportsShouldProcess", out var ssp) && ssp is true, confirmImpact,
                named.TryGetValue("DefaultParameterSetName", out var dps) ? dps as string : null,
                outputs, ReadParameters(type)));
        }
        var publicTypes = module.GetExportedTypes().Select(t => t.FullName!).OrderBy(n => n).ToArray();
        var references = module.GetReferencedAssemblies().Select(a => $"{a.Name}, {a.Version}").ToArray();
        return (cmdlets.OrderBy(c => c.Name).ToArray(), new SmaFacts(verbs, categories), publicTypes, references);
    }

    private static IReadOnlyList<ParameterModel> ReadParameters(Type type)
    {
        var result = new List<ParameterModel>();
        foreach (var prop in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attrs = prop.GetCustomAttributesData();
            var sets = attrs.Where(a => a.AttributeType.FullName == Sma + "ParameterAttribute").Select(a =>
            {
                var n = a.NamedArguments.ToDictionary(x => x.MemberName, x => x.TypedValue.Value);
                int position = n.TryGetValue("Position", out var p) ? (int)p! : int.MinValue;
                return new ParameterSetBinding(
                    n.TryGetValue("ParameterSetName", out var s) ? (string)s! : ParameterSetBinding.AllSets,
                    n.TryGetValue("Mandatory", out var m) && m is true,
                    position == int.MinValue ? null : position,
                    n.TryGetValue("ValueFromPipeline", out var vfp) && vfp is true,
                    n.TryGetValue("ValueFromPipelineByPropertyName", out var vfpbpn) && vfpbpn is true);
            }).ToArray();
            if (sets.Length == 0) continue;
            result.Add(new ParameterModel(
                prop.Name, prop.PropertyType.Name, prop.PropertyType.FullName!,
                prop.PropertyType.FullName == Sma + "SwitchParameter",
                StringArgs(attrs, "AliasAttribute"), StringArgs(attrs, "ValidateSetAttribute"),
                attrs.Any(a => a.AttributeType.FullName == Sma + "SupportsWildcardsAttribute"),
                attrs.FirstOrDefault(a => a.AttributeType.FullName == Sma + "ArgumentCompleterAttribute")?.ConstructorArguments[0].Value is Type ct ? ct.FullName : null,
                sets));
        }
        return result;
    }

    private static string[] StringArgs(IEnumerable<CustomAttributeData> attrs, string name) =>
        attrs.Where(a => a.AttributeType.FullName == Sma + name)
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> list ? list.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
            .ToArray();

    /// <summary>Fully qualified names of the types whose members IntegrityVolume.dll calls (System.Reflection.Metadata, no load).</summary>
    public static IReadOnlySet<string> ReferencedMemberParents()
    {
        using var stream = File.OpenRead(ModulePaths.ModuleAssembly);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var handle in md.MemberReferences)
        {
            var parent = md.GetMemberReference(handle).Parent;
            if (parent.Kind == HandleKind.TypeReference)
            {
                var tr = md.GetTypeReference((TypeReferenceHandle)parent);
                names.Add($"{md.GetString(tr.Namespace)}.{md.GetString(tr.Name)}");
            }
        }
        return names;
    }
}
