using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using IntegrityVolume.Core;
using IntegrityVolume.Common;
using IntegrityVolume.Tests.Module.Support;
using Xunit;

namespace IntegrityVolume.Tests.Module;

/// <summary>IntegrityVolume.format.ps1xml: every view selects a real output type and uses real members.</summary>
public class FormatFileTests
{
    private static readonly XDocument Doc = XDocument.Load(ModulePaths.FormatFile);
    private static readonly Type[] OutputTypes =
    {
        typeof(VolumeInfo), typeof(VerifyResult), typeof(FormatResult), typeof(WriteResult), typeof(ResizeResult),
        typeof(RepairResult),
        typeof(IntegrityVolume.Core.Kernel.IntegrityMappingInfo), typeof(IntegrityVolume.Core.Kernel.IntegrityCloseResult),
        typeof(IntegrityVolume.Core.Verification.OnlineVerifyResult), typeof(IntegrityVolume.Core.FileSystems.BadBlockOwner),
        typeof(IntegrityVolume.Core.FileSystems.LegSectorPiece),
        typeof(IntegrityVolume.Core.Arrays.MdArrayInfo), typeof(IntegrityVolume.Core.Arrays.ArrayScrubResult),
        typeof(IntegrityVolume.Core.Arrays.ArrayLegReplaceResult),
        typeof(IntegrityVolume.Core.Arrays.ArrayCloseResult),
    };

    private static IEnumerable<XElement> Views => Doc.Root!.Element("ViewDefinitions")!.Elements("View");

    [Fact]
    public void Every_output_type_has_a_table_and_a_list_view()
    {
        foreach (var type in OutputTypes)
        {
            var views = Views.Where(v => v.Element("ViewSelectedBy")!.Elements("TypeName").Any(t => t.Value == type.FullName)).ToArray();
            Assert.Single(views, v => v.Element("TableControl") is not null);
            Assert.Single(views, v => v.Element("ListControl") is not null);
        }
        var names = Views.Select(v => v.Element("Name")!.Value).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Fact]
    public void Views_select_only_types_the_cmdlets_emit()
    {
        var known = OutputTypes.Select(t => t.FullName).ToHashSet();
        foreach (var t in Views.SelectMany(v => v.Element("ViewSelectedBy")!.Elements("TypeName")))
            Assert.Contains(t.Value, known);
        // Every [OutputType] of a cmdlet that is not a primitive has views.
        foreach (var output in ModuleMetadata.Cmdlets.SelectMany(c => c.OutputTypes).Where(o => !o.StartsWith("System.", StringComparison.Ordinal)))
            Assert.Contains(output, known);
    }

    [Fact]
    public void Tables_have_one_item_per_header()
    {
        foreach (var table in Views.Select(v => v.Element("TableControl")).OfType<XElement>())
        {
            int headers = table.Element("TableHeaders")!.Elements("TableColumnHeader").Count();
            foreach (var row in table.Descendants("TableColumnItems"))
                Assert.Equal(headers, row.Elements("TableColumnItem").Count());
        }
    }

    [Fact]
    public void Every_property_and_helper_the_views_use_exists()
    {
        foreach (var view in Views)
        {
            var type = OutputTypes.Single(t => t.FullName == view.Element("ViewSelectedBy")!.Element("TypeName")!.Value);
            foreach (var prop in view.Descendants("PropertyName"))
                Assert.True(type.GetProperty(prop.Value) is not null, $"{type.Name} has no property {prop.Value}");
            foreach (var script in view.Descendants("ScriptBlock"))
            {
                foreach (Match m in Regex.Matches(script.Value, @"\$_\.(?<chain>[A-Za-z]+(\.[A-Za-z]+)*)"))
                {
                    Type current = type;
                    foreach (var member in m.Groups["chain"].Value.Split('.'))
                    {
                        var pi = current.GetProperty(member);
                        Assert.True(pi is not null, $"{type.Name}: '{m.Value}' in a script block names no property");
                        current = pi!.PropertyType;
                    }
                }
                foreach (Match m in Regex.Matches(script.Value, @"\[(?<type>[A-Za-z.]+)\]::(?<method>[A-Za-z]+)\("))
                {
                    if (m.Groups["type"].Value == "Environment") continue;
                    Assert.Equal(typeof(Display).FullName, m.Groups["type"].Value);
                    Assert.True(typeof(Display).GetMethods(BindingFlags.Public | BindingFlags.Static).Any(x => x.Name == m.Groups["method"].Value),
                        $"Display.{m.Groups["method"].Value} does not exist");
                }
                Assert.DoesNotContain("Write-Host", script.Value, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public void Verify_table_puts_the_verdict_and_mismatch_count_first()
    {
        var table = Views.Single(v => v.Element("Name")!.Value == "IntegrityVolume.VerifyResult.Table").Element("TableControl")!;
        var labels = table.Element("TableHeaders")!.Elements("TableColumnHeader").Select(h => h.Element("Label")!.Value).ToArray();
        Assert.Equal(new[] { "Verdict", "Mismatched" }, labels.Take(2));
        var list = Views.Single(v => v.Element("Name")!.Value == "IntegrityVolume.VerifyResult.List");
        Assert.Contains(list.Descendants("Label"), l => l.Value == "MismatchedSectors");
    }

    /// <summary>
    /// At 80 columns a table drops what does not fit: every default table ends with an unsized Path column and leaves
    /// it at least 24 characters (fixed widths plus one space between columns).
    /// </summary>
    [Fact]
    public void Default_tables_leave_the_path_visible_at_80_columns()
    {
        foreach (var view in Views.Where(v => v.Element("TableControl") is not null && v.Element("ViewSelectedBy")!.Value.Contains("IntegrityVolume.Core.")))
        {
            var headers = view.Element("TableControl")!.Element("TableHeaders")!.Elements("TableColumnHeader").ToArray();
            if (headers.Last().Element("Label")?.Value != "Path") continue;
            int used = headers.SkipLast(1).Sum(h => int.Parse(h.Element("Width")!.Value) + 1);
            Assert.True(80 - used >= 24, $"{view.Element("Name")!.Value}: fixed columns take {used} of 80, leaving {80 - used} for Path");
        }
    }

    [Fact]
    public void Size_columns_are_human_readable()
    {
        foreach (var view in Views)
            foreach (var header in view.Descendants("TableColumnHeader").Where(h => h.Element("Label")?.Value is "Size" or "Written"))
            {
                int index = header.ElementsBeforeSelf("TableColumnHeader").Count();
                var item = view.Descendants("TableColumnItems").First().Elements("TableColumnItem").ElementAt(index);
                Assert.Contains("[IntegrityVolume.Common.Display]::", item.Element("ScriptBlock")?.Value ?? "");
            }
    }
}
