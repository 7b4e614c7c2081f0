using System;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>A finite-difference check of the generated backward code of every op and loss that has kernels, and of whole example models.</summary>
public sealed class GradientCheckTests
{
    private static string Mlp(string body, string loss = "mse(h, y)", string label = "label y: f32[B, 4]") => $$"""
        model M {
            input x: f32[B, 6]
            {{label}}
            {{body}}
            output h
            loss {{loss}}
            optimizer sgd(lr=0.1)
        }
        """;

    [Theory]
    [InlineData("h = x -> dense(4)")]
    [InlineData("h = x -> dense(4, bias=false)")]
    [InlineData("h = x -> dense(5) -> relu -> dense(4)")]
    [InlineData("h = x -> dense(4) -> gelu")]
    [InlineData("h = x -> dense(4) -> gelu(approximate=\"tanh\")")]
    [InlineData("h = x -> dense(5) -> gelu(approximate=\"none\") -> dense(4)")]
    [InlineData("h = x -> dense(4) -> sigmoid")]
    [InlineData("h = x -> dense(4) -> tanh")]
    [InlineData("h = x -> dense(4) -> silu")]
    [InlineData("h = x -> dense(4) -> leaky_relu")]
    [InlineData("h = x -> dense(5) -> leaky_relu(negative_slope=0.3) -> dense(4)")]
    [InlineData("h = x -> dense(4) -> elu")]
    [InlineData("h = x -> dense(5) -> elu(alpha=0.7) -> dense(4)")]
    [InlineData("h = x -> dense(4) -> dropout(0.3)")]
    [InlineData("a = x -> dense(4)\n    b = x -> dense(4) -> tanh\n    h = a + b")]
    [InlineData("a = x -> dense(4)\n    b = x -> dense(4) -> sigmoid\n    h = a * b")]
    [InlineData("a = x -> dense(4) -> tanh\n    h = a * a")]
    [InlineData("a = x -> dense(4) -> relu\n    r = a -> dense(4) -> tanh\n    h = a + r")]
    [InlineData("h0 = x -> dense(3)\n    a1 = h0 -> dense(3) -> sigmoid\n    r1 = a1 + h0\n    a2 = r1 -> dense(3) -> gelu\n    r2 = a2 -> tanh\n    a3 = r2 -> dense(3) -> silu\n    r3 = a3 + r2\n    h = r3 -> dense(4)")]
    [InlineData("h0 = x -> dense(3)\n    a1 = h0 -> dense(3) -> sigmoid\n    r1 = a1 + h0\n    a2 = r1 -> dense(3) -> relu\n    r2 = a2 -> tanh\n    a3 = r2 -> dense(3) -> relu\n    r3 = a3 + r2\n    h = r3 -> dense(4)")]
    public void Elementwise_ops_and_dense_match_finite_differences(string body)
    {
        var model = GeneratedModel.Compile(Mlp(body), "M");
        var random = new Random(3);
        GradientChecker.Check(model, [GradientChecker.RandomTensor(random, 5, 6), GradientChecker.RandomTensor(random, 5, 4)]);
    }

    [Fact]
    public void Cross_entropy_matches_finite_differences()
    {
        var model = GeneratedModel.Compile(Mlp("h = x -> dense(8) -> tanh -> dense(4)", "cross_entropy(h, y)", "label y: i32[B]"), "M");
        var random = new Random(4);
        GradientChecker.Check(model, [GradientChecker.RandomTensor(random, 7, 6), GradientChecker.RandomClasses(random, 4, 7)]);
    }

    /// <summary>
    /// cross_entropy(label_smoothing=0.2): the backward against finite differences, and the loss itself against the
    /// runtime's smoothed cross-entropy of the model's logits (so the option is not dropped on both sides at once).
    /// </summary>
    [Fact]
    public void Cross_entropy_with_label_smoothing_matches_finite_differences()
    {
        var model = GeneratedModel.Compile(Mlp("h = x -> dense(8) -> tanh -> dense(4)", "cross_entropy(h, y, label_smoothing=0.2)", "label y: i32[B]"), "M");
        var random = new Random(4);
        var x = GradientChecker.RandomTensor(random, 7, 6);
        var y = GradientChecker.RandomClasses(random, 4, 7);
        GradientChecker.Check(model, [x, y]);

        float loss = (float)model.Call("ComputeGradients", x, y);
        var logits = ((Tensor)model.Call("Forward", x)).Span.ToArray();
        Assert.Equal(Reductions.SoftmaxCrossEntropyLoss(logits, y.Span, 7, 4, labelSmoothing: 0.2f), loss, 5);
        Assert.NotEqual(Reductions.SoftmaxCrossEntropyLoss(logits, y.Span, 7, 4), loss, 5); // near-uniform logits at the start: close, not equal
    }

    [Fact]
    public void Bce_with_logits_matches_finite_differences()
    {
        var model = GeneratedModel.Compile(Mlp("h = x -> dense(8) -> relu -> dense(4)", "bce_with_logits(h, y)"), "M");
        var random = new Random(5);
        GradientChecker.Check(model, [GradientChecker.RandomTensor(random, 6, 6), GradientChecker.RandomBinary(random, 6, 4)]);
    }

    [Fact]
    public void Binary_classifier_example_matches_finite_differences()
    {
        var model = GeneratedModel.CompileExample("examples/BinaryClassifier/binary_classifier.model", "BinaryClassifier");
        var random = new Random(6);
        GradientChecker.Check(model, [GradientChecker.RandomTensor(random, 16, 10), GradientChecker.RandomBinary(random, 16, 1)]);
    }

    [Fact]
    public void Fashion_mlp_example_matches_finite_differences()
    {
        var model = GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp");
        var random = new Random(7);
        GradientChecker.Check(model, [GradientChecker.RandomTensor(random, 8, 784), GradientChecker.RandomClasses(random, 10, 8)], samplesPerParameter: 6);
    }
}
