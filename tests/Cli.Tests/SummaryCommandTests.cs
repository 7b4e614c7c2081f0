using System.Linq;

namespace ModelDsl.Cli.Tests;

public sealed class SummaryCommandTests
{
    [Fact]
    public void Mlp_summary_lists_layers_shapes_and_the_hand_counted_total()
    {
        var (exit, stdout, stderr) = CliRunner.Run("summary", CliRunner.Example("FashionMnist/fashion_mlp.model"));
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("model FashionMlp", stdout);

        // Hand count: 784*256+256 + 256*256+256 + 256*10+10 = 200,960 + 65,792 + 2,570.
        Assert.Contains("parameters: 269,322 (6 tensors", stdout);
        var firstDense = stdout.Split('\n').Single(l => l.TrimStart().StartsWith("logits.0 "));
        Assert.Contains("dense", firstDense);
        Assert.Contains("[B, 256]", firstDense);
        Assert.EndsWith("200,960", firstDense.TrimEnd());
        Assert.Contains("optimizer: adamw(", stdout);
    }

    [Fact]
    public void Bind_replaces_symbolic_dimensions_in_the_shapes_shown()
    {
        var (exit, stdout, _) = CliRunner.Run("summary", CliRunner.Example("CharGpt/char_gpt.model"), "--bind", "B=16,T=64");
        Assert.Equal(0, exit);
        Assert.Contains("[16, 64, 96]", stdout);
        Assert.Contains("symbolic dimensions: B=16, T=64", stdout);
        // Hand count in tests/Dsl.Tests: 12,288 + 8,192 + 4 x 198,272 + 256; the tied head adds nothing.
        Assert.Contains("parameters: 813,824", stdout);
    }

    [Fact]
    public void A_model_with_errors_prints_diagnostics_and_exits_1()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modeldsl-summary-broken.model");
        System.IO.File.WriteAllText(path, "model M {\n    input x: f32[B, 3]\n    output y\n}\n");
        var (exit, stdout, _) = CliRunner.Run("summary", path);
        Assert.Equal(1, exit);
        Assert.Contains("error MDL0100", stdout);
    }
}
