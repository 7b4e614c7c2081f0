using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Cuda;
using ModelDsl.CudaParity;
using ModelDsl.Dsl.Tests.Fuzz;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.IR;
using ModelDsl.Runtime;
using Xunit.Abstractions;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Generated code does not only compile (CheckBuildAgreementTests): it trains. From the same seeded fuzz generator
/// (RandomModels: hostile names, blocks and repeats, every op of the catalogue on the shapes it takes), the first
/// small models that together use every op are compiled in one Roslyn compilation through the real generator, then
/// each trains a few steps on the CPU and on the emulated GPU, and the two are compared (losses, parameters, optimizer
/// state). A catalogue op the fuzz never draws fails the coverage test, so a new op cannot skip this.
/// </summary>
public sealed class EveryOpTrainingTests(EveryOpTrainingTests.Models models, ITestOutputHelper output) : IClassFixture<EveryOpTrainingTests.Models>
{
    private const int Seed = 20261204;

    /// <summary>Candidates drawn from the fuzz generator; the chosen ones are the first that add an op not yet covered.</summary>
    private const int Candidates = 600;

    /// <summary>The most models trained (each costs a g++ compile of its CUDA C on the emulator the first time).</summary>
    private const int MaxModels = 18;

    private const int Batch = 3, Sequence = 4, Steps = 3;

    [Fact]
    public void The_trained_models_use_every_op_in_the_catalogue()
    {
        // The catalogue has one rule per OpKind (OpCompletenessTests), so its ops are the OpKind values.
        var used = models.Chosen.SelectMany(m => m.Ops).ToHashSet();
        var missing = Enum.GetValues<OpKind>().Where(kind => !used.Contains(kind)).Select(kind => kind.ToSource()).ToList();
        output.WriteLine($"seed {Seed}: {models.Chosen.Count} models from {Candidates} candidates; ops: {string.Join(", ", used.Select(k => k.ToSource()).Order(StringComparer.Ordinal))}");
        Assert.True(missing.Count == 0,
            $"no trained random model uses: {string.Join(", ", missing)}. Teach tests/Dsl.Tests/Fuzz/RandomModels.cs to draw it (docs/adding-an-op.md).");
    }

