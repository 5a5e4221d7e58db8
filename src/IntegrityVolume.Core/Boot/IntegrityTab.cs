using System.Globalization;
using System.Text;

namespace IntegrityVolume.Core.Boot;

public enum IntegrityTabLineKind { Blank, Comment, Entry, Invalid }

/// <summary>One line of the file, kept verbatim (without its '\n') so a rewrite changes only what it must.</summary>
public sealed class IntegrityTabLine
{
    public required IntegrityTabLineKind Kind { get; init; }
    public required string Text { get; init; }
    public IntegrityTabEntry? Entry { get; init; }

    public static IntegrityTabLine Parse(string text, int lineNumber, out IntegrityTabProblem? problem)
    {
        string t = text.Trim();
        problem = null;
        if (t.Length == 0) return new IntegrityTabLine { Kind = IntegrityTabLineKind.Blank, Text = text };
        if (t[0] == '#') return new IntegrityTabLine { Kind = IntegrityTabLineKind.Comment, Text = text };
        var entry = IntegrityTabEntry.TryParseFields(text, lineNumber, out problem);
        return entry is null
            ? new IntegrityTabLine { Kind = IntegrityTabLineKind.Invalid, Text = text }
            : new IntegrityTabLine { Kind = IntegrityTabLineKind.Entry, Text = text, Entry = entry };
    }
}

/// <summary>What an add or remove did (or, with dry run, would do) to an integritytab file.</summary>
public sealed class IntegrityTabUpdateResult
{
    public required string Path { get; init; }
    public required string Name { get; init; }
    /// <summary>"added", "replaced", "removed" or "unchanged".</summary>
    public required string Action { get; init; }
    public bool Changed => Action != "unchanged";
    public bool DryRun { get; init; }
    /// <summary>The entry's line after the change (null after a removal).</summary>
    public string? Line { get; init; }
    /// <summary>The line(s) the change replaced or removed.</summary>
    public string[] PreviousLines { get; init; } = Array.Empty<string>();
    public string[] Warnings { get; init; } = Array.Empty<string>();
}

/// <summary>
/// An /etc/integritytab file (systemd's integritytab(5)): parsed leniently so every line, comment, blank or broken
/// line survives a rewrite byte for byte; entries added, replaced and removed in place; written atomically.
/// </summary>
public sealed class IntegrityTab
{
    public const string DefaultPath = "/etc/integritytab";

    private readonly List<IntegrityTabLine> _lines;
    private bool _endsWithNewline;

    private IntegrityTab(List<IntegrityTabLine> lines, bool endsWithNewline, string? path, bool exists)
    {
        _lines = lines;
        _endsWithNewline = endsWithNewline;
        Path = path;
        Exists = exists;
    }

    public string? Path { get; }
    /// <summary>False when the file did not exist (an empty table).</summary>
    public bool Exists { get; }
    public IReadOnlyList<IntegrityTabLine> Lines => _lines;
    public IEnumerable<IntegrityTabEntry> Entries => _lines.Where(l => l.Entry is not null).Select(l => l.Entry!);

    public static IntegrityTab Parse(string text, string? path = null) => Parse(text, path, exists: true);

    private static IntegrityTab Parse(string text, string? path, bool exists)
    {
        var lines = new List<IntegrityTabLine>();
        bool endsWithNewline = false;
        if (text.Length > 0)
        {
            endsWithNewline = text[^1] == '\n';
            string body = endsWithNewline ? text[..^1] : text;
            var raw = body.Split('\n');
            for (int i = 0; i < raw.Length; i++) lines.Add(IntegrityTabLine.Parse(raw[i], i + 1, out _));
        }
        return new IntegrityTab(lines, endsWithNewline, path, exists);
    }

