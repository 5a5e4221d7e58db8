using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using IntegrityVolume.Core;
using Xunit;

namespace IntegrityVolume.Tests.Architecture;

/// <summary>
/// The rules of docs/architecture.md, read from the built IntegrityVolume.Core.dll: which assemblies it references,
/// and which namespaces the code of each Core namespace uses (IL operands, signatures, base types), so a new file
/// is covered without being listed here.
/// </summary>
public class LayeringTests
{
    private static readonly Lazy<CoreModel> Core = new(() => CoreModel.Load(typeof(IntegrityVolumeException).Assembly.Location));

    [Theory]
    [InlineData("ivol")]                            // the CLI
    [InlineData("IntegrityVolume")]                 // the module
    [InlineData("IntegrityVolume.Benchmark")]
    [InlineData("System.Management.Automation")]
    public void CoreDoesNotReferenceAFrontEndTheBenchmarkOrPowerShell(string assembly)
    {
        Assert.DoesNotContain(assembly, Core.Value.AssemblyReferences);
        Assert.DoesNotContain(Core.Value.ExternalNamespaces, ns => ns == "System.Management.Automation" || ns.StartsWith("System.Management.Automation.", StringComparison.Ordinal));
    }

    [Fact]
    public void KernelCallsOnlyDownward()
    {
        // Kernel/ is device-mapper plumbing: it may use Devices, Format, Hashing and the root types, never Operations
        // (formatting, writing) nor Verification.
        var uses = Core.Value.Uses("IntegrityVolume.Core.Kernel");
        Assert.DoesNotContain("IntegrityVolume.Core.Operations", uses);
        Assert.DoesNotContain("IntegrityVolume.Core.Verification", uses);
    }

    [Fact]
    public void CoreNamespacesHaveNoCycles()
    {
        // Among Core's sub-namespaces (the root holds the shared types: exceptions, progress, requests, the façade).
        var graph = Core.Value.Namespaces.Where(n => n != CoreModel.Root)
            .ToDictionary(n => n, n => Core.Value.Uses(n).Where(u => u != n && u != CoreModel.Root).ToList());
        var state = new Dictionary<string, int>();
        var path = new List<string>();
        foreach (var n in graph.Keys) Visit(n);

        void Visit(string n)
        {
            if (state.GetValueOrDefault(n) == 2) return;
            path.Add(n);
            Assert.False(state.GetValueOrDefault(n) == 1, "Cycle: " + string.Join(" -> ", path.SkipWhile(p => p != n)));
            state[n] = 1;
            foreach (var m in graph.GetValueOrDefault(n) ?? new List<string>()) Visit(m);
            state[n] = 2;
            path.RemoveAt(path.Count - 1);
        }
    }

