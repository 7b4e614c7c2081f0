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
    public void Device_cuda_prints_the_gpu_memory_plan_per_buffer_group_with_hand_counted_bytes()
    {
        var (exit, stdout, stderr) = CliRunner.Run("summary", CliRunner.Example("BinaryClassifier/binary_classifier.model"), "--bind", "B=32", "--device", "cuda");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("GPU memory plan at B=32", stdout);
        string Row(string group, string allocated) => stdout.Split('\n').Single(l => l.TrimStart().StartsWith(group + " ", System.StringComparison.Ordinal) && l.Contains(allocated));
        // 10·64+64, 64·64+64 and 64+1 floats, each parameter padded to 64 floats: a 4,992-float arena.
        Assert.Contains(" 19,968 ", Row("parameters", "once"));
        Assert.Contains(" 39,936 ", Row("optimizer state (adam)", "once"));       // m and v
        Assert.Contains(" 1,408 ", Row("inputs and labels", "per binding"));       // x 32·10 + y 32 floats
        Assert.Contains(" 16,384 ", Row("activations kept for backward", "per binding")); // the two relu outputs, 32·64 each
        Assert.Contains(" 16,640 ", Row("activations (forward only)", "per binding")); // two pre-activations, the logit, the sigmoid
        Assert.Contains(" 32,896 ", Row("activation gradients", "per binding"));
        Assert.Contains("peak of a training step: 147,344 bytes", stdout);

        var (unbound, unboundOut, _) = CliRunner.Run("summary", CliRunner.Example("BinaryClassifier/binary_classifier.model"), "--device", "cuda");
        Assert.Equal(0, unbound);
        Assert.Contains("GPU memory plan: bind the symbolic dimensions, e.g. --bind B=32", unboundOut);

        var (bad, _, badErr) = CliRunner.Run("summary", CliRunner.Example("BinaryClassifier/binary_classifier.model"), "--device", "tpu");
        Assert.NotEqual(0, bad);
        Assert.Contains("--device tpu: expected cpu or cuda", badErr);
    }

    [Fact]
    public void Device_cuda_says_which_blocks_are_recomputed_and_how_many_scratch_sets_they_share()
    {
        string model = System.IO.Path.Combine(CliRunner.RepoRoot, "tests", "CudaParity", "models", "parity_recompute.model");
        var (exit, stdout, stderr) = CliRunner.Run("summary", model, "--bind", "B=8,T=16", "--device", "cuda");
        Assert.True(exit == 0, stdout + stderr);
        // Three uses of Block; 23 buffers each (9 activations, 4 layer-norm statistics, attention's working memory, 9 gradients).
        Assert.Contains("recompute Block: 3 uses recomputed in the backward pass; their scratch (23 buffers a use) is 1 set shared instead of 3", stdout);
        var (_, plain, _) = CliRunner.Run("summary", CliRunner.Example("CharGpt/char_gpt.model"), "--bind", "B=8,T=16", "--device", "cuda");
        Assert.DoesNotContain("recompute", plain);
    }

    [Fact]
    public void Device_cuda_counts_a_bf16_models_activations_at_two_bytes()
    {
        string model = System.IO.Path.Combine(CliRunner.RepoRoot, "tests", "CudaParity", "models", "parity_mlp_bf16.model");
        var (exit, stdout, stderr) = CliRunner.Run("summary", model, "--bind", "B=32", "--device", "cuda");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("in its declared bf16: activations 2 bytes per element (BF16), everything else 4", stdout);
        string Row(string group) => stdout.Split('\n').Single(l => l.TrimStart().StartsWith(group + " ", System.StringComparison.Ordinal) && l.Contains("per binding"));
        Assert.Contains(" 1,664 ", Row("inputs and labels")); // x 32·24 in BF16 (1,536), the class ids y 32 ints (128)
        // 4 [B, 48] values and the [B, 10] logits, 2 bytes each: 32·202·2 = 12,928; three of the [B, 48] ones are kept for
        // the backward (3·32·48·2 = 9,216), the fourth and the logits are read by the forward only (32·(48 + 10)·2 = 3,712).
        Assert.Contains(" 9,216 ", Row("activations kept for backward"));
        Assert.Contains(" 3,712 ", Row("activations (forward only)"));
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
