using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelDsl.Package.Tests;

/// <summary>How a C# block of the docs is checked.</summary>
public enum SnippetKind
{
    /// <summary>Compiled against the package and run (the default).</summary>
    Run,

    /// <summary>Compiled, not run: it needs what the test machine lacks (a GPU, mpirun) or trains for minutes.</summary>
    CompileOnly,

    /// <summary>Neither: an excerpt of generated or internal code, shown to be read.</summary>
    Fragment,
}

/// <summary>
/// One fenced C# block of a Markdown file (<c>```csharp</c>, <c>```cs</c> or <c>```c#</c>), with what the HTML comment
/// right above it says (README.md, "C# in the docs is compiled"):
/// <code>
/// &lt;!-- snippet: run                       (or "compile-only: why", "fragment: why"; no comment means run)
/// var x = new Tensor(new float[64 * 784], 64, 784);     setup lines: C#, placed before the block's code
/// --&gt;
/// </code>
/// </summary>
public sealed record DocSnippet(string File, int Line, SnippetKind Kind, string Reason, int SetupLine, IReadOnlyList<string> Setup, IReadOnlyList<string> Code)
{
    /// <summary>docs/data.md:65: where the fence opens.</summary>
    public string Name => $"{File}:{Line.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A C# identifier for the snippet's method: Docs_data_md_65.</summary>
    public string MethodName => Regex.Replace(File, "[^A-Za-z0-9]", "_") + "_" + Line.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Finds the C# blocks of Markdown files and writes them as methods of a consumer project.</summary>
public static partial class DocSnippets
{
    private static readonly string[] CSharpFences = ["csharp", "cs", "c#"];

    /// <summary>Every C# block of <paramref name="text"/> (the file <paramref name="file"/>, a path relative to the repository).</summary>
    public static IReadOnlyList<DocSnippet> Parse(string file, string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var snippets = new List<DocSnippet>();
        Marker? pending = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string trimmed = line.TrimStart();
            if (trimmed.StartsWith("<!-- snippet", StringComparison.Ordinal))
            {
                pending = ReadMarker(file, lines, ref i);
                continue;
            }

            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                if (pending is not null && trimmed.Length > 0)
                {
                    throw new FormatException($"{file}:{pending.Line}: a snippet comment must come right above a C# block, but line {i + 1} follows it");
                }

                continue;
            }

