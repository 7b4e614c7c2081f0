using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelDsl.Generator.Tests.Support;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// Full-text baselines of the generated code for every example model (dotnet/runtime's RegexGeneratorOutputTests):
/// to notice any break in formatting or readability. Baselines: tests/Generator.Tests/Snapshots/{Model}.verified.cs;
/// accept changes with MODELDSL_ACCEPT_SNAPSHOTS=1.
/// </summary>
public sealed class SnapshotTests
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (string path in RepoPaths.ExampleModels())
        {
            data.Add(Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/'));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void GeneratedCode_MatchesBaseline(string example)
    {
        string path = RepoPaths.Combine(example.Split('/'));

        // Rooted at a fixed fake path, so baselines do not depend on where the repository is checked out.
        var file = new TestAdditionalText("/src/" + example, File.ReadAllText(path));
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), file);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.NotEmpty(result.GeneratedSources);
        foreach (GeneratedSourceResult source in result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal))
        {
            Snapshot.Verify(source.SourceText.ToString(), Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(source.HintName)));
        }
    }

    /// <summary>
    /// A model that declares <c>precision bf16</c> (no example does): the GPU half with its BF16 operands, staging buffers and
    /// the optimizer's BF16 copy (docs/cuda.md "Precision"). Baseline: Snapshots/Inline/ParityGptBf16.Gpu.verified.cs.
    /// </summary>
    [Fact]
    public void A_bf16_models_gpu_half_matches_its_baseline()
    {
        const string example = "tests/CudaParity/models/parity_gpt_bf16.model";
        var file = new TestAdditionalText("/src/" + example, File.ReadAllText(RepoPaths.Combine(example.Split('/'))));
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), file);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Directory.CreateDirectory(Path.Combine(Snapshot.Directory, "Inline"));
        var gpu = Assert.Single(result.GeneratedSources, s => s.HintName == "ParityGptBf16.Gpu.g.cs");
        Snapshot.Verify(gpu.SourceText.ToString(), "Inline/ParityGptBf16.Gpu");
    }

    /// <summary>
    /// A model with <c>recompute Block</c> (no example declares it): both halves' backward passes with a
    /// <c>// ── recompute block h.N</c> section before each use's backward, the uses' scratch in the first use's buffers,
    /// and on the GPU the residual + layer norm fused inside a block only (docs/language.md "Activation recomputation").
    /// Baselines: Snapshots/Inline/ParityRecompute.Training.verified.cs and .Gpu.verified.cs.
    /// </summary>
    [Fact]
    public void A_recompute_models_halves_match_their_baselines()
    {
        const string example = "tests/CudaParity/models/parity_recompute.model";
        var file = new TestAdditionalText("/src/" + example, File.ReadAllText(RepoPaths.Combine(example.Split('/'))));
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), file);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Directory.CreateDirectory(Path.Combine(Snapshot.Directory, "Inline"));
        foreach (string half in new[] { "Training", "Gpu" })
        {
            var source = Assert.Single(result.GeneratedSources, s => s.HintName == $"ParityRecompute.{half}.g.cs");
            Assert.Contains("// ── recompute block h.2.2 (Block, parity_recompute.model:22)", source.SourceText.ToString());
            Snapshot.Verify(source.SourceText.ToString(), $"Inline/ParityRecompute.{half}");
        }
    }

    /// <summary>
    /// A model with two <c>output</c> lines (no example has one): its <c>HeadsOutputs</c> class, <c>ForwardAll</c> on the CPU
    /// and the GPU session, and Predict reading the second output. Baselines under Snapshots/Inline/, apart from the examples'.
    /// </summary>
    [Fact]
    public void TwoOutputModel_MatchesBaseline()
    {
        const string text = "model Heads {\n    input x: f32[B, T, 4]\n    label y: i32[B]\n    h = x -> dense(6) -> tanh\n    pooled = h -> mean(axis=1)\n"
            + "    logits = pooled -> dense(3)\n    output pooled\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam(lr=0.01)\n}\n";
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/src/heads.model", text));

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Directory.CreateDirectory(Path.Combine(Snapshot.Directory, "Inline"));
        var sources = result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
        Assert.Equal(["Heads.Gpu.g.cs", "Heads.Training.g.cs", "Heads.g.cs"], sources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal));
        foreach (GeneratedSourceResult source in sources)
        {
            Snapshot.Verify(source.SourceText.ToString(), "Inline/" + Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(source.HintName)));
        }
    }

    /// <summary>
    /// attention(dropout=p) beside a dropout layer (no example trains one): each draws from its own dropout slot (the
    /// attention's 0, the layer's 1), the CPU and GPU calls pass <c>dropout: training ? p : 0f</c> and the slot's seed,
    /// and the backward declares <c>training</c> so it draws the forward's masks again. Baselines under Snapshots/Inline/.
    /// </summary>
    [Fact]
    public void AttentionDropoutModel_MatchesBaseline()
    {
        const string text = "model AttnDrop {\n    input x: i32[B, T]\n    input m: i32[B, T]\n    label y: i32[B]\n"
            + "    h = embedding(x, 50, 16) -> attention(2, dropout=0.1, mask=m) -> dropout(0.2)\n    logits = h -> mean(axis=1) -> dense(2)\n"
            + "    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam(lr=0.01)\n}\n";
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/src/attn_drop.model", text));

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Directory.CreateDirectory(Path.Combine(Snapshot.Directory, "Inline"));
        var sources = result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
        string cpu = sources.Single(s => s.HintName == "AttnDrop.Training.g.cs").SourceText.ToString();
        Assert.Equal(2, cpu.Split("dropoutSeed: global::ModelDsl.Runtime.Cpu.Dropout.Seed(Seed, Step, 0, DropoutStream)").Length - 1); // forward and backward
        Assert.Contains("const bool training = true;", cpu);
        foreach (GeneratedSourceResult source in sources.Where(s => s.HintName != "AttnDrop.g.cs"))
        {
            Snapshot.Verify(source.SourceText.ToString(), "Inline/" + Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(source.HintName)));
        }
    }

    /// <summary>
    /// A model with parameter groups (no example has them yet): the group table and GroupLearningRate, the per-group
    /// update with each group's rate and weight decay on the CPU, and on the GPU the optimizer kernel taking the weight
    /// decay as an argument, launched once per run of one group. Baselines under Snapshots/Inline/.
    /// </summary>
    [Fact]
    public void ParameterGroupModel_MatchesBaseline()
    {
        const string text = "model Groups {\n    input x: f32[B, 4]\n    label y: i32[B]\n    h = x -> dense(8) -> layer_norm -> relu\n"
            + "    logits = h -> dense(3)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam(lr=1e-3, weight_decay=0.01)\n"
            + "    schedule linear(warmup=10, steps=100)\n    group no_decay(weight_decay=0) *.bias, h.1.weight\n    group head(lr=5e-3) logits.weight\n}\n";
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/src/groups.model", text));

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Directory.CreateDirectory(Path.Combine(Snapshot.Directory, "Inline"));
        var sources = result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
        Assert.Equal(["Groups.Gpu.g.cs", "Groups.Training.g.cs", "Groups.g.cs"], sources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal));
        foreach (GeneratedSourceResult source in sources)
        {
            Snapshot.Verify(source.SourceText.ToString(), "Inline/" + Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(source.HintName)));
        }
    }

    /// <summary>
    /// The training half ({Model}.Training.g.cs) and the GPU half ({Model}.Gpu.g.cs, with the CUDA C) are baselined by <see cref="GeneratedCode_MatchesBaseline"/> like the
    /// rest; this pins which models have one, so a model silently losing its training code (or a stale baseline) fails.
    /// </summary>
    [Theory]
    [InlineData("Training")]
    [InlineData("Gpu")]
    public void TrainingCode_HasABaselineForExactlyTheModelsThatGenerateIt(string half)
    {
        List<string> generated = GeneratorHarness.RunOnFiles([.. RepoPaths.ExampleModels()]).Result.GeneratedSources
            .Select(s => s.HintName)
            .Where(hint => hint.EndsWith($".{half}.g.cs", StringComparison.Ordinal))
            .Select(hint => hint[..^".g.cs".Length])
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();
        List<string> baselines = Directory.EnumerateFiles(Snapshot.Directory, $"*.{half}.verified.cs")
            .Select(path => Path.GetFileName(path)[..^".verified.cs".Length])
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();

        // Every example trains on the CPU and, with its CUDA rendering, on a GPU.
        string[] expected = half == "Gpu"
            ? ["BertClassifier.Gpu", "BinaryClassifier.Gpu", "CharGpt.Gpu", "FashionCnn.Gpu", "FashionMlp.Gpu", "FortuneLstm.Gpu"]
            : ["BertClassifier.Training", "BinaryClassifier.Training", "CharGpt.Training", "FashionCnn.Training", "FashionMlp.Training", "FortuneLstm.Training"];
        Assert.Equal(expected, generated);
        Assert.Equal(generated, baselines);
    }

    [Fact]
    public void GeneratedCode_IsDeterministic()
    {
        IReadOnlyList<string> examples = RepoPaths.ExampleModels();
        string Run() => string.Join("\n", GeneratorHarness.RunOnFiles([.. examples]).Result.GeneratedSources
            .OrderBy(s => s.HintName, StringComparer.Ordinal)
            .Select(s => s.HintName + "\n" + s.SourceText));

        string first = Run();
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal(first, Run());
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Diff_ShowsChangedLinesWithContext()
    {
        string diff = Snapshot.Diff("a\nb\nc\nd\ne\nf\n", "a\nb\nC\nd\ne\nf\n");

        Assert.Contains("- ", diff, StringComparison.Ordinal);
        Assert.Contains("+ ", diff, StringComparison.Ordinal);
        Assert.Contains("C", diff, StringComparison.Ordinal);
        Assert.DoesNotContain("f", diff, StringComparison.Ordinal);
    }
}
