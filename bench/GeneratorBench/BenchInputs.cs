using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using ModelDsl.Generator;

namespace GeneratorBench;

/// <summary>
/// What a build hands the generator: a C# compilation, the .model file as an additional text, and the
/// <c>build_property.RootNamespace</c> option. The same shape as tests/Generator.Tests/Support/GeneratorHarness.
/// </summary>
internal static class BenchInputs
{
    public const string RootNamespace = "Consumer";
    public const string Program = "namespace Consumer { public static class Program { public static void Main() { } } }";

    /// <summary>The unrelated C# file the incremental runs edit (its field is renamed at each edit).</summary>
    public static string Unrelated(int edit) => $"namespace Consumer {{ internal sealed class Unrelated {{ private int _f{edit}; }} }}";

    public static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    /// <summary>The framework (System.*, netstandard, mscorlib) as this process sees it.</summary>
    public static ImmutableArray<MetadataReference> References { get; } =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => Path.GetFileName(path).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(path) is "netstandard.dll" or "mscorlib.dll")
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();

    public static CSharpCompilation CreateCompilation() =>
        CSharpCompilation.Create(
            "Consumer",
            [
                CSharpSyntaxTree.ParseText(Program, ParseOptions, path: "Program.cs"),
                CSharpSyntaxTree.ParseText(Unrelated(0), ParseOptions, path: "Unrelated.cs"),
            ],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>The compilation with Unrelated.cs replaced by edit number <paramref name="edit"/> (parsed here, untimed).</summary>
    public static CSharpCompilation EditUnrelated(CSharpCompilation compilation, int edit)
    {
        SyntaxTree old = compilation.SyntaxTrees.Single(tree => tree.FilePath == "Unrelated.cs");
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(Unrelated(edit), ParseOptions, "Unrelated.cs"));
    }

    /// <summary>A driver with no cached state: what the compiler builds for a compilation it has not seen.</summary>
    public static GeneratorDriver CreateDriver(AdditionalText model) =>
        CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()],
            [model],
            ParseOptions,
            new OptionsProvider(new Dictionary<string, string> { ["build_property.RootNamespace"] = RootNamespace }),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Finds the repository root (the directory holding ModelDsl.sln) above the working directory or the binary.</summary>
    public static string RepoRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? directory = new(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ModelDsl.sln"))) return directory.FullName;
            }
        }

        throw new InvalidOperationException("ModelDsl.sln not found above the working directory or " + AppContext.BaseDirectory);
    }
}

/// <summary>An in-memory .model file, as MSBuild's AdditionalFiles items reach a generator (text read once).</summary>
internal sealed class ModelText(string path, string text) : AdditionalText
{
    private readonly SourceText _text = SourceText.From(text);

    public override string Path { get; } = path;

    public string Text { get; } = text;

    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}

/// <summary>Global analyzer options, as MSBuild passes <c>build_property.*</c>.</summary>
internal sealed class OptionsProvider(IReadOnlyDictionary<string, string> globalOptions) : AnalyzerConfigOptionsProvider
{
    private static readonly Options s_empty = new(new Dictionary<string, string>());

    public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(globalOptions);

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => s_empty;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => s_empty;

    private sealed class Options(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
