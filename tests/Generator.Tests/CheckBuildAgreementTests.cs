using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Dsl.Tests.Fuzz;
using ModelDsl.Generator.Tests.Support;
using Xunit.Abstractions;
using RoslynDiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// `modeldsl check` and the build must agree: every file the checker accepts (no error) must go through the real
/// generator without a diagnostic error (MDL9999 above all) and give C# that compiles with 0 errors, with a training
/// class (and a GPU half, unless MDL0312 said why not) for every model; anything the back end cannot build must be a
/// located MDL diagnostic in the checker instead. EveryOpTrainingTests trains a sample of the same models. Thousands of fuzzed files (random
/// well-formed models with hostile names and sizes at the 32-bit edges, and mutated examples) are filtered through the
/// checker, generated and compiled with Roslyn, many models per compilation. Seeded: a failure prints the seed, the
/// input's name and its text.
/// </summary>
public sealed class CheckBuildAgreementTests(ITestOutputHelper output)
{
    private const int Seed = 20261203;

    /// <summary>
    /// Fuzzed files per run: about 1,000 pass the checker. Each costs about 0.05 s of Roslyn CPU time, so the test takes
    /// tens of seconds on a 2-core CI machine; MODELDSL_AGREEMENT_SCALE=10 runs ten times as many (same seed).
    /// </summary>
    private static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable("MODELDSL_AGREEMENT_SCALE"), out int scale) && scale > 0 ? scale : 1;

    /// <summary>Models per Roslyn compilation: one compilation of many small classes binds far faster than many of one.</summary>
    private const int BatchSize = 60;

    [Fact]
    public void Every_fuzzed_file_check_accepts_generates_csharp_that_compiles()
    {
        var clock = Stopwatch.StartNew();
        var inputs = RandomModels.Generate(Seed, count: 1200 * Scale)
            .Concat(FuzzInputs.Mutations(Seed, count: 800 * Scale))
            .ToList();
        var accepted = CheckBuildAgreement.Accepted(inputs);
        output.WriteLine($"seed {Seed}: {inputs.Count} fuzzed files, {accepted.Count} accepted by the checker ({accepted.Sum(a => a.Models.Count)} models)");

        // Enough accepted files that every op, hostile name and edge size the generators draw is exercised.
        Assert.True(accepted.Count >= 900 * Scale, $"seed {Seed}: only {accepted.Count} of {inputs.Count} fuzzed files passed the checker");

        var failures = CheckBuildAgreement.GenerateAndCompile(accepted, BatchSize);
        output.WriteLine($"generated and compiled in {clock.Elapsed.TotalSeconds:F1} s (generate {CheckBuildAgreement.GenerateSeconds:F1} s, compile {CheckBuildAgreement.CompileSeconds:F1} s, {CheckBuildAgreement.Lines:N0} generated lines); process CPU {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, CheckBuildAgreement.Describe(Seed, failures));
    }

    /// <summary>Cases the fuzz test found (or that sit next to them), kept as named regressions.</summary>
    [Theory]
    [InlineData("optimizer without a loss (ITrainableModel, Gpu CheckGradients)", "model A {\n    input x: f32[B, 4]\n    h = x -> dense(3)\n    output h\n    optimizer adam()\n}\n")]
    [InlineData("a loss and no parameters (the GPU gradient check had no kernel: MDL9999)", "model P {\n    input x: f32[B, 4]\n    label y: f32[B, 4]\n    h = x -> relu\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}\n")]
    [InlineData("an input named step (a generated parameter's name)", "model S {\n    input step: f32[B, 4]\n    label y: i32[B]\n    logits = step -> dense(2)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}\n")]
    [InlineData("a binding named Dispose (a Workspace member)", "model D {\n    input x: f32[B, 4]\n    label y: i32[B]\n    Dispose = x -> dense(3)\n    logits = Dispose -> dense(2)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer sgd(lr=0.1)\n}\n")]
    public void Regression_models_generate_csharp_that_compiles(string name, string text)
    {
        var accepted = CheckBuildAgreement.Accepted([(name, text)]);
        Assert.Single(accepted);
        var failures = CheckBuildAgreement.GenerateAndCompile(accepted, BatchSize);
        Assert.True(failures.Count == 0, CheckBuildAgreement.Describe(0, failures));
    }
}

