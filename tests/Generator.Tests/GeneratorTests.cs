using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using DiagnosticCatalog = ModelDsl.Diagnostics.DiagnosticCatalog;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.Runtime;
using Diagnostic = Microsoft.CodeAnalysis.Diagnostic;
using RoslynDiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;

namespace ModelDsl.Generator.Tests;

/// <summary>The generator on real compilations: generated code compiles and describes the model; diagnostics land in the .model file.</summary>
public sealed class GeneratorTests
{
    /// <summary>A model with one mistake: <c>hiden</c> (line 5, column 25) is not defined.</summary>
    internal const string BrokenModel =
        "// a typo in a layer argument\n" +
        "model Broken {\n" +
        "    input x: f32[B, 784]\n" +
        "    label y: i32[B]\n" +
        "    logits = x -> dense(hiden) -> relu -> dense(10)\n" +
        "    output logits\n" +
        "    loss cross_entropy(logits, y)\n" +
        "    optimizer adam(lr=1e-3)\n" +
        "}\n";

    internal const int BrokenLine = 5;
    internal const int BrokenColumn = 25;
    internal const string BrokenId = "MDL0100";

    /// <summary>
    /// The generator adds no back end of its own: its training and GPU files are <see cref="ModelDsl.Compilation"/>'s
    /// texts for the same file, in the project's namespace (the one entry <c>modeldsl emit</c> and <c>summary</c> use too).
    /// </summary>
    [Theory]
    [InlineData("FashionMnist", "fashion_mlp.model", "FashionMlp")]
    [InlineData("TextLstm", "fortune_lstm.model", "FortuneLstm")]
    public void Generated_training_and_gpu_files_are_the_compilations_texts(string folder, string file, string model)
    {
        string path = RepoPaths.Combine("examples", folder, file);
        var (_, result) = GeneratorHarness.RunOnFiles(path);
        CompiledModel compiled = Assert.Single(ModelDsl.Compilation.Compile(path, File.ReadAllText(path)).Compiled);

        Assert.Equal(model, compiled.Graph.Name);
        Assert.NotNull(compiled.Plan);
        Assert.NotNull(compiled.Cuda);
        Assert.Equal(compiled.CSharpSource("Consumer"), result.GeneratedSources.Single(s => s.HintName == model + ".Training.g.cs").SourceText.ToString());
        Assert.Equal(compiled.GpuSource("Consumer"), result.GeneratedSources.Single(s => s.HintName == model + ".Gpu.g.cs").SourceText.ToString());
        Assert.Contains(compiled.Cuda!.Source.TrimEnd('\n'), compiled.GpuSource("Consumer"), StringComparison.Ordinal);
    }

