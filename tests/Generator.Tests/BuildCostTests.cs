using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Generator.Tests.Support;
using RoslynDiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// The build-cost model (bench/models/gpt2_small.model, timed by bench/GeneratorBench): it checks cleanly through
/// the generator, and the generator does no work for it when only C# changes. No timings here; see
/// docs/benchmarks.md, "Build cost".
/// </summary>
public sealed class BuildCostTests
{
    private const long Gpt2SmallParameters = 124_439_808;   // GPT-2 small with tied output projection

    private static TestAdditionalText Gpt2Small() =>
        new("/p/gpt2_small.model", File.ReadAllText(RepoPaths.Combine("bench", "models", "gpt2_small.model")));

    [Fact]
    public void Gpt2Small_ChecksWithoutDiagnostics_AndDescribesGpt2SmallsParameters()
    {
        var (output, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), Gpt2Small());

        Assert.Empty(result.Diagnostics);
        Assert.Contains(result.GeneratedSources, source => source.HintName == "Gpt2Small.g.cs");
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= RoslynDiagnosticSeverity.Warning));

        var (description, parameterCount) = GeneratorHarness.LoadModel(output, "Consumer.Gpt2Small");
        Assert.Equal(Gpt2SmallParameters, parameterCount);
        Assert.Equal(Gpt2SmallParameters, description.ParameterCount);
        Assert.Equal(["B", "T"], description.SymbolicDimensions);
    }

    [Fact]
    public void Gpt2Small_UnrelatedCSharpEdit_EveryTrackedStepIsCachedOrUnchanged()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram, "class Unrelated { }");
        GeneratorDriver driver = GeneratorHarness.CreateDriver([Gpt2Small()], trackSteps: true).RunGenerators(compilation);

        SyntaxTree old = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText("class Unrelated { int _x; }", (CSharpParseOptions)old.Options, old.FilePath));
        GeneratorRunResult result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        // Every step, named or not, and the source outputs: nothing re-parsed, nothing re-emitted. Roslyn's own
        // "Compilation" input node is the edit itself (Modified by definition); the steps it feeds must not change.
        Assert.Contains(ModelGenerator.TrackingNames.ModelFileSpecs, result.TrackedSteps.Keys);
        Assert.NotEmpty(result.TrackedOutputSteps);
        foreach ((string step, ImmutableArray<IncrementalGeneratorRunStep> runs) in result.TrackedSteps.Concat(result.TrackedOutputSteps))
        {
            if (step == "Compilation")
            {
                continue;
            }

            Assert.All(
                runs.SelectMany(run => run.Outputs),
                output => Assert.True(
                    output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                    $"step {step} output was {output.Reason}"));
        }
    }

    [Fact]
    public void Gpt2Small_CommentEdit_IsReparsedButEmitsNothing()
    {
        TestAdditionalText original = Gpt2Small();
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram);
        GeneratorDriver driver = GeneratorHarness.CreateDriver([original], trackSteps: true).RunGenerators(compilation);

        var edited = new TestAdditionalText(original.Path, original.GetText()!.ToString() + "\n// a comment at the end\n");
        GeneratorRunResult result = driver.ReplaceAdditionalText(original, edited).RunGenerators(compilation).GetRunResult().Results.Single();

        // The file is read again, but its spec equals the old one, so the outputs stay cached.
        IncrementalGeneratorRunStep spec = Assert.Single(result.TrackedSteps[ModelGenerator.TrackingNames.ModelFileSpecs]);
        Assert.Equal(IncrementalStepRunReason.Unchanged, Assert.Single(spec.Outputs).Reason);
        Assert.All(
            result.TrackedSteps[ModelGenerator.TrackingNames.ModelsWithNamespace].SelectMany(run => run.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
        Assert.All(
            result.TrackedOutputSteps.SelectMany(pair => pair.Value).SelectMany(run => run.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }
}