    [Fact]
    public void EveryCoreFileIsInTheFolderOfItsNamespace()
    {
        // Folders match namespaces: src/IntegrityVolume.Core/Kernel/X.cs declares namespace IntegrityVolume.Core.Kernel.
        string root = Path.Combine(IntegrityVolume.Tests.Module.Support.ModulePaths.RepoRoot, "src", "IntegrityVolume.Core");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(d => d is "bin" or "obj"))
            .ToList();
        Assert.NotEmpty(files);
        var wrong = new List<string>();
        foreach (var file in files)
        {
            string folder = Path.GetDirectoryName(Path.GetRelativePath(root, file))!;
            string expected = folder.Length == 0 ? CoreModel.Root : CoreModel.Root + "." + folder.Replace(Path.DirectorySeparatorChar, '.');
            var declared = File.ReadLines(file).Select(l => l.Trim())
                .Where(l => l.StartsWith("namespace ", StringComparison.Ordinal))
                .Select(l => l["namespace ".Length..].TrimEnd(';', ' ', '{')).ToList();
            if (declared.Count == 0 || declared.Any(n => n != expected))
                wrong.Add($"{Path.GetRelativePath(root, file)}: namespace {string.Join(", ", declared)} (folder wants {expected})");
        }
        Assert.True(wrong.Count == 0, "Files whose namespace does not match their folder:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void TheScannerSeesKnownReferences()
    {
        // Guards the rules above against passing vacuously: these uses exist in the code today.
        Assert.Contains("IntegrityVolume.Core.Devices", Core.Value.Uses("IntegrityVolume.Core.Kernel"));          // NativeMethods
        Assert.Contains("IntegrityVolume.Core.Kernel", Core.Value.Uses("IntegrityVolume.Core.Operations"));       // KernelFormatter
        Assert.Contains("IntegrityVolume.Core.Format", Core.Value.Uses("IntegrityVolume.Core.Kernel"));           // Superblock
        Assert.Contains("System.Runtime.InteropServices", Core.Value.ExternalNamespaces);
        Assert.Contains("K4os.Hash.xxHash", Core.Value.AssemblyReferences);
    }

    /// <summary>Namespace-level dependencies of one assembly, from its metadata.</summary>
    private sealed class CoreModel
    {
        public const string Root = "IntegrityVolume.Core";
        private readonly Dictionary<string, HashSet<string>> _uses = new();
        public HashSet<string> AssemblyReferences { get; } = new();
        public HashSet<string> ExternalNamespaces { get; } = new();
        public IEnumerable<string> Namespaces => _uses.Keys;
        public IReadOnlySet<string> Uses(string ns) => _uses.TryGetValue(ns, out var s) ? s : new HashSet<string>();

        private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value, o => o.OperandType);

        public static CoreModel Load(string path)
        {
            using var pe = new PEReader(File.OpenRead(path));
            var md = pe.GetMetadataReader();
            var model = new CoreModel();
            foreach (var h in md.AssemblyReferences) model.AssemblyReferences.Add(md.GetString(md.GetAssemblyReference(h).Name));
            foreach (var h in md.TypeReferences) model.ExternalNamespaces.Add(Namespace(md, h));
            var provider = new NamespaceProvider(md);
            foreach (var th in md.TypeDefinitions)
            {
                string own = Namespace(md, th);
                if (own != Root && !own.StartsWith(Root + ".", StringComparison.Ordinal)) continue;
                if (!model._uses.TryGetValue(own, out var uses)) model._uses[own] = uses = new HashSet<string>();
                var t = md.GetTypeDefinition(th);
                if (!t.BaseType.IsNil) uses.UnionWith(provider.Of(t.BaseType));
                foreach (var ih in t.GetInterfaceImplementations()) uses.UnionWith(provider.Of(md.GetInterfaceImplementation(ih).Interface));
                foreach (var fh in t.GetFields()) uses.UnionWith(md.GetFieldDefinition(fh).DecodeSignature(provider, null));
                foreach (var mh in t.GetMethods())
                {
                    var m = md.GetMethodDefinition(mh);
                    var sig = m.DecodeSignature(provider, null);
                    uses.UnionWith(sig.ReturnType);
                    foreach (var p in sig.ParameterTypes) uses.UnionWith(p);
                    if (m.RelativeVirtualAddress == 0) continue;
                    var body = pe.GetMethodBody(m.RelativeVirtualAddress);
                    if (!body.LocalSignature.IsNil)
                        foreach (var l in md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null)) uses.UnionWith(l);
                    foreach (var token in Tokens(body.GetILBytes()!)) uses.UnionWith(provider.Of(MetadataTokens.EntityHandle(token)));
                }
            }
            foreach (var s in model._uses.Values) s.RemoveWhere(n => n.Length == 0);
            return model;
        }