    /// <summary>Read a file; a missing file is an empty table (<see cref="Exists"/> false), as systemd treats it.</summary>
    public static IntegrityTab Load(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                if (Directory.Exists(path))
                    throw new IntegrityVolumeException(ErrorIds.IntegrityTabReadFailed, ErrorKind.InvalidArgument, $"{path} is a directory.", path);
                return new IntegrityTab(new List<IntegrityTabLine>(), false, path, exists: false);
            }
            return Parse(File.ReadAllText(path, new UTF8Encoding(false)), path, exists: true);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.IntegrityTabReadFailed, ErrorKind.PermissionDenied, $"{path}: {ex.Message}", path, ex);
        }
        catch (IOException ex)
        {
            throw new IntegrityVolumeException(ErrorIds.IntegrityTabReadFailed, ErrorKind.DeviceError, $"{path}: {ex.Message}", path, ex);
        }
    }

    /// <summary>The file's text: identical to what was parsed until a change.</summary>
    public string ToText() => _lines.Count == 0 ? "" : string.Join('\n', _lines.Select(l => l.Text)) + (_endsWithNewline ? "\n" : "");

    /// <summary>Every problem in the file: per line, plus duplicate volume names (the generator fails on the second).</summary>
    public IReadOnlyList<IntegrityTabProblem> Validate(int? systemdVersion = null)
    {
        var problems = new List<IntegrityTabProblem>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i];
            if (line.Kind == IntegrityTabLineKind.Invalid)
            {
                IntegrityTabLine.Parse(line.Text, i + 1, out var p);
                if (p is not null) problems.Add(p);
                continue;
            }
            if (line.Entry is not { } e) continue;
            var fields = line.Text.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4)
                problems.Add(new IntegrityTabProblem(i + 1, ErrorIds.IntegrityTabExtraFields, IntegrityTabSeverity.Warning,
                    $"'{string.Join(' ', fields[4..])}' after the options field is ignored by systemd."));
            problems.AddRange(e.Check(systemdVersion));
            if (seen.TryGetValue(e.Name, out int first))
                problems.Add(new IntegrityTabProblem(i + 1, ErrorIds.IntegrityTabDuplicateName, IntegrityTabSeverity.Error,
                    $"Volume '{e.Name}' is already defined on line {first}; systemd's generator fails on the second definition."));
            else seen[e.Name] = i + 1;
        }
        return problems;
    }

    /// <summary>
    /// Make the file hold exactly this entry for its name: unchanged when an equivalent line is already the only one
    /// (its spacing and option order kept), else the first line of that name is replaced (later duplicates dropped)
    /// or the line is appended.
    /// </summary>
    public IntegrityTabUpdateResult Set(IntegrityTabEntry entry)
    {
        var indexes = IndexesOf(entry.Name);
        string path = Path ?? "";
        if (indexes.Count == 1 && _lines[indexes[0]].Entry!.IsEquivalentTo(entry))
            return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "unchanged", Line = _lines[indexes[0]].Text.Trim() };
        string text = entry.ToLine();
        // A CRLF file stays CRLF: the line we write or replace takes the '\r' its neighbour (or predecessor) had.
        var model = indexes.Count > 0 ? _lines[indexes[0]] : _lines.LastOrDefault();
        string cr = model is not null && model.Text.EndsWith('\r') ? "\r" : "";
        var newLine = new IntegrityTabLine
        {
            Kind = IntegrityTabLineKind.Entry, Text = text + cr,
            Entry = new IntegrityTabEntry { Name = entry.Name, Device = entry.Device, KeyFile = entry.KeyFile, Options = entry.Options.ToArray() },
        };
        var previous = indexes.Select(i => _lines[i].Text.Trim()).ToArray();
        if (indexes.Count == 0)
        {
            _lines.Add(newLine);
            _endsWithNewline = true;
            return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "added", Line = text };
        }
        _lines[indexes[0]] = newLine;
        for (int k = indexes.Count - 1; k >= 1; k--) _lines.RemoveAt(indexes[k]);
        return new IntegrityTabUpdateResult { Path = path, Name = entry.Name, Action = "replaced", Line = text, PreviousLines = previous };
    }

    /// <summary>Remove every line of this volume name; unchanged when there is none.</summary>
    public IntegrityTabUpdateResult Remove(string name)
    {
        var indexes = IndexesOf(name);
        string path = Path ?? "";
        if (indexes.Count == 0) return new IntegrityTabUpdateResult { Path = path, Name = name, Action = "unchanged" };
        var previous = indexes.Select(i => _lines[i].Text.Trim()).ToArray();
        for (int k = indexes.Count - 1; k >= 0; k--) _lines.RemoveAt(indexes[k]);
        if (_lines.Count == 0) _endsWithNewline = false;
        return new IntegrityTabUpdateResult { Path = path, Name = name, Action = "removed", PreviousLines = previous };
    }

    private List<int> IndexesOf(string name)
    {
        var result = new List<int>();
        for (int i = 0; i < _lines.Count; i++)
            if (_lines[i].Entry?.Name == name) result.Add(i);
        return result;
    }

    /// <summary>Write the file atomically (<see cref="BootFile.WriteAtomically"/>).</summary>
    public void Save(string path) => BootFile.WriteAtomically(path, ToText(), ErrorIds.IntegrityTabWriteFailed);

    /// <summary>Add or replace an entry in a file (created when missing); with dry run, report what would happen.</summary>
    public static IntegrityTabUpdateResult AddOrReplace(string path, IntegrityTabEntry entry, bool dryRun = false, int? systemdVersion = null)
    {
        var tab = Load(path);
        var r = tab.Set(entry);
        if (r.Changed && !dryRun) tab.Save(path);
        // Warnings about the entry, and errors elsewhere in the file that systemd will trip over (left as they are).
        var warnings = entry.Check(systemdVersion).Where(p => p.Severity == IntegrityTabSeverity.Warning).Select(p => p.Message)
            .Concat(tab.Validate(systemdVersion).Where(p => p.Severity == IntegrityTabSeverity.Error)
                .Select(p => $"{path}:{p.LineNumber}: {p.Message} [{p.ErrorId}]"));
        return new IntegrityTabUpdateResult
        {
            Path = path, Name = r.Name, Action = r.Action, DryRun = dryRun, Line = r.Line, PreviousLines = r.PreviousLines,
            Warnings = warnings.ToArray(),
        };
    }

    /// <summary>Remove an entry from a file; unchanged (and the file untouched) when it is not there.</summary>
    public static IntegrityTabUpdateResult RemoveEntry(string path, string name, bool dryRun = false)
    {
        var tab = Load(path);
        var r = tab.Remove(name);
        if (r.Changed && !dryRun) tab.Save(path);
        return new IntegrityTabUpdateResult { Path = path, Name = name, Action = r.Action, DryRun = dryRun, PreviousLines = r.PreviousLines };
    }
}
