using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelDsl.Generator.Tests.Support;
using RoslynDiagnosticSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;

namespace ModelDsl.Generator.Tests;

/// <summary>
/// The reliability probe's cases through the real generator: each was accepted by `check` and then broke the build
/// (MDL9999 OverflowException, CS0266 in *.Gpu.g.cs, 325 C# errors for `model class`, 80 MB of C# for `repeat 1024`).
/// Now each is a located diagnostic in the .model file, nothing is generated for it, and the build's C# is clean.
/// </summary>
public sealed class BuildLimitGeneratorTests
{
    private const string Tail = "    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}\n";

    [Theory]
    [InlineData("config { hidden = 123456789012 }\nmodel M {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(hidden) -> dense(10)\n" + Tail, "MDL0310", 5)]
    [InlineData("model M {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(9223372036854775807)\n" + Tail, "MDL0310", 4)]
    [InlineData("config { features = 2147483647 }\nmodel M {\n    input x: f32[B, features]\n    label y: i32[B]\n    logits = x -> dense(10)\n" + Tail, "MDL0310", 3)]
    [InlineData("config { vocab = 3000000000 }\nmodel M {\n    input idx: i32[B, T]\n    label y: i32[B, T]\n    tok = embedding(idx, vocab, 16)\n    logits = tok -> dense(10)\n" + Tail, "MDL0310", 5)]
    [InlineData("model M {\n    input x: f32[B, 536870911]\n    label y: i32[B]\n    logits = x -> dense(4)\n" + Tail, "MDL0310", 4)]
    [InlineData("model Forward {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(10)\n" + Tail, "MDL0214", 1)]
    [InlineData("model var {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(10)\n" + Tail, "MDL0214", 1)]
    public void Each_probe_case_is_a_located_diagnostic_and_the_build_has_no_csharp_error(string text, string id, int line)
    {
        var (output, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/probe.model", text));

        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "MDL9999");
        var diagnostic = result.Diagnostics.First(d => d.Id == id);
        Assert.Equal("/p/probe.model", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(line, diagnostic.Location.GetLineSpan().StartLinePosition.Line + 1);
        Assert.Empty(result.GeneratedSources);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == RoslynDiagnosticSeverity.Error));
    }

    private static string CharGpt(int layers) =>
        File.ReadAllText(RepoPaths.Combine("examples", "CharGpt", "char_gpt.model")).Replace("layers = 4", $"layers = {layers}");

    [Fact]
    public void Repeat_1024_is_refused_at_the_repeat_and_generates_nothing()
    {
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/char_gpt.model", CharGpt(1024)));

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MDL0117", diagnostic.Id);
        Assert.Equal(26, diagnostic.Location.GetLineSpan().StartLinePosition.Line + 1);
        Assert.Empty(result.GeneratedSources);   // was 80 MB of C#
    }

    [Fact]
    public void At_the_op_limit_the_generated_code_stays_within_its_documented_size()
    {
        // The deepest CharGpt the limit admits (99 blocks, 995 ops): docs/language.md promises about 10 KB per op
        // (global:: names for every runtime type and a block-scoped namespace: 9.9 MB here, 8.5 MB with usings).
        var (_, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.DefaultProgram), new TestAdditionalText("/p/char_gpt.model", CharGpt(99)));

        Assert.Empty(result.Diagnostics);
        long characters = result.GeneratedSources.Sum(source => (long)source.SourceText.Length);
        Assert.True(characters < 11_000_000, $"{characters:N0} characters generated at the op limit");
        Assert.True(characters > 8_500_000, $"{characters:N0} characters: the per-op estimate in the docs is stale");
    }
}
