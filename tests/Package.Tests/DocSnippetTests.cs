using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ModelDsl.Package.Tests;

/// <summary>
/// Every C# block of README.md and docs/*.md, compiled against the packed packages as a user's project would, and
/// run unless its comment says why not (<see cref="DocSnippets"/>). One consumer project holds every snippet as a
/// method and every example .model file, so there is one restore and one build; the examples' data samples sit at
/// the run folder's root, where a user inside a clone has them.
/// </summary>
[Collection(PackedPackageCollection.Name)]
public sealed partial class DocSnippetTests(PackageFeed feed, ITestOutputHelper output)
{
    private const string RootNamespace = "DocSnippets";

    /// <summary>
    /// How many blocks of each kind the docs hold. A block that changes kind, appears or goes changes these on purpose,
    /// so none can drop out of the check unnoticed.
    /// </summary>
    private static readonly Dictionary<SnippetKind, int> ExpectedCounts = new()
    {
        [SnippetKind.Run] = 15,
        [SnippetKind.CompileOnly] = 5,
        [SnippetKind.Fragment] = 8,
    };

    public static IReadOnlyList<DocSnippet> AllSnippets(string root) =>
        new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal))
            .SelectMany(path => DocSnippets.Parse(Path.GetRelativePath(root, path).Replace('\\', '/'), File.ReadAllText(path)))
            .ToList();

    [Fact]
    public void EveryCSharpBlockOfTheDocs_CompilesAgainstThePackage_AndRuns()
    {
        var snippets = AllSnippets(feed.Root);
        foreach (var group in snippets.GroupBy(snippet => snippet.Kind).OrderBy(group => group.Key))
        {
            output.WriteLine($"{group.Key}: {group.Count()}");
            foreach (DocSnippet snippet in group)
            {
                output.WriteLine($"  {snippet.Name}{(snippet.Reason.Length > 0 ? "  (" + snippet.Reason + ")" : "")}");
            }
        }

        var counts = Enum.GetValues<SnippetKind>().ToDictionary(kind => kind, kind => snippets.Count(snippet => snippet.Kind == kind));
        Assert.Equal(ExpectedCounts, counts);

        // The project: every example model, every compiled snippet as a method, a Program that runs them.
        string app = feed.CreateConsoleProject(RootNamespace);
        string models = Path.Combine(app, "Models");
        Directory.CreateDirectory(models);
        foreach (string model in Directory.GetFiles(Path.Combine(feed.Root, "examples"), "*.model", SearchOption.AllDirectories))
        {
            File.Copy(model, Path.Combine(models, Path.GetFileName(model)));
        }

        string sources = Path.Combine(app, "Snippets");
        Directory.CreateDirectory(sources);
        var compiled = snippets.Where(snippet => snippet.Kind != SnippetKind.Fragment).ToList();
        foreach (DocSnippet snippet in compiled)
        {
            File.WriteAllText(Path.Combine(sources, snippet.MethodName + ".cs"), DocSnippets.ToSource(snippet, RootNamespace, Path.Combine(feed.Root, snippet.File)));
        }

        var runnable = compiled.Where(snippet => snippet.Kind == SnippetKind.Run).ToList();
        File.WriteAllText(Path.Combine(app, "Program.cs"), DocSnippets.ProgramSource(RootNamespace, runnable));

        // Build: warnings allowed (a snippet may leave a variable unused), errors named at the Markdown line.
        feed.Run(app, "build", "-nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false");

        // Run, from a folder that holds the examples' data samples as a clone of the repository does.
        string home = Path.Combine(feed.Directory, "snippet-runs");
        foreach (string sample in new[] { "examples/FashionMnist/sample", "examples/TextLstm/sample" })
        {
            string link = Path.Combine(home, sample);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            Directory.CreateSymbolicLink(link, Path.Combine(feed.Root, sample));
        }

        string dll = Path.Combine(app, "bin", "Debug", "net10.0", RootNamespace + ".dll");
        string runOutput = feed.Run(home, dll);
        output.WriteLine(runOutput);
        var results = ResultLine().Matches(runOutput).ToDictionary(match => match.Groups["name"].Value, match => match.Groups["result"].Value);
        Assert.Equal(runnable.Select(snippet => snippet.Name).Order(StringComparer.Ordinal), results.Keys.Order(StringComparer.Ordinal));
        var failed = results.Where(result => !result.Value.StartsWith("ok", StringComparison.Ordinal)).Select(result => result.Key).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} snippet(s) failed ({string.Join(", ", failed)}):{Environment.NewLine}{runOutput}");
    }

    [GeneratedRegex(@"^snippet (?<name>\S+) (?<result>ok|failed)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