/// <summary>Filters fuzzed files through the checker, then runs the generator and a Roslyn compile over batches of them.</summary>
internal static class CheckBuildAgreement
{
    /// <summary>Where the time went, for the test's output (the bound on CI time is the file counts above).</summary>
    public static double GenerateSeconds, CompileSeconds;
    public static long Lines;

    /// <summary>A file the checker accepted: its models, and whether the checker said they get no GPU half (MDL0312).</summary>
    public sealed record Input(string Name, string Text, IReadOnlyList<string> Models, bool CpuOnly = false);

    public sealed record Failure(Input Input, string Problem);

    /// <summary>The inputs the checker accepts: no error and at least one model (a file with only warnings counts).</summary>
    public static List<Input> Accepted(IEnumerable<(string Name, string Text)> inputs)
    {
        var accepted = new List<Input>();
        foreach (var (name, text) in inputs)
        {
            var result = ModelDsl.Compilation.Compile("fuzz.model", text);
            if (!result.HasErrors && result.Models.Count > 0)
                accepted.Add(new Input(name, text, result.Models.Select(m => m.Name).ToList(), result.Diagnostics.Any(d => d.Id == "MDL0312")));
        }
        return accepted;
    }

    public static List<Failure> GenerateAndCompile(IReadOnlyList<Input> inputs, int batchSize)
    {
        var failures = new List<Failure>();
        foreach (var batch in Batches(inputs, batchSize)) failures.AddRange(Run(batch));
        return failures;
    }

    /// <summary>
    /// Batches whose model names are distinct (ignoring case, as hint names are compared): two files declaring the
    /// same class cannot share a compilation, and that conflict is the project's, not the checker's.
    /// </summary>
    private static IEnumerable<List<Input>> Batches(IReadOnlyList<Input> inputs, int batchSize)
    {
        var open = new List<(List<Input> Files, HashSet<string> Names)>();
        foreach (var input in inputs)
        {
            // A file whose own models clash by case alone goes alone (the generator must still handle it).
            var slot = open.FirstOrDefault(b => b.Files.Count < batchSize && !input.Models.Any(b.Names.Contains));
            if (slot.Files is null)
            {
                slot = (new List<Input>(), new HashSet<string>(StringComparer.OrdinalIgnoreCase));
                open.Add(slot);
            }
            slot.Files.Add(input);
            foreach (var model in input.Models) slot.Names.Add(model);
            if (slot.Files.Count == batchSize)
            {
                open.Remove(slot);
                yield return slot.Files;
            }
        }
        foreach (var rest in open) yield return rest.Files;
    }