    [Fact]
    public void Every_chosen_model_trains_on_the_cpu()
    {
        var failures = new List<string>();
        foreach (var model in models.Chosen)
        {
            var instance = models.NewInstance(model, seed: 7);
            for (int step = 0; step < Steps; step++)
            {
                float loss;
                try
                {
                    loss = (float)ParityCheck.Invoke(instance, "TrainStep", model.Batch(step));
                }
                catch (NonFiniteException e)
                {
                    // The model's own guard refusing a diverging step is correct behaviour; nothing else is.
                    output.WriteLine($"{model.Name} step {step + 1}: refused by the non-finite check ({e.Source})");
                    break;
                }
                catch (Exception e)
                {
                    failures.Add($"{model.Name} step {step + 1}: {e.GetType().Name}: {e.Message}\n{model.Text}");
                    break;
                }
                if (!float.IsFinite(loss)) failures.Add($"{model.Name} step {step + 1}: loss {loss}\n{model.Text}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void Every_chosen_model_trains_the_same_on_the_emulated_gpu()
    {
        var clock = Stopwatch.StartNew();
        using var context = GpuContext.OpenEmulated();
        var failures = new List<string>();
        foreach (var model in models.Chosen)
        {
            var cpu = models.NewInstance(model, seed: 9);
            var gpu = models.NewInstance(model, seed: 9);
            var report = new ParityReport();
            try
            {
                using var session = (IDisposable)ParityCheck.Invoke(gpu, "ToGpu", context);
                ParityCheck.CompareTraining(cpu, gpu, session, model.Batch, Steps, report);
            }
            catch (Exception e)
            {
                failures.Add($"{model.Name}: {e.GetType().Name}: {e.Message}\n{model.Text}");
                continue;
            }
            if (!report.Passed) failures.Add($"{model.Name}:\n{model.Text}\n{string.Join(Environment.NewLine, report.Failures)}");
            Assert.Contains(report.Lines, line => line.StartsWith(cpu.GetType().Name + " loss of steps", StringComparison.Ordinal));
        }
        output.WriteLine($"{models.Chosen.Count} models trained {Steps} steps on the emulated GPU in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>One chosen fuzz model: its text, class name, ops, and a batch maker from its checked graph.</summary>
    public sealed record Chosen(string Name, string Text, IReadOnlySet<OpKind> Ops, Func<int, object[]> Batch);

    /// <summary>Chooses the models and compiles them all in one compilation, once for the class.</summary>
    public sealed class Models : IDisposable
    {
        private readonly AssemblyLoadContext _context = new("every-op", isCollectible: true);
        private readonly System.Reflection.Assembly _assembly;

        public Models()
        {
            Chosen = Choose();
            var files = Chosen.Select((m, i) => (AdditionalText)new TestAdditionalText($"/every-op/m{i}.model", m.Text)).ToArray();
            var compilation = CSharpCompilation.Create(
                "EveryOp",
                [CSharpSyntaxTree.ParseText(GeneratorHarness.DefaultProgram, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest))],
                GeneratorHarness.References,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                    optimizationLevel: OptimizationLevel.Release, allowUnsafe: true));
            GeneratorHarness.CreateDriver(files).RunGeneratorsAndUpdateCompilation(compilation, out var generated, out var diagnostics);
            Assert.Empty(diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
            foreach (var model in Chosen)
            {
                Assert.Contains(generated.SyntaxTrees, t => Path.GetFileName(t.FilePath) == model.Name + ".Training.g.cs");
                Assert.Contains(generated.SyntaxTrees, t => Path.GetFileName(t.FilePath) == model.Name + ".Gpu.g.cs");
            }
            using var stream = new MemoryStream();
            var emit = generated.Emit(stream);
            Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
            stream.Position = 0;
            _assembly = _context.LoadFromStream(stream);
        }

        public IReadOnlyList<Chosen> Chosen { get; }

        public object NewInstance(Chosen model, ulong seed) =>
            Activator.CreateInstance(_assembly.GetType("Consumer." + model.Name, throwOnError: true)!, seed)!;

        public void Dispose() => _context.Unload();

        /// <summary>
        /// The first candidates (in the generator's order) that check, train (a loss and an optimizer), are small at
        /// B = 3, T = 4, and use an op no earlier choice uses; names distinct ignoring case, as one compilation needs.
        /// </summary>
        private static List<Chosen> Choose()
        {
            var chosen = new List<Chosen>();
            var covered = new HashSet<OpKind>();
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (_, text) in RandomModels.Generate(Seed, Candidates))
            {
                if (chosen.Count == MaxModels) break;
                var result = ModelDsl.Compilation.Compile("fuzz.model", text);
                if (result.HasErrors || result.Compiled.Count != 1) continue;
                var compiled = result.Compiled[0];
                var graph = compiled.Graph;
                if (graph.Loss is null || graph.Optimizer is null || compiled.Plan is null) continue;
                var ops = graph.Nodes.Select(n => n.Kind).ToHashSet();
                if (ops.IsSubsetOf(covered) || names.Contains(graph.Name) || !Small(compiled)) continue;
                names.Add(graph.Name);
                covered.UnionWith(ops);
                chosen.Add(new Chosen(graph.Name, text, ops, step => RandomBatch(graph, step)));
            }
            return chosen;
        }

        /// <summary>Every planned buffer and the parameters together under a million floats at the test's sizes.</summary>
        private static bool Small(CompiledModel compiled)
        {
            double floats = compiled.Plan!.Buffers.Where(b => b.AliasOf is null).Sum(b => b.Shape.Dims.Aggregate(1.0, (n, d) => n * Bound(d)));
            return floats < 1e6;
        }

        private static double Bound(ModelDsl.Shapes.Dim dim) =>
            dim.Symbols.Aggregate((double)dim.Coefficient, (n, s) => n * (s == "B" ? Batch : Sequence));

        /// <summary>
        /// Inputs then labels from the checked graph (the description's dims may name config constants): normal floats,
        /// ids below the smallest embedding table, class ids below the output's width, 0/1 for binary cross-entropy.
        /// </summary>
        private static object[] RandomBatch(ModelGraph graph, int step)
        {
            var random = new Random(1000 + step);
            int classes = (int)graph.Output.Shape.Last.Value;
            int tokens = graph.Nodes.Where(n => n.Kind == OpKind.Embedding).Select(n => (int)n.Parameters[0].Shape.Dims[0].Value).DefaultIfEmpty(classes).Min();
            object Make(TensorValue value, bool label)
            {
                int[] shape = value.Shape.Dims.Select(d => (int)Bound(d)).ToArray();
                int count = shape.Aggregate(1, (a, b) => a * b);
                if (value.DType == ModelDsl.Shapes.DType.I32) return new IntTensor(Enumerable.Range(0, count).Select(_ => random.Next(label ? classes : tokens)).ToArray(), shape);
                bool binary = label && graph.Loss!.Kind == LossKind.BceWithLogits;
                return new Tensor(Enumerable.Range(0, count).Select(_ => binary ? random.Next(2) : (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
            }
            return graph.Inputs.Select(v => Make(v, false)).Concat(graph.Labels.Select(v => Make(v, true))).ToArray();
        }
    }
}