    /// <summary>
    /// A model with <c>concat</c> gets its training class: the consumer code of the issue that found it missing
    /// (<c>new PConcat(seed: …)</c>, <c>TrainStep</c>; CS1739 and CS1061 before) compiles, and its loss falls.
    /// </summary>
    [Fact]
    public void A_concat_model_compiles_in_consumer_code_and_trains()
    {
        const string Model = """
            model PConcat {
                input x: f32[B, 6]
                label y: f32[B, 2]
                a = x -> dense(4) -> tanh
                b = x -> dense(3) -> relu
                h = concat(a, b, x) -> dense(2)
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """;
        const string Program = """
            namespace Consumer
            {
                public static class Program
                {
                    public static void Main() { }

                    public static float[] Train()
                    {
                        var model = new PConcat(seed: 3);
                        var random = new System.Random(4);
                        var x = new float[16 * 6];
                        var y = new float[16 * 2];
                        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble() - 0.5f;
                        for (int i = 0; i < y.Length; i++) y[i] = x[i % 16 * 6] + 0.5f * x[i % 16 * 6 + 5];
                        var losses = new float[40];
                        for (int step = 0; step < losses.Length; step++)
                            losses[step] = model.TrainStep(new global::ModelDsl.Runtime.Tensor(x, 16, 6), new global::ModelDsl.Runtime.Tensor(y, 16, 2));
                        return losses;
                    }
                }
            }
            """;
        var compilation = GeneratorHarness.CreateCompilation(Program).WithOptions(
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        var (output, result) = GeneratorHarness.Run(compilation, new TestAdditionalText("/p/concat.model", Model));
        Assert.Empty(result.Diagnostics);
        Assert.Contains(result.GeneratedSources, s => s.HintName == "PConcat.Training.g.cs");
        Assert.Contains(result.GeneratedSources, s => s.HintName == "PConcat.Gpu.g.cs");

        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics.Where(d => d.Severity == RoslynDiagnosticSeverity.Error)));
        var context = new System.Runtime.Loader.AssemblyLoadContext("concat", isCollectible: true);
        try
        {
            stream.Position = 0;
            var losses = (float[])context.LoadFromStream(stream).GetType("Consumer.Program", throwOnError: true)!.GetMethod("Train")!.Invoke(null, null)!;
            Assert.All(losses, loss => Assert.True(float.IsFinite(loss)));
            Assert.True(losses[^1] < 0.5f * losses[0], $"loss went {losses[0]} -> {losses[^1]} in {losses.Length} Adam steps");
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void CorrectModel_GeneratesCodeThatCompilesAndDescribesTheModel()
    {
        var (output, result) = GeneratorHarness.RunOnFiles(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model"));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["FashionMlp.Gpu.g.cs", "FashionMlp.Training.g.cs", "FashionMlp.g.cs"], result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
        GeneratedSourceResult generated = result.GeneratedSources.Single(s => s.HintName == "FashionMlp.g.cs");
        string text = generated.SourceText.ToString();
        Assert.StartsWith("// <auto-generated/>\n", text, StringComparison.Ordinal);
        Assert.Contains("#nullable enable", text, StringComparison.Ordinal);
        Assert.Contains("namespace Consumer", text, StringComparison.Ordinal);
        Assert.Contains("public sealed partial class FashionMlp", text, StringComparison.Ordinal);
        Assert.Contains("// fashion_mlp.model:12  logits.0 = dense(", text, StringComparison.Ordinal);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= RoslynDiagnosticSeverity.Warning));

        var (description, parameterCount) = GeneratorHarness.LoadModel(output, "Consumer.FashionMlp");

        // 784*256+256 + 256*256+256 + 256*10+10
        Assert.Equal(269_322, parameterCount);
        Assert.Equal(269_322, description.ParameterCount);
        Assert.Equal("FashionMlp", description.Name);
        Assert.Equal("fashion_mlp.model", description.SourceFile);
        TensorDescription input = Assert.Single(description.Inputs);
        Assert.Equal("x: f32[B, 784]", input.ToString());
        Assert.Equal(["B", "784"], input.Dims);
        Assert.Equal("y: i32[B]", Assert.Single(description.Labels).ToString());
        Assert.Equal(["B"], description.SymbolicDimensions);
        Assert.Equal("[B, 10]", description.Output.Shape);

        Assert.Equal(["dense", "relu", "dropout", "dense", "relu", "dropout", "dense"], description.Layers.Select(l => l.Op));
        LayerDescription first = description.Layers[0];
        Assert.Equal("logits.0", first.Path);
        Assert.Equal("[B, 256]", first.OutputShape);
        Assert.Equal(200_960, first.ParameterCount);
        Assert.Equal(12, first.Line);
        Assert.Equal(269_322, description.Layers.Sum(l => l.ParameterCount));

        Assert.Equal(6, description.Parameters.Count);
        ParameterDescription weight = description.Parameters[0];
        Assert.Equal("logits.0.weight", weight.Name);
        Assert.Equal([256L, 784L], weight.Shape);
        Assert.Equal(12, weight.Line);

        Assert.Equal("cross_entropy", description.Loss);
        Assert.Equal("adamw", description.Optimizer);
        Assert.Contains(new KeyValuePair<string, double>("lr", 1e-3), description.OptimizerHyperparameters);
        Assert.Contains(new KeyValuePair<string, double>("weight_decay", 1e-4), description.OptimizerHyperparameters);
        Assert.Contains("logits.0", description.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryExample_GeneratesCodeThatCompiles()
    {
        IReadOnlyList<string> examples = RepoPaths.ExampleModels();
        Assert.NotEmpty(examples);
        var (output, result) = GeneratorHarness.RunOnFiles([.. examples]);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == RoslynDiagnosticSeverity.Error);
        // Every model gets its description and training code and, with ModelDsl.Cuda referenced, the GPU half.
        Assert.Equal(examples.Count, result.GeneratedSources.Count(s => !s.HintName.EndsWith(".Training.g.cs", StringComparison.Ordinal) && !s.HintName.EndsWith(".Gpu.g.cs", StringComparison.Ordinal)));
        Assert.Equal(["BertClassifier.Training.g.cs", "BinaryClassifier.Training.g.cs", "CharGpt.Training.g.cs", "FashionCnn.Training.g.cs", "FashionMlp.Training.g.cs", "FortuneLstm.Training.g.cs"],
            result.GeneratedSources.Select(s => s.HintName).Where(h => h.EndsWith(".Training.g.cs", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal(["BertClassifier.Gpu.g.cs", "BinaryClassifier.Gpu.g.cs", "CharGpt.Gpu.g.cs", "FashionCnn.Gpu.g.cs", "FashionMlp.Gpu.g.cs", "FortuneLstm.Gpu.g.cs"],
            result.GeneratedSources.Select(s => s.HintName).Where(h => h.EndsWith(".Gpu.g.cs", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= RoslynDiagnosticSeverity.Warning));
    }

    [Fact]
    public void WrongModel_ReportsTheDiagnosticInTheModelFile()
    {
        const string path = "/project/models/broken.model";
        var (output, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText(path, BrokenModel));

        Assert.Empty(result.GeneratedSources);
        Diagnostic diagnostic = Assert.Single(result.Diagnostics, d => d.Id == BrokenId);
        Assert.Equal(RoslynDiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(LocationKind.ExternalFile, diagnostic.Location.Kind);
        FileLinePositionSpan span = diagnostic.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.Equal(new LinePosition(BrokenLine - 1, BrokenColumn - 1), span.StartLinePosition);
        Assert.Equal(BrokenModel.IndexOf("hiden", StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
        Assert.Contains("hiden", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Equal("ModelDsl.Names", diagnostic.Descriptor.Category);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == RoslynDiagnosticSeverity.Error));
    }

    [Fact]
    public void ErrorInOneModel_StillGeneratesTheOthers()
    {
        string text = BrokenModel + "\nmodel Fine {\n    input x: f32[B, 4]\n    y = x -> dense(2)\n    output y\n}\n";
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("two.model", text));

        Assert.Contains(result.Diagnostics, d => d.Id == BrokenId);
        // Fine has no loss, so it gets its description and inference code but nothing from Broken.
        Assert.Equal(["Fine.Gpu.g.cs", "Fine.Training.g.cs", "Fine.g.cs"], result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void WithoutModelDslCuda_NoGpuHalfIsGenerated()
    {
        // A project that references only the runtime gets the CPU code; the GPU half would not compile without ModelDsl.Cuda.
        var references = GeneratorHarness.References.Where(r => !r.Display!.EndsWith("ModelDsl.Cuda.dll", StringComparison.Ordinal));
        var compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram).WithReferences(references);
        var (output, result) = GeneratorHarness.Run(compilation, new TestAdditionalText("fashion_mlp.model", File.ReadAllText(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model"))));

        Assert.Equal(["FashionMlp.Training.g.cs", "FashionMlp.g.cs"], result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == RoslynDiagnosticSeverity.Error));
    }

    [Fact]
    public void CSharpErrorInTheConsumer_IsNotReportedByTheGenerator()
    {
        var compilation = GeneratorHarness.CreateCompilation("namespace Consumer { public class Broken { int x = ; } }");
        var (output, result) = GeneratorHarness.Run(compilation, new TestAdditionalText("/p/fashion_mlp.model", File.ReadAllText(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model"))));

        Assert.Empty(result.Diagnostics);
        Assert.Contains(output.GetDiagnostics(), d => d.Id.StartsWith("CS", StringComparison.Ordinal) && d.Severity == RoslynDiagnosticSeverity.Error);
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Id.StartsWith("MDL", StringComparison.Ordinal));
    }

    [Fact]
    public void UnreadableFile_IsMdl0004_NotAnException()
    {
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/missing.model", () => null));

        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticCatalog.InvalidText.Id, diagnostic.Id);
        Assert.Equal("/p/missing.model", diagnostic.Location.GetLineSpan().Path);
        Assert.Empty(result.GeneratedSources);
    }

    [Fact]
    public void ExceptionWhileReading_IsMdl9999_NotAGeneratorFailure()
    {
        var (_, result) = GeneratorHarness.Run(
            GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram),
            new TestAdditionalText("/p/throws.model", () => throw new IOException("disk on fire")));

        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MDL9999", diagnostic.Id);
        Assert.Contains("System.IO.IOException", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("disk on fire", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Equal("/p/throws.model", diagnostic.Location.GetLineSpan().Path);
    }

    public static TheoryData<string> Garbage => new()
    {
        "",
        "model",
        "model M {",
        "model M { input x: f32[B, 4] output x }",
        "\0\0\0\u0001binary",
        "model M { input x: f32[B, 99999999999999999999999] }",
        new string('(', 5000),
        "model M { input x: f32[B, 4]\n y = x -> repeat 100000 dense(4)\n output y }",
        "block A(x) { return x -> A() }\nmodel M { input x: f32[B, 4]\n y = x -> A()\n output y }",
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public void AnyInput_NeverThrows(string text)
    {
        var (output, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/garbage.model", text));

        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "MDL9999");
        Assert.All(result.Diagnostics, d => Assert.Equal("/p/garbage.model", d.Location.GetLineSpan().Path));
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Severity == RoslynDiagnosticSeverity.Error && d.Location.IsInSource && d.Location.SourceTree!.FilePath.EndsWith(".g.cs", StringComparison.Ordinal));
    }

    [Fact]
    public void NonModelAdditionalFiles_AreIgnored()
    {
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/notes.txt", "model {"));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(result.GeneratedSources);
    }

    [Fact]
    public void NoRootNamespace_UsesTheDefault()
    {
        GeneratorDriver driver = GeneratorHarness.CreateDriver(
            [new TestAdditionalText("/p/fashion_mlp.model", File.ReadAllText(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model")))],
            rootNamespace: null);
        GeneratorRunResult result = driver.RunGenerators(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram)).GetRunResult().Results.Single();

        Assert.Equal(3, result.GeneratedSources.Length);
        Assert.All(result.GeneratedSources, s => Assert.Contains("namespace ModelDsl.Generated", s.SourceText.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void Descriptors_MirrorTheCatalogue()
    {
        var descriptors = DiagnosticDescriptors.All.ToList();
        Assert.Equal(DiagnosticCatalog.All.Select(d => d.Id).Append("MDL9999"), descriptors.Select(d => d.Id));
        Assert.Equal(descriptors.Count, descriptors.Select(d => d.Id).Distinct().Count());
        foreach (ModelDsl.Diagnostics.DiagnosticDescriptor entry in DiagnosticCatalog.All)
        {
            Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor = DiagnosticDescriptors.ById[entry.Id];
            Assert.Equal(entry.Title, descriptor.Title.ToString());
            Assert.Equal(entry.Category, descriptor.Category);
            Assert.Equal("{0}", descriptor.MessageFormat.ToString());
            // No repository path as a help link (MSBuild prints it after every message, where it means nothing).
            Assert.Equal("", descriptor.HelpLinkUri);
            bool isError = entry.Severity == ModelDsl.Diagnostics.DiagnosticSeverity.Error;
            Assert.Equal(isError ? RoslynDiagnosticSeverity.Error : RoslynDiagnosticSeverity.Warning, descriptor.DefaultSeverity);
            Assert.Equal(isError, descriptor.CustomTags.Contains(WellKnownDiagnosticTags.NotConfigurable));
        }

        Assert.Contains(WellKnownDiagnosticTags.NotConfigurable, DiagnosticDescriptors.InternalError.CustomTags);
        Assert.Equal("", DiagnosticDescriptors.InternalError.HelpLinkUri);
    }

    [Fact]
    public void Every_generated_file_starts_alike_and_GeneratedCode_names_the_generators_pinned_version()
    {
        // One convention for the description, the training half, the GPU half and the CUDA C (ModelDsl.Emit.GeneratedFile).
        string version = typeof(ModelGenerator).Assembly.GetName().Version!.ToString();
        Assert.Equal($"[global::System.CodeDom.Compiler.GeneratedCode(\"ModelDsl.Generator\", \"{version}\")]", ModelDsl.Emit.GeneratedFile.GeneratedCode);
        var (output, _) = GeneratorHarness.RunOnFiles(Path.Combine(RepoPaths.Root, "examples", "FashionMnist", "fashion_mlp.model"));
        var files = output.SyntaxTrees.Where(t => t.FilePath.EndsWith(".g.cs", StringComparison.Ordinal)).Select(t => t.ToString()).ToList();
        Assert.Equal(3, files.Count);
        foreach (var text in files)
        {
            var lines = text.Split('\n');
            Assert.Equal("// <auto-generated/>", lines[0]);
            Assert.StartsWith("// Generated by the ModelDsl source generator from fashion_mlp.model: ", lines[1]);
            Assert.Equal("// Edit the .model file and rebuild, not this file.", lines[2]);
            Assert.Contains("\nnamespace Consumer\n{\n", text);
            Assert.DoesNotContain("\nusing ", text);
        }
        string cuda = files.Single(f => f.Contains("CudaSource = ", StringComparison.Ordinal));
        Assert.Contains("CudaSource = \"\"\"\n// <auto-generated/>\n// Generated by the ModelDsl source generator from fashion_mlp.model: CUDA C", cuda);
    }
}