            // A fence: read to its closing one.
            string indent = line[..(line.Length - trimmed.Length)];
            string info = trimmed[3..].Trim();
            string language = info.Split(' ', 2)[0];
            int open = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i].StartsWith(indent, StringComparison.Ordinal) ? lines[i][indent.Length..] : lines[i]);
            }

            if (i == lines.Length)
            {
                throw new FormatException($"{file}:{open + 1}: the block opened here is never closed");
            }

            bool csharp = CSharpFences.Contains(language, StringComparer.OrdinalIgnoreCase);
            if (!csharp && info.Length == 0 && body.FindIndex(CSharpStatement().IsMatch) is int statement and >= 0)
            {
                // Untagged C# would escape the check: tag it csharp (and say what it needs or why it is not run).
                throw new FormatException($"{file}:{open + 1 + 1 + statement}: a block without a language holds C# ('{body[statement].Trim()}'): open it with ```csharp");
            }

            if (!csharp)
            {
                if (pending is not null)
                {
                    throw new FormatException($"{file}:{pending.Line}: a snippet comment above a '{info}' block, not a C# one");
                }

                continue;
            }

            Marker marker = pending ?? new Marker(open + 1, SnippetKind.Run, "", open + 1, []);
            pending = null;
            snippets.Add(new DocSnippet(file, open + 1, marker.Kind, marker.Reason, marker.SetupLine, marker.Setup, body));
        }

        if (pending is not null)
        {
            throw new FormatException($"{file}:{pending.Line}: a snippet comment with no C# block after it");
        }

        return snippets;
    }

    private sealed record Marker(int Line, SnippetKind Kind, string Reason, int SetupLine, IReadOnlyList<string> Setup);

    private static Marker ReadMarker(string file, string[] lines, ref int i)
    {
        int start = i;
        Match head = MarkerHead().Match(lines[i].Trim());
        if (!head.Success)
        {
            throw new FormatException($"{file}:{start + 1}: a snippet comment starts '<!-- snippet: run', '<!-- snippet: compile-only: why' or '<!-- snippet: fragment: why', not '{lines[i].Trim()}'");
        }

        SnippetKind kind = head.Groups["kind"].Value switch
        {
            "run" => SnippetKind.Run,
            "compile-only" => SnippetKind.CompileOnly,
            _ => SnippetKind.Fragment,
        };
        string reason = head.Groups["reason"].Value.Trim();
        if (kind != SnippetKind.Run && reason.Length == 0)
        {
            throw new FormatException($"{file}:{start + 1}: a {head.Groups["kind"].Value} snippet says why (\"{head.Groups["kind"].Value}: needs a GPU\")");
        }

        var setup = new List<string>();
        if (head.Groups["close"].Success)
        {
            return new Marker(start + 1, kind, reason, start + 2, setup);
        }

        for (i++; i < lines.Length; i++)
        {
            if (lines[i].Trim() == "-->")
            {
                return new Marker(start + 1, kind, reason, start + 2, setup);
            }

            setup.Add(lines[i]);
        }

        throw new FormatException($"{file}:{start + 1}: the snippet comment is never closed with a '-->' line");
    }

    /// <summary>A line that can only be a C# statement: a declaration or call on the usual types, ending in ';'.</summary>
    [GeneratedRegex(@"^\s*(var|using|foreach|float|int|double|string|Tensor|IntTensor|model\.)\b[^;]*;\s*(//.*)?$")]
    private static partial Regex CSharpStatement();

    [GeneratedRegex(@"^<!-- snippet: (?<kind>run|compile-only|fragment)(:(?<reason>[^>]*?))?\s*(?<close>-->)?$")]
    private static partial Regex MarkerHead();

    /// <summary>
    /// The snippet as a source file of the consumer project: its <c>using</c> lines on top, the rest (setup, then code)
    /// as the body of a static method of <c>Snippets</c> in <paramref name="rootNamespace"/> (where the generated model
    /// classes are), under <c>#line</c> directives so that a compile error names the Markdown file and line.
    /// </summary>
    public static string ToSource(DocSnippet snippet, string rootNamespace, string markdownPath)
    {
        // A block that shows using directives must show all it needs: its setup then names types in full.
        if (snippet.Code.Any(IsUsingDirective) && snippet.Setup.Any(IsUsingDirective))
        {
            throw new FormatException($"{snippet.Name}: the block has using directives, so its setup may not add any (name the setup's types in full)");
        }

        var usings = snippet.Setup.Concat(snippet.Code).Where(IsUsingDirective).Select(line => line.Trim()).Distinct(StringComparer.Ordinal).ToList();
        var text = new StringBuilder();
        text.AppendLine("// " + snippet.Name);
        foreach (string line in usings)
        {
            text.AppendLine(line.Trim());
        }

        text.AppendLine($"namespace {rootNamespace};");
        text.AppendLine("internal static partial class Snippets");
        text.AppendLine("{");
        text.AppendLine($"    public static void {snippet.MethodName}()");
        text.AppendLine("    {");
        string quoted = "\"" + markdownPath.Replace("\\", "\\\\", StringComparison.Ordinal) + "\"";
        if (snippet.Setup.Count > 0)
        {
            text.AppendLine($"#line {snippet.SetupLine} {quoted}");
            foreach (string line in snippet.Setup)
            {
                text.AppendLine(IsUsingDirective(line) ? "" : line);
            }
        }

        text.AppendLine($"#line {snippet.Line + 1} {quoted}");
        foreach (string line in snippet.Code)
        {
            // A using directive moved to the top leaves its line empty, so the line numbers stay the Markdown's.
            text.AppendLine(IsUsingDirective(line) ? "" : line);
        }

        text.AppendLine("#line default");
        text.AppendLine("    }");
        text.AppendLine("}");
        return text.ToString();
    }

    /// <summary>using X; and using X = Y; (not using var, using (...) or a using declaration).</summary>
    private static bool IsUsingDirective(string line) => UsingDirective().IsMatch(line);

    [GeneratedRegex(@"^\s*using\s+(static\s+)?[A-Za-z_][A-Za-z0-9_.]*(\s*=\s*[A-Za-z_][A-Za-z0-9_.<>, ]*)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    /// <summary>
    /// The runner's Program.cs: each snippet given on the command line (all that run, when none is) runs in a folder of
    /// its own, and prints one line "snippet NAME ok" or "snippet NAME failed: the exception".
    /// </summary>
    public static string ProgramSource(string rootNamespace, IEnumerable<DocSnippet> runnable)
    {
        var text = new StringBuilder();
        text.AppendLine($"using {rootNamespace};");
        text.AppendLine("var snippets = new (string Name, Action Run)[]");
        text.AppendLine("{");
        foreach (DocSnippet snippet in runnable)
        {
            text.AppendLine($"    (\"{snippet.Name}\", Snippets.{snippet.MethodName}),");
        }

        text.AppendLine("};");
        text.AppendLine("""
            string home = Directory.GetCurrentDirectory();
            foreach (var (name, run) in snippets)
            {
                if (args.Length > 0 && !args.Contains(name)) continue;
                string folder = Path.Combine(home, "runs-of", name.Replace('/', '_').Replace(':', '_'));
                Directory.CreateDirectory(folder);
                Directory.SetCurrentDirectory(folder);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    run();
                    // On a line of its own: a snippet may leave its last line open (the sampler writes characters).
                    Console.WriteLine($"{Environment.NewLine}snippet {name} ok {clock.Elapsed.TotalSeconds:F1} s");
                }
                catch (Exception e)
                {
                    Console.WriteLine($"{Environment.NewLine}snippet {name} failed: {e}");
                }
                finally
                {
                    Directory.SetCurrentDirectory(home);
                }
            }
            """);
        return text.ToString();
    }
}
