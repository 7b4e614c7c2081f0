using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Support;

/// <summary>
/// Runs <see cref="ModelGenerator"/> on a real <see cref="CSharpCompilation"/> (the framework and
/// ModelDsl.Runtime referenced) with .model files as additional texts, the way csc runs it in a build.
/// </summary>
internal static class GeneratorHarness
{
    public const string DefaultProgram = "namespace Consumer { public static class Program { public static void Main() { } } }";

    /// <summary>
    /// The framework as the running tests see it (every System.* assembly), ModelDsl.Runtime and ModelDsl.Cuda (whose
    /// reference turns on the GPU half, as the ModelDsl package does).
    /// </summary>
    public static ImmutableArray<MetadataReference> References => s_references.Value;

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => Path.GetFileName(path).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(path) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(ModelDescription).Assembly.Location)
            .Append(typeof(ModelDsl.Cuda.GpuContext).Assembly.Location)
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray());

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "Consumer",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest), path: $"Source{i}.cs")),
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> additionalTexts, string? rootNamespace = "Consumer", bool trackSteps = false)
    {
        var options = new Dictionary<string, string>();
        if (rootNamespace is not null)
        {
            options["build_property.RootNamespace"] = rootNamespace;
        }

        return CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()],
            additionalTexts,
            (CSharpParseOptions)CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest),
            new TestOptionsProvider(options),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));
    }

    /// <summary>Runs the generator; returns the compilation with generated sources added, and the generator's result.</summary>
    public static (Microsoft.CodeAnalysis.Compilation Output, GeneratorRunResult Result) Run(CSharpCompilation compilation, params AdditionalText[] files)
    {
        GeneratorDriver driver = CreateDriver(files).RunGeneratorsAndUpdateCompilation(compilation, out Microsoft.CodeAnalysis.Compilation output, out _);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "AD0001" or "CS8784" or "CS8785");
        return (output, result);
    }

    public static (Microsoft.CodeAnalysis.Compilation Output, GeneratorRunResult Result) RunOnFiles(params string[] modelPaths) =>
        Run(CreateCompilation(DefaultProgram), modelPaths.Select(path => (AdditionalText)new TestAdditionalText(path, File.ReadAllText(path))).ToArray());

    /// <summary>Emits the compilation to memory, loads it in a collectible context and reads <c>{Namespace}.{Model}.Description</c>.</summary>
    public static (ModelDescription Description, long ParameterCount) LoadModel(Microsoft.CodeAnalysis.Compilation compilation, string typeName)
    {
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        stream.Position = 0;

        var context = new AssemblyLoadContext("generated-" + Guid.NewGuid(), isCollectible: true);
        try
        {
            Assembly assembly = context.LoadFromStream(stream);
            Type type = assembly.GetType(typeName, throwOnError: true)!;
            var description = (ModelDescription)type.GetProperty("Description", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            long count = (long)type.GetField("ParameterCount", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            return (description, count);
        }
        finally
        {
            context.Unload();
        }
    }
}