        /// <summary>Metadata tokens of the type, field and method operands in an IL stream.</summary>
        private static IEnumerable<int> Tokens(byte[] il)
        {
            int i = 0;
            while (i < il.Length)
            {
                short code = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
                i += il[i] == 0xFE ? 2 : 1;
                switch (Operands[code])
                {
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                        yield return BitConverter.ToInt32(il, i); i += 4; break;
                    case OperandType.InlineNone: break;
                    case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: i += 1; break;
                    case OperandType.InlineVar: i += 2; break;
                    case OperandType.InlineI8 or OperandType.InlineR: i += 8; break;
                    case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                    default: i += 4; break;   // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
                }
            }
        }

        private static string Namespace(MetadataReader md, TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            while (t.IsNested) t = md.GetTypeDefinition(t.GetDeclaringType());
            return md.GetString(t.Namespace);
        }

        private static string Namespace(MetadataReader md, TypeReferenceHandle h)
        {
            var t = md.GetTypeReference(h);
            while (t.ResolutionScope.Kind == HandleKind.TypeReference) t = md.GetTypeReference((TypeReferenceHandle)t.ResolutionScope);
            return md.GetString(t.Namespace);
        }

        /// <summary>The namespaces a handle or signature names (generic arguments included).</summary>
        private sealed class NamespaceProvider(MetadataReader md) : ISignatureTypeProvider<ImmutableArray<string>, object?>
        {
            private static readonly ImmutableArray<string> None = ImmutableArray<string>.Empty;

            public IEnumerable<string> Of(EntityHandle h) => h.Kind switch
            {
                HandleKind.TypeDefinition => new[] { Namespace(md, (TypeDefinitionHandle)h) },
                HandleKind.TypeReference => new[] { Namespace(md, (TypeReferenceHandle)h) },
                HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)h).DecodeSignature(this, null),
                HandleKind.FieldDefinition => Of(md.GetFieldDefinition((FieldDefinitionHandle)h).GetDeclaringType()),
                HandleKind.MethodDefinition => Of(md.GetMethodDefinition((MethodDefinitionHandle)h).GetDeclaringType()),
                HandleKind.MemberReference => Of(md.GetMemberReference((MemberReferenceHandle)h).Parent),
                HandleKind.MethodSpecification => Of(md.GetMethodSpecification((MethodSpecificationHandle)h).Method)
                    .Concat(md.GetMethodSpecification((MethodSpecificationHandle)h).DecodeSignature(this, null).SelectMany(a => a)),
                _ => None,
            };

            public ImmutableArray<string> GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte kind) => ImmutableArray.Create(Namespace(r, h));
            public ImmutableArray<string> GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte kind) => ImmutableArray.Create(Namespace(r, h));
            public ImmutableArray<string> GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte kind) =>
                r.GetTypeSpecification(h).DecodeSignature(this, c);
            public ImmutableArray<string> GetPrimitiveType(PrimitiveTypeCode code) => None;
            public ImmutableArray<string> GetGenericInstantiation(ImmutableArray<string> generic, ImmutableArray<ImmutableArray<string>> args) =>
                generic.AddRange(args.SelectMany(a => a));
            public ImmutableArray<string> GetArrayType(ImmutableArray<string> element, ArrayShape shape) => element;
            public ImmutableArray<string> GetSZArrayType(ImmutableArray<string> element) => element;
            public ImmutableArray<string> GetByReferenceType(ImmutableArray<string> element) => element;
            public ImmutableArray<string> GetPointerType(ImmutableArray<string> element) => element;
            public ImmutableArray<string> GetPinnedType(ImmutableArray<string> element) => element;
            public ImmutableArray<string> GetModifiedType(ImmutableArray<string> modifier, ImmutableArray<string> unmodified, bool required) => unmodified;
            public ImmutableArray<string> GetFunctionPointerType(MethodSignature<ImmutableArray<string>> s) =>
                s.ReturnType.AddRange(s.ParameterTypes.SelectMany(p => p));
            public ImmutableArray<string> GetGenericMethodParameter(object? c, int index) => None;
            public ImmutableArray<string> GetGenericTypeParameter(object? c, int index) => None;
        }
    }
}
