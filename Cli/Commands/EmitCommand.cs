using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using ModelDsl.Generator;

namespace ModelDsl.Cli.Commands;

/// <summary>
/// <c>modeldsl emit &lt;file&gt; --out dir [--namespace N]</c>: writes the generated sources for review. It runs the same
/// source generator a build runs, so the files are byte for byte what the compiler sees.
/// </summary>
internal static class EmitCommand
{
    private const string Usage = "usage: modeldsl emit <file.model> --out <folder> [--namespace Name]";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? path = null, outDir = null, ns = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--out" && i + 1 < args.Count) outDir = args[++i];
            else if (args[i] == "--namespace" && i + 1 < args.Count) ns = args[++i];
            else if (!args[i].StartsWith('-') && path is null) path = args[i];
            else
            {
                stderr.WriteLine(Usage);
                return ExitCodes.Usage;
            }
        }
        if (path is null || outDir is null)
        {
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }
        if (!File.Exists(path))
        {
            stderr.WriteLine($"modeldsl: error: file not found: {path}");
            return ExitCodes.Errors;
        }
        if (File.Exists(outDir))
        {
            stderr.WriteLine($"modeldsl: error: --out {outDir} is a file; give a folder (it is created if missing)");
            return ExitCodes.Errors;
        }

        var source = ModelSource.Read(path);
        var driver = CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()],
            [new FileText(path, source.Text)],
            CSharpParseOptions.Default,
            new Options(ns));
        // Referencing ModelDsl.Cuda turns on the GPU half ({Model}.Gpu.g.cs), as it does in a project using the package.
        var compilation = CSharpCompilation.Create("ModelDslEmit", references: [MetadataReference.CreateFromFile(typeof(ModelDsl.Cuda.GpuContext).Assembly.Location)]);
        var result = driver.RunGenerators(compilation).GetRunResult().Results.Single();

        bool errors = false, internalError = false;
        foreach (var d in result.Diagnostics)
        {
            var span = d.Location.GetLineSpan();
            string severity = d.Severity == DiagnosticSeverity.Error ? "error" : "warning";
            stdout.WriteLine($"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): {severity} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
            errors |= d.Severity == DiagnosticSeverity.Error;
            internalError |= d.Id == "MDL9999";
        }
        // MDL9999 is a generator bug, not a mistake in the file: exit 3 like any other internal error.
        if (internalError) return ExitCodes.InternalError;
        if (errors) return ExitCodes.Errors;

        try
        {
            Directory.CreateDirectory(outDir);
            foreach (var generated in result.GeneratedSources.OrderBy(g => g.HintName, System.StringComparer.Ordinal))
            {
                string file = Path.Combine(outDir, generated.HintName);
                File.WriteAllText(file, generated.SourceText.ToString());
                stdout.WriteLine($"wrote {file}");
            }
            WriteCudaSources(path, source.Text, outDir, stdout);
        }
        catch (System.Exception e) when (e is IOException or System.UnauthorizedAccessException or System.NotSupportedException or System.ArgumentException)
        {
            // A folder that cannot be created or written (read-only, under /proc, a path through a file): the user's to fix.
            stderr.WriteLine($"modeldsl: error: cannot write the generated files to {outDir}: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.Errors;
        }
        if (result.GeneratedSources.IsEmpty) stdout.WriteLine("no model in the file: nothing written");
        return ExitCodes.Success;
    }

    /// <summary>
    /// <c>{Model}.cu</c> for each model with training code: the CUDA C of the same <see cref="ModelDsl.CompiledModel"/>
    /// the generator embeds as the <c>CudaSource</c> constant, as a file a reviewer's editor highlights as CUDA.
    /// </summary>
    private static void WriteCudaSources(string path, string text, string outDir, TextWriter stdout)
    {
        foreach (var model in ModelDsl.Compilation.Compile(path, text).Compiled)
        {
            if (model.Cuda is not { } cuda) continue;
            string file = Path.Combine(outDir, model.Graph.Name + ".cu");
            File.WriteAllText(file, cuda.Source);
            stdout.WriteLine($"wrote {file}");
        }
    }

    private sealed class FileText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;
        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private sealed class Options(string? rootNamespace) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Values(rootNamespace);
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Values.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Values.Empty;

        private sealed class Values(string? rootNamespace) : AnalyzerConfigOptions
        {
            public static readonly Values Empty = new(null);

            public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value)
            {
                value = key == "build_property.RootNamespace" ? rootNamespace : null;
                return value is not null;
            }
        }
    }
}
