using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// A model class generated from .model text, compiled with Roslyn against the real runtime and loaded, so tests
/// exercise exactly the code a consumer's build would produce. Members are reached through reflection.
/// </summary>
internal sealed class GeneratedModel
{
    private readonly Type _type;

    private GeneratedModel(Type type, object instance, string source)
    {
        _type = type;
        Instance = instance;
        Source = source;
    }

    public object Instance { get; }

    /// <summary>The generated class.</summary>
    public Type Type => _type;

    /// <summary>Another instance of the generated class (same seed, same initial weights as a fresh <see cref="Instance"/>).</summary>
    public object NewInstance(ulong seed) => Activator.CreateInstance(_type, seed)!;

    /// <summary>The generated training code, for messages.</summary>
    public string Source { get; }

    /// <summary>The generated GPU half (its <c>CudaSource</c> included).</summary>
    public string GpuSource { get; private init; } = "";

    /// <summary>The compiler's warnings on the whole compilation (generated files included).</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    public IReadOnlyList<Parameter> Parameters => (IReadOnlyList<Parameter>)Get("Parameters");

    public int Step => (int)Get("Step");

    /// <param name="rootNamespace">The consumer project's root namespace (the generated classes' namespace).</param>
    /// <param name="consumerSource">Code of the consumer project besides the generated files (default: an empty program).</param>
    public static GeneratedModel Compile(string modelText, string modelName, ulong seed = 1, string path = "test.model", string rootNamespace = "Consumer", string? consumerSource = null)
    {
        var compilation = CSharpCompilation.Create(
            "Generated" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(consumerSource ?? GeneratorHarness.DefaultProgram, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest))],
            GeneratorHarness.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true));
        var driver = GeneratorHarness.CreateDriver([new TestAdditionalText(path, modelText)], rootNamespace);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
        string source = string.Join("\n", output.SyntaxTrees.Where(t => t.FilePath.EndsWith(".Training.g.cs", StringComparison.Ordinal)).Select(t => t.ToString()));
        Assert.False(string.IsNullOrEmpty(source), "no training code was generated for " + modelName);

        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        stream.Position = 0;
        var assembly = new AssemblyLoadContext("generated-" + modelName, isCollectible: true).LoadFromStream(stream);
        var type = assembly.GetType(rootNamespace + "." + modelName, throwOnError: true)!;
        return new GeneratedModel(type, Activator.CreateInstance(type, seed)!, source)
        {
            Warnings = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList(),
            GpuSource = string.Join("\n", output.SyntaxTrees.Where(t => t.FilePath.EndsWith(".Gpu.g.cs", StringComparison.Ordinal)).Select(t => t.ToString())),
        };
    }

    public static GeneratedModel CompileExample(string relativePath, string modelName, ulong seed = 1) =>
        Compile(File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath)), modelName, seed, relativePath);

    public object Get(string property) => _type.GetProperty(property)!.GetValue(Instance)!;

    public void Set(string property, object value) => _type.GetProperty(property)!.SetValue(Instance, value);

    public object Call(string method, params object?[] args)
    {
        try
        {
            return _type.GetMethod(method)!.Invoke(Instance, args)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public MethodInfo Method(string name) => _type.GetMethod(name)!;
}