    private static List<Failure> Run(List<Input> batch)
    {
        var failures = new List<Failure>();
        var files = batch.Select((input, i) => (AdditionalText)new TestAdditionalText($"/fuzz/f{i}.model", input.Text)).ToArray();
        var compilation = CSharpCompilation.Create(
            "Agreement",
            [CSharpSyntaxTree.ParseText(GeneratorHarness.DefaultProgram, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest))],
            GeneratorHarness.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));

        var sw = Stopwatch.StartNew();
        GeneratorDriver driver = GeneratorHarness.CreateDriver(files).RunGeneratorsAndUpdateCompilation(compilation, out var generated, out var generatorDiagnostics);
        GenerateSeconds += sw.Elapsed.TotalSeconds;
        Lines += generated.SyntaxTrees.Sum(t => (long)t.GetText().Lines.Count);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        if (result.Exception is not null)
        {
            // The whole batch is suspect; name it by its first file, with the exception.
            failures.Add(new Failure(batch[0], $"the generator threw on a batch of {batch.Count} files: {result.Exception}"));
            return failures;
        }

        // Any error from the generator on a file the checker passed is a disagreement (MDL9999 above all).
        foreach (var d in generatorDiagnostics.Concat(result.Diagnostics).Where(d => d.Severity == RoslynDiagnosticSeverity.Error).Distinct())
        {
            var input = FileOf(batch, d.Location.GetLineSpan().Path);
            failures.Add(new Failure(input ?? batch[0], $"generator {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}"));
        }

        // Every model that checks gets its training class, and its GPU half unless the checker said why not (MDL0312):
        // a model without them would build, and the consumer's TrainStep or ToGpu would not.
        var hints = generated.SyntaxTrees.Select(t => System.IO.Path.GetFileName(t.FilePath)).ToHashSet(StringComparer.Ordinal);
        foreach (var input in batch)
        {
            foreach (var model in input.Models)
            {
                if (!hints.Contains(model + ".Training.g.cs")) failures.Add(new Failure(input, $"model {model} checks but has no training class ({model}.Training.g.cs)"));
                if (!input.CpuOnly && !hints.Contains(model + ".Gpu.g.cs")) failures.Add(new Failure(input, $"model {model} checks without MDL0312 but has no GPU half ({model}.Gpu.g.cs)"));
            }
        }

        // Errors in generated C#, attributed to the model whose file the tree is (the hint name is the class name).
        var byModel = new Dictionary<string, Input>(StringComparer.Ordinal);
        foreach (var input in batch)
            foreach (var model in input.Models) byModel[model] = input;
        sw.Restart();
        // Roslyn's nullable flow analysis takes a large share of the compile and reports only warnings, never errors,
        // so the generated trees are compiled with it off (their text otherwise unchanged): the errors are the same.
        var trees = generated.SyntaxTrees.Select(tree => tree.FilePath.EndsWith(".g.cs", StringComparison.Ordinal)
            ? CSharpSyntaxTree.ParseText(tree.GetText().ToString().Replace("#nullable enable", "#nullable disable"), (CSharpParseOptions)tree.Options, tree.FilePath)
            : tree);
        var all = generated.RemoveAllSyntaxTrees().AddSyntaxTrees(trees).GetDiagnostics();
        CompileSeconds += sw.Elapsed.TotalSeconds;
        foreach (var group in all.Where(d => d.Severity == RoslynDiagnosticSeverity.Error).GroupBy(d => d.Location.SourceTree?.FilePath ?? ""))
        {
            string hint = System.IO.Path.GetFileName(group.Key);
            string model = hint.Split('.')[0];
            var input = byModel.TryGetValue(model, out var owner) ? owner : batch[0];
            var first = group.First();
            failures.Add(new Failure(input, $"{group.Count()} C# error(s) in {hint}, first: {first.Id} {first.GetMessage(System.Globalization.CultureInfo.InvariantCulture)} at {first.Location.GetLineSpan()}"));
        }
        return failures;
    }

    private static Input? FileOf(List<Input> batch, string path)
    {
        string name = System.IO.Path.GetFileNameWithoutExtension(path);
        return name.StartsWith('f') && int.TryParse(name.AsSpan(1), out int i) && i < batch.Count ? batch[i] : null;
    }

    public static string Describe(int seed, IReadOnlyList<Failure> failures)
    {
        var lines = new List<string> { $"seed {seed}: {failures.Count} disagreement(s) between the checker and the build:" };
        foreach (var failure in failures.Take(8))
        {
            lines.Add($"--- {failure.Input.Name}: {failure.Problem}");
            lines.Add(failure.Input.Text.Length <= 1500 ? failure.Input.Text : failure.Input.Text.Substring(0, 1500) + "...");
        }
        lines.Add("all:");
        foreach (var failure in failures) lines.Add($"  {failure.Input.Name}: {failure.Problem}");
        return string.Join(Environment.NewLine, lines);
    }
}
