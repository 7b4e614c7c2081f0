using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl.Generator.Tests.Support;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// The pipeline caches (dotnet/runtime's RegexGeneratorIncrementalTests): an edit to unrelated C# leaves every
/// model step Cached or Unchanged, so typing in a .cs file never re-parses a .model file; an edit to the .model
/// file does flow through.
/// </summary>
public sealed class IncrementalTests
{
    private static readonly string[] ModelSteps =
    [
        ModelGenerator.TrackingNames.ModelFileSpecs,
        ModelGenerator.TrackingNames.Diagnostics,
        ModelGenerator.TrackingNames.Models,
        ModelGenerator.TrackingNames.ModelsWithNamespace,
    ];

    private static TestAdditionalText Example() =>
        new("/p/fashion_mlp.model", File.ReadAllText(RepoPaths.Combine("examples", "FashionMnist", "fashion_mlp.model")));

    [Fact]
    public void UnrelatedCSharpEdit_LeavesEveryModelStepCached()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram, "class Unrelated { }");
        GeneratorDriver driver = GeneratorHarness.CreateDriver([Example()], trackSteps: true).RunGenerators(compilation);

        SyntaxTree old = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText("class Unrelated { int _x; }", (CSharpParseOptions)old.Options, old.FilePath));
        GeneratorRunResult result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        Assert.Contains(ModelGenerator.TrackingNames.ModelFileSpecs, result.TrackedSteps.Keys);
        foreach (string step in ModelSteps)
        {
            if (!result.TrackedSteps.TryGetValue(step, out ImmutableArray<IncrementalGeneratorRunStep> runs))
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
    public void ModelEdit_IsModified()
    {
        TestAdditionalText original = Example();
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram);
        GeneratorDriver driver = GeneratorHarness.CreateDriver([original], trackSteps: true).RunGenerators(compilation);

        string text = original.GetText()!.ToString().Replace("hidden = 256", "hidden = 128");
        driver = driver.ReplaceAdditionalText(original, new TestAdditionalText(original.Path, text)).RunGenerators(compilation);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();

        IncrementalGeneratorRunStep spec = Assert.Single(result.TrackedSteps[ModelGenerator.TrackingNames.ModelFileSpecs]);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(spec.Outputs).Reason);
        Assert.Contains(
            result.TrackedSteps[ModelGenerator.TrackingNames.ModelsWithNamespace].SelectMany(run => run.Outputs),
            output => output.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("ParameterCount = 118282", result.GeneratedSources.Single(s => s.HintName == "FashionMlp.g.cs").SourceText.ToString(), System.StringComparison.Ordinal);
    }

    [Fact]
    public void SecondRunWithNoChange_IsAllCached()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram);
        GeneratorDriver driver = GeneratorHarness.CreateDriver([Example()], trackSteps: true).RunGenerators(compilation).RunGenerators(compilation);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();

        foreach (string step in ModelSteps.Where(result.TrackedSteps.ContainsKey))
        {
            Assert.All(result.TrackedSteps[step].SelectMany(run => run.Outputs), output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
        }
    }

    [Fact]
    public void FileSpecs_HoldNoCompilerObjects()
    {
        // The cookbook's rule: no ISymbol, SyntaxNode, Location or front-end object may travel down the pipeline.
        foreach (System.Type type in typeof(ModelGenerator).Assembly.GetTypes().Where(t => t.Namespace == "ModelDsl.Generator.Model"))
        {
            foreach (System.Reflection.PropertyInfo property in type.GetProperties())
            {
                System.Type propertyType = property.PropertyType;
                Assert.False(typeof(ISymbol).IsAssignableFrom(propertyType), $"{type.Name}.{property.Name}");
                Assert.False(typeof(SyntaxNode).IsAssignableFrom(propertyType), $"{type.Name}.{property.Name}");
                Assert.False(typeof(Location).IsAssignableFrom(propertyType), $"{type.Name}.{property.Name}");
                Assert.NotEqual(typeof(ModelDsl.Compilation).Assembly, propertyType.Assembly);
            }
        }
    }
}
