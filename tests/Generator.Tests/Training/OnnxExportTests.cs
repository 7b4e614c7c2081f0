using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelDsl.Runtime;
using Tensor = ModelDsl.Runtime.Tensor;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The generated <c>ExportOnnx</c> writes a file ONNX Runtime loads and runs to the same numbers as the model's own
/// <c>Forward</c> (at two batch sizes, so the symbolic batch dimension is exercised).
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    /// <summary>Largest allowed |onnx − forward| / max(|forward|, 1e-2): relative, with a floor so values near zero compare absolutely.</summary>
    private const double Tolerance = 1e-4;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modeldsl-onnx-" + Guid.NewGuid().ToString("N"));

    public OnnxExportTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void BinaryClassifier_exports_and_matches_forward()
    {
        var model = GeneratedModel.CompileExample("examples/BinaryClassifier/binary_classifier.model", "BinaryClassifier");
        var random = new Random(3);
        for (int step = 0; step < 5; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 16, 10), Labels01(random, 16));
        CheckAgainstForward(model, "x", 10, "probability", outputWidth: 1);
    }

    [Fact]
    public void FashionMlp_exports_without_dropout_and_matches_forward()
    {
        var model = GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp");
        var random = new Random(4);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 32, 784), GradientChecker.RandomClasses(random, 10, 32));
        string path = CheckAgainstForward(model, "x", 784, "logits", outputWidth: 10);

        // Dropout is the identity at inference and leaves no node; dense layers on [B, in] are Gemm.
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.DoesNotContain("Dropout", ops);
        Assert.Equal(3, ops.Count(o => o == "Gemm"));
        Assert.Equal(2, ops.Count(o => o == "Relu"));
    }

    private const string ActivationsModel = """
        model ActivationMix {
            input x: f32[B, 6]
            label y: f32[B, 3]

            h = x -> dense(8) -> gelu
            g = h -> dense(8) -> gelu(approximate="tanh") -> silu
            s = tanh(h * g) + h
            out = s -> dropout(0.25) -> dense(3) -> sigmoid
            output out

            loss mse(out, y)
            optimizer sgd(lr=0.05)
        }
        """;

    [Fact]
    public void Tanh_gelu_silu_add_and_mul_match_forward()
    {
        var model = GeneratedModel.Compile(ActivationsModel, "ActivationMix", seed: 7);
        var random = new Random(5);
        for (int step = 0; step < 4; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 8, 6), GradientChecker.RandomTensor(random, 8, 3));
        string path = CheckAgainstForward(model, "x", 6, "out", outputWidth: 3, scale: 3f);

        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Equal(2, ops.Count(o => o == "Gelu")); // the exact one and the tanh one: ONNX Runtime computes each form
        Assert.Contains("Tanh", ops);
        Assert.Equal(2, ops.Count(o => o == "Sigmoid")); // silu's and the output's
    }

    /// <summary>
    /// cross_entropy's label_smoothing changes training only: as for every loss, the export holds the inference graph
    /// (the logits), with no label input and no loss nodes, and matches Forward.
    /// </summary>
    [Fact]
    public void A_label_smoothed_loss_is_not_exported_and_the_logits_match_forward()
    {
        var model = GeneratedModel.Compile("""
            model Smoothed {
                input x: f32[B, 6]
                label y: i32[B]
                logits = x -> dense(8) -> tanh -> dense(4)
                output logits
                loss cross_entropy(logits, y, label_smoothing=0.1)
                optimizer sgd(lr=0.1)
            }
            """, "Smoothed", seed: 3);
        var random = new Random(6);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 8, 6), GradientChecker.RandomClasses(random, 4, 8));
        string path = CheckAgainstForward(model, "x", 6, "logits", outputWidth: 4);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.DoesNotContain("SoftmaxCrossEntropyLoss", ops);
        Assert.DoesNotContain("LogSoftmax", ops);
        using var session = new InferenceSession(path);
        Assert.Equal(["x"], session.InputMetadata.Keys);
    }

    private const string LeakyEluModel = """
        model LeakyElu {
            input x: f32[B, 6]
            label y: f32[B, 3]

            h = x -> dense(8) -> leaky_relu(negative_slope=0.2)
            g = h -> dense(8) -> elu(alpha=0.7)
            s = g + h
            out = s -> leaky_relu -> dense(3) -> elu
            output out

            loss mse(out, y)
            optimizer sgd(lr=0.05)
        }
        """;

    [Fact]
    public void Leaky_relu_and_elu_match_forward()
    {
        var model = GeneratedModel.Compile(LeakyEluModel, "LeakyElu", seed: 8);
        var random = new Random(6);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 8, 6), GradientChecker.RandomTensor(random, 8, 3));
        string path = CheckAgainstForward(model, "x", 6, "out", outputWidth: 3, scale: 3f);

        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Equal(2, ops.Count(o => o == "LeakyRelu"));
        Assert.Equal(2, ops.Count(o => o == "Elu"));
    }

    private const string SequenceModel = """
        model Sequence {
            input x: f32[B, T, 5]
            label y: f32[B, T, 4]

            out = x -> dense(7) -> relu -> dense(4, bias=false)
            output out

            loss mse(out, y)
            optimizer sgd(lr=0.05)
        }
        """;

    [Fact]
    public void Dense_on_rank_three_input_is_matmul_with_the_transposed_weight()
    {
        var model = GeneratedModel.Compile(SequenceModel, "Sequence", seed: 2);
        string path = Path.Combine(_folder, "sequence.onnx");
        model.Call("ExportOnnx", path);
        using var session = new InferenceSession(path);
        Assert.Equal(["B", "T", ""], session.InputMetadata["x"].SymbolicDimensions);
        var random = new Random(6);
        foreach (var (b, t) in new[] { (2, 3), (5, 1) })
        {
            var x = GradientChecker.RandomTensor(random, b, t, 5);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            var actual = Run(session, "x", x.Data.Take(b * t * 5).ToArray(), [b, t, 5]);
            AssertClose(expected, actual, "Sequence", b);
        }
        Assert.Contains("MatMul", OpTypes(File.ReadAllBytes(path)));
    }

    [Fact]
    public void FashionCnn_exports_conv_and_pooling_and_matches_forward()
    {
        var model = GeneratedModel.CompileExample("examples/FashionMnist/fashion_cnn.model", "FashionCnn");
        var random = new Random(9);
        for (int step = 0; step < 2; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 8, 1, 28, 28), GradientChecker.RandomClasses(random, 10, 8));
        string path = Path.Combine(_folder, "fashion_cnn.onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Equal(2, ops.Count(o => o == "Conv"));
        Assert.Equal(2, ops.Count(o => o == "MaxPool"));
        Assert.Contains("Reshape", ops); // flatten

        using var session = new InferenceSession(path);
        Assert.Equal(["B", "", "", ""], session.InputMetadata["x"].SymbolicDimensions);
        foreach (int batch in new[] { 1, 5 })
        {
            var x = GradientChecker.RandomTensor(random, batch, 1, 28, 28);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, 1, 28, 28]), "FashionCnn", batch);
        }
    }

    [Fact]
    public void Conv_with_padding_same_matches_forward()
    {
        var model = GeneratedModel.Compile("""
            model Same {
                input x: f32[B, 2, 7, 7]
                label y: f32[B, 4]
                h = x -> conv2d(3, kernel=3, padding="same") -> tanh -> conv2d(2, kernel=5, padding="same") -> flatten -> dense(4)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "Same", seed: 4);
        string path = Path.Combine(_folder, "same.onnx");
        model.Call("ExportOnnx", path);
        using var session = new InferenceSession(path);
        var random = new Random(12);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = GradientChecker.RandomTensor(random, batch, 2, 7, 7);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, 2, 7, 7]), "Same", batch);
        }
    }

    [Theory]
    [InlineData("global_avg_pool2d", "GlobalAveragePool")]
    [InlineData("global_max_pool2d", "GlobalMaxPool")]
    public void Global_pooling_over_symbolic_image_sizes_matches_forward(string pool, string onnxOp)
    {
        var model = GeneratedModel.Compile($$"""
            model Global {
                input x: f32[B, 2, H, W]
                label y: f32[B, 4]
                h = x -> conv2d(3, kernel=3, padding="same") -> tanh -> {{pool}} -> dense(4)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "Global", seed: 4);
        string path = Path.Combine(_folder, pool + ".onnx");
        model.Call("ExportOnnx", path);
        Assert.Contains(onnxOp, OpTypes(File.ReadAllBytes(path)));
        using var session = new InferenceSession(path);
        var random = new Random(13);
        foreach (var (batch, height, width) in new[] { (1, 5, 7), (3, 4, 4) })
        {
            var x = GradientChecker.RandomTensor(random, batch, 2, height, width);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, 2, height, width]), "Global", batch);
        }
    }

    /// <summary>
    /// batch_norm exports as BatchNormalization (inference mode) with running_mean and running_var as initializers under
    /// their state_dict names; after training steps moved them (and the affine parameters), ONNX Runtime matches Forward
    /// (which reads the running statistics), 2-d and 1-d, with and without affine.
    /// </summary>
    [Theory]
    [InlineData("f32[B, 2, 5, 5]", "h = x -> conv2d(3, kernel=3, padding=1) -> batch_norm -> relu -> global_avg_pool2d -> dense(4)")]
    [InlineData("f32[B, 2, 5, 5]", "h = x -> conv2d(3, kernel=3, padding=1) -> batch_norm(affine=false, momentum=0.5) -> flatten -> dense(4)")]
    [InlineData("f32[B, 6]", "h = x -> dense(5) -> batch_norm(eps=1e-3) -> tanh -> dense(4)")]
    public void Batch_norm_exports_its_running_statistics_and_matches_forward(string input, string body)
    {
        var model = GeneratedModel.Compile($$"""
            model Normed {
                input x: {{input}}
                label y: f32[B, 4]
                {{body}}
                output h
                loss mse(h, y)
                optimizer adam(lr=0.05)
            }
            """, "Normed", seed: 15);
        int[] shape = input.Contains('5') ? [6, 2, 5, 5] : [6, 6];
        var random = new Random(16);
        // Shifted inputs so the running statistics move well away from their start (mean 0, variance 1).
        for (int step = 0; step < 5; step++)
        {
            var x = GradientChecker.RandomTensor(random, shape);
            for (int i = 0; i < x.Length; i++) x.Data[i] = 3f * x.Data[i] + 2f;
            model.Call("TrainStep", x, GradientChecker.RandomTensor(random, shape[0], 4));
        }
        var states = (IReadOnlyList<StateBuffer>)model.Get("States");
        Assert.Contains(states, st => st.Name.EndsWith(".running_mean", StringComparison.Ordinal) && st.Value.All(v => Math.Abs(v) > 0.01f));
        string path = Path.Combine(_folder, "normed.onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Single(ops, op => op == "BatchNormalization");
        using var session = new InferenceSession(path);
        foreach (int batch in new[] { 1, 4 })
        {
            shape[0] = batch;
            var x = GradientChecker.RandomTensor(random, shape);
            for (int i = 0; i < x.Length; i++) x.Data[i] = 3f * x.Data[i] + 2f;
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, shape), "Normed", batch);
        }
    }

    [Fact]
    public void Permute_matches_forward()
    {
        var model = GeneratedModel.Compile("""
            model Perm {
                input x: f32[B, H, W, 2]
                label y: f32[B, 4]
                h = x -> permute(0, 3, 1, 2) -> conv2d(3, kernel=3, padding="same") -> permute(0, 2, 3, 1) -> dense(2) -> permute(0, 3, 1, 2) -> global_avg_pool2d -> dense(4)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "Perm", seed: 4);
        string path = Path.Combine(_folder, "perm.onnx");
        model.Call("ExportOnnx", path);
        Assert.Contains("Transpose", OpTypes(File.ReadAllBytes(path)));
        using var session = new InferenceSession(path);
        var random = new Random(14);
        foreach (var (batch, height, width) in new[] { (1, 5, 7), (3, 4, 4) })
        {
            var x = GradientChecker.RandomTensor(random, batch, height, width, 2);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, height, width, 2]), "Perm", batch);
        }
    }

    [Fact]
    public void Select_and_slice_match_forward_at_any_sequence_length()
    {
        var model = GeneratedModel.Compile("""
            model Rows {
                input x: f32[B, T, 3]
                label y: f32[B, 4]
                a = x -> dense(5) -> tanh
                c = a -> select(axis=1, index=0)
                l = a -> select(1, -1)
                f = a -> slice(axis=1, start=-2) -> slice(2, 1, -1) -> flatten
                h = concat(c, l, f) -> dense(4)
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """, "Rows", seed: 5);
        string path = Path.Combine(_folder, "rows.onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Contains("Gather", ops);
        Assert.Contains("Slice", ops);
        using var session = new InferenceSession(path);
        var random = new Random(15);
        foreach (var (batch, steps) in new[] { (1, 2), (3, 7) })
        {
            var x = GradientChecker.RandomTensor(random, batch, steps, 3);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, steps, 3]), "Rows", batch);
        }
    }

    /// <summary>Reductions, plain and masked (mean pooling over real tokens with an i32 and an f32 mask; masked max), at two batch/sequence sizes.</summary>
    [Theory]
    [InlineData("i32", "h = concat(a -> mean(axis=1), a -> sum(1), a -> max(axis=1), a -> mean(1, keepdim=true) -> flatten -> dense(3), a -> max(-1) -> sum(1, keepdim=true)) -> dense(4)")]
    [InlineData("i32", "h = concat(a -> mean(axis=1, mask=m), a -> sum(1, mask=m), a -> max(1, mask=m)) -> dense(4)")]
    [InlineData("f32", "h = concat(a -> mean(axis=1, mask=m), a -> max(1, mask=m, keepdim=true) -> flatten) -> dense(4)")]
    public void Reductions_match_forward_at_any_sequence_length(string maskType, string body)
    {
        var model = GeneratedModel.Compile($$"""
            model Pool {
                input x: f32[B, T, 3]
                input m: {{maskType}}[B, T]
                label y: f32[B, 4]
                a = x -> dense(5) -> tanh
                {{body}}
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """, "Pool", seed: 5);
        string path = Path.Combine(_folder, "pool.onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Contains(body.Contains("mask") ? "ReduceSum" : "ReduceMean", ops);
        using var session = new InferenceSession(path);
        var random = new Random(16);
        foreach (var (batch, steps) in new[] { (2, 3), (3, 7) })
        {
            var x = GradientChecker.RandomTensor(random, batch, steps, 3);
            // Each row keeps a prefix of its tokens (the first always); the last row of the second batch keeps none.
            int[] bits = Enumerable.Range(0, batch * steps).Select(i => i % steps < 1 + (i / steps) * 2 && !(batch == 3 && i / steps == 2) ? 1 : 0).ToArray();
            var expected = maskType == "i32"
                ? ((Tensor)model.Call("Forward", x, new IntTensor(bits, [batch, steps]))).Span.ToArray()
                : ((Tensor)model.Call("Forward", x, new Tensor(bits.Select(b => (float)b).ToArray(), [batch, steps]))).Span.ToArray();
            var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.Data, [batch, steps, 3])) };
            inputs.Add(maskType == "i32"
                ? NamedOnnxValue.CreateFromTensor("m", new DenseTensor<int>(bits, [batch, steps]))
                : NamedOnnxValue.CreateFromTensor("m", new DenseTensor<float>(bits.Select(b => (float)b).ToArray(), [batch, steps])));
            using var results = session.Run(inputs);
            AssertClose(expected, results.Single().AsTensor<float>().ToArray(), "Pool", batch);
        }
    }

    [Fact]
    public void Strided_padded_conv_and_average_pooling_match_forward()
    {
        var model = GeneratedModel.Compile("""
            model Pools {
                input x: f32[B, 2, 7, 7]
                label y: f32[B, 4]
                h = x -> conv2d(3, kernel=3, stride=2, padding=1, bias=false) -> tanh -> avg_pool2d(3, stride=2, padding=1) -> flatten -> dense(4)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "Pools", seed: 4);
        string path = Path.Combine(_folder, "pools.onnx");
        model.Call("ExportOnnx", path);
        Assert.Contains("AveragePool", OpTypes(File.ReadAllBytes(path)));
        using var session = new InferenceSession(path);
        var random = new Random(10);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = GradientChecker.RandomTensor(random, batch, 2, 7, 7);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            AssertClose(expected, Run(session, "x", x.Data, [batch, 2, 7, 7]), "Pools", batch);
        }
    }

    [Fact]
    public void Embedding_positional_layer_norm_and_softmax_match_forward_at_any_sequence_length()
    {
        var model = GeneratedModel.Compile("""
            model Tokens {
                input idx: i32[B, T]
                label y: f32[B, T, 5]
                h = embedding(idx, 11, 8) -> positional(10) -> layer_norm -> dense(5) -> softmax
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "Tokens", seed: 6);
        var random = new Random(11);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomClasses(random, 11, 2, 4), GradientChecker.RandomTensor(random, 2, 4, 5));
        string path = Path.Combine(_folder, "tokens.onnx");
        model.Call("ExportOnnx", path);
        Assert.Contains("Gather", OpTypes(File.ReadAllBytes(path)));
        using var session = new InferenceSession(path);
        Assert.Equal(["B", "T"], session.InputMetadata["idx"].SymbolicDimensions);
        foreach (var (b, t) in new[] { (2, 3), (1, 10) })
        {
            var idx = GradientChecker.RandomClasses(random, 11, b, t);
            var expected = ((Tensor)model.Call("Forward", idx)).Span.ToArray();
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("idx", new DenseTensor<int>(idx.Data, [b, t]))]);
            AssertClose(expected, results.Single().AsTensor<float>().ToArray(), "Tokens", b);
        }
    }

    [Fact]
    public void Concat_exports_and_matches_forward()
    {
        var model = GeneratedModel.Compile("""
            model Joined {
                input x: f32[B, 6]
                label y: f32[B, 3]
                a = x -> dense(4) -> tanh
                h = concat(a, x, a -> sigmoid, axis=1) -> dense(3)
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """, "Joined", seed: 9);
        var random = new Random(10);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 8, 6), GradientChecker.RandomTensor(random, 8, 3));
        string path = CheckAgainstForward(model, "x", 6, "h", outputWidth: 3);
        Assert.Single(OpTypes(File.ReadAllBytes(path)), op => op == "Concat");
    }

    [Theory]
    [InlineData("x -> lstm(6) -> dense(3)", "f32[B, 3]")]
    [InlineData("x -> lstm(6, return_sequences=true) -> tanh -> lstm(4, return_sequences=true) -> dense(3)", "f32[B, T, 3]")]
    [InlineData("x -> dense(8) -> attention(2) -> dense(3)", "f32[B, T, 3]")]
    [InlineData("x -> attention(4, causal=true) -> dense(3)", "f32[B, T, 3]")]
    [InlineData("x -> layer_norm -> attention(2, causal=true, bias=false) -> lstm(5) -> dense(3)", "f32[B, 3]")]
    // attention(dropout=p) trains with dropped probabilities, and exports the inference pass: nothing of the dropout in the graph.
    [InlineData("x -> dense(8) -> attention(2, dropout=0.4) -> dense(3)", "f32[B, T, 3]")]
    [InlineData("x -> attention(4, causal=true, dropout=0.2) -> dense(3)", "f32[B, T, 3]")]
    [InlineData("x -> gru(6) -> dense(3)", "f32[B, 3]")]
    [InlineData("x -> gru(6, return_sequences=true) -> tanh -> gru(4, return_sequences=true) -> dense(3)", "f32[B, T, 3]")]
    // bidirectional: direction="bidirectional", Y [T, 2, B, h] → [B, T, 2h] and Y_h [2, B, h] → [B, 2h] against the runtime's join.
    [InlineData("x -> lstm(5, bidirectional=true) -> dense(3)", "f32[B, 3]")]
    [InlineData("x -> lstm(4, return_sequences=true, bidirectional=true) -> tanh -> gru(3, bidirectional=true) -> dense(3)", "f32[B, 3]")]
    [InlineData("x -> gru(5, return_sequences=true, bidirectional=true) -> dense(3)", "f32[B, T, 3]")]
    public void Lstm_gru_and_attention_match_forward_at_any_sequence_length(string chain, string label)
    {
        var model = GeneratedModel.Compile($$"""
            model Recurrent {
                input x: f32[B, T, 8]
                label y: {{label}}
                h = {{chain}}
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """, "Recurrent", seed: 13);
        bool sequences = label.Contains('T');
        var random = new Random(14);
        // Train a little so that every bias (attention's start at zero) and weight is off its initial value.
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 4, 5, 8), sequences ? GradientChecker.RandomTensor(random, 4, 5, 3) : GradientChecker.RandomTensor(random, 4, 3));
        string path = Path.Combine(_folder, "recurrent.onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Equal(chain.Split("lstm").Length - 1, ops.Count(o => o == "LSTM"));
        Assert.Equal(chain.Split("gru").Length - 1, ops.Count(o => o == "GRU"));
        Assert.Equal(chain.Split("attention").Length - 1, ops.Count(o => o == "Softmax"));
        Assert.Equal(chain.Split("causal=true").Length - 1, ops.Count(o => o == "Where"));
        Assert.DoesNotContain(ops, o => o is "Dropout" or "RandomUniform" or "RandomUniformLike" or "Bernoulli");

        using var session = new InferenceSession(path);
        Assert.Equal(["B", "T", ""], session.InputMetadata["x"].SymbolicDimensions);
        foreach (var (b, t) in new[] { (1, 1), (3, 7), (2, 12) })
        {
            var x = GradientChecker.RandomTensor(random, b, t, 8);
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            Assert.Equal(b * (sequences ? t : 1) * 3, expected.Length);
            AssertClose(expected, Run(session, "x", x.Data.Take(b * t * 8).ToArray(), [b, t, 8]), chain, b);
        }
    }

    /// <summary>
    /// attention(mask=m): the mask becomes a second graph input (i32 cast to float, or f32 as it is) and the bias
    /// (1 − m)·(−10000) is added to the scores; ONNX Runtime against Forward with padded rows, one of them fully padded.
    /// </summary>
    [Theory]
    [InlineData("i32", "")]
    [InlineData("f32", ", causal=true")]
    public void Attention_with_a_key_padding_mask_matches_forward(string maskType, string causal)
    {
        var model = GeneratedModel.Compile($$"""
            model Masked {
                input x: f32[B, T, 8]
                input m: {{maskType}}[B, T]
                label y: f32[B, T, 3]
                h = x -> layer_norm -> attention(2, mask=m{{causal}}) -> dense(3)
                output h
                loss mse(h, y)
                optimizer adam(lr=0.01)
            }
            """, "Masked", seed: 21);
        var random = new Random(22);
        int[] MaskData(int b, int t) => Enumerable.Range(0, b * t).Select(i => i % t < (i / t * 3 + 2) % (t + 1) ? 1 : 0).ToArray();
        object Mask(int b, int t) => maskType == "i32"
            ? new IntTensor(MaskData(b, t), b, t)
            : new Tensor(MaskData(b, t).Select(v => (float)v).ToArray(), b, t);
        for (int step = 0; step < 3; step++)
            model.Call("TrainStep", GradientChecker.RandomTensor(random, 4, 5, 8), Mask(4, 5), GradientChecker.RandomTensor(random, 4, 5, 3));
        string path = Path.Combine(_folder, "masked_" + maskType + ".onnx");
        model.Call("ExportOnnx", path);
        var ops = OpTypes(File.ReadAllBytes(path));
        Assert.Equal(maskType == "i32" ? 1 : 0, ops.Count(o => o == "Cast"));
        Assert.Contains("Unsqueeze", ops);

        using var session = new InferenceSession(path);
        Assert.Equal(["x", "m"], session.InputMetadata.Keys);
        Assert.Equal(["B", "T"], session.InputMetadata["m"].SymbolicDimensions);
        foreach (var (b, t) in new[] { (1, 1), (3, 7), (4, 12) })
        {
            var x = GradientChecker.RandomTensor(random, b, t, 8);
            int[] mask = MaskData(b, t);
            Assert.Contains(0, mask); // padded keys in every batch (row 0 fully padded at T = 1, row 2 at T = 7)
            var expected = ((Tensor)model.Call("Forward", x, Mask(b, t))).Span.ToArray();
            NamedOnnxValue maskValue = maskType == "i32"
                ? NamedOnnxValue.CreateFromTensor("m", new DenseTensor<int>(mask, [b, t]))
                : NamedOnnxValue.CreateFromTensor("m", new DenseTensor<float>(mask.Select(v => (float)v).ToArray(), [b, t]));
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.Data.Take(b * t * 8).ToArray(), [b, t, 8])), maskValue]);
            var actual = results.Single().AsTensor<float>().ToArray();
            Assert.All(actual, v => Assert.True(float.IsFinite(v)));
            AssertClose(expected, actual, "masked attention " + maskType, b);
        }
    }

    [Theory]
    [InlineData("examples/TextLstm/fortune_lstm.model", "FortuneLstm", 8192, 4)]
    [InlineData("examples/CharGpt/char_gpt.model", "CharGpt", 96, 96)]
    public void Lstm_and_gpt_examples_export_and_match_forward(string file, string name, int vocabulary, int classes)
    {
        var model = GeneratedModel.CompileExample(file, name);
        var random = new Random(15);
        var labels = name == "CharGpt" ? GradientChecker.RandomClasses(random, classes, 2, 6) : GradientChecker.RandomClasses(random, classes, 2);
        model.Call("TrainStep", GradientChecker.RandomClasses(random, vocabulary, 2, 6), labels);
        string path = Path.Combine(_folder, name + ".onnx");
        model.Call("ExportOnnx", path);
        using var session = new InferenceSession(path);
        string input = session.InputMetadata.Keys.Single();
        foreach (var (b, t) in new[] { (1, 3), (2, 9) })
        {
            var tokens = GradientChecker.RandomClasses(random, vocabulary, b, t);
            var expected = ((Tensor)model.Call("Forward", tokens)).Span.ToArray();
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<int>(tokens.Data.Take(b * t).ToArray(), [b, t]))]);
            AssertClose(expected, results.Single().AsTensor<float>().ToArray(), name, b);
        }
    }

    [Fact]
    public void Structure_ops_lowered_without_a_generated_class_load_and_run()
    {
        // The lowering on its own, without a generated class: the graph from OnnxLowering, weights from the test.
        var result = Compilation.Compile("structure.model", """
            model Structure {
                input x: f32[B, T, 8]
                h = x -> layer_norm -> dense(8, bias=false)
                g = concat(h, x, axis=-1) -> softmax
                r = g -> flatten -> reshape([B, T, 16]) -> dense(3) -> softmax
                output r
            }
            """);
        var graph = ModelDsl.Emit.Onnx.OnnxLowering.Lower(Assert.Single(result.Models));
        var random = new Random(8);
        var parameters = Assert.Single(result.Models).Parameters.Select(p =>
        {
            var parameter = new Parameter(p.Name, p.Shape.Dims.Select(d => (int)d.Value).ToArray(), "test");
            for (int i = 0; i < parameter.Value.Length; i++) parameter.Value[i] = (float)(random.NextDouble() - 0.5);
            return parameter;
        }).ToList();
        string path = Path.Combine(_folder, "structure.onnx");
        ModelDsl.Runtime.Onnx.OnnxExport.Write(path, graph.Serialize(), parameters);

        using var session = new InferenceSession(path);
        Assert.Equal(["B", "T", ""], session.InputMetadata["x"].SymbolicDimensions);
        foreach (var (b, t) in new[] { (1, 2), (3, 4) })
        {
            var x = GradientChecker.RandomTensor(random, b, t, 8);
            var y = Run(session, "x", x.Data, [b, t, 8]);
            Assert.Equal(b * t * 3, y.Length);
            for (int row = 0; row < b * t; row++) Assert.Equal(1.0, y.Skip(row * 3).Take(3).Sum(), 4);
        }
    }

    [Fact]
    public void Export_is_atomic_and_overwrites()
    {
        var model = GeneratedModel.CompileExample("examples/BinaryClassifier/binary_classifier.model", "BinaryClassifier");
        string path = Path.Combine(_folder, "model.onnx");
        File.WriteAllText(path, "old");
        model.Call("ExportOnnx", path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0x08, bytes[0]); // field 1 (ir_version), varint
        Assert.Equal(9, bytes[1]);    // IR 9 for opset 20
        Assert.Single(Directory.GetFiles(_folder)); // no temporary file left behind
    }

    [Fact]
    public void Export_rejects_a_parameter_of_the_wrong_shape()
    {
        var model = GeneratedModel.CompileExample("examples/BinaryClassifier/binary_classifier.model", "BinaryClassifier");
        string graph = (string)model.Instance.GetType().GetField("OnnxGraph", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var parameters = model.Parameters.Select(p => p.Name.EndsWith("weight", StringComparison.Ordinal) && p.Shape[0] == 1
            ? new Parameter(p.Name, [2, p.Shape[1]], "test") : p).ToList();
        var e = Assert.Throws<ArgumentException>(() => ModelDsl.Runtime.Onnx.OnnxExport.Write(Path.Combine(_folder, "bad.onnx"), graph, parameters));
        Assert.Contains("has shape [2, 64] but the graph needs [1, 64]", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder));
        var missing = Assert.Throws<ArgumentException>(() => ModelDsl.Runtime.Onnx.OnnxExport.Write(Path.Combine(_folder, "bad.onnx"), graph, parameters.Skip(1).ToList()));
        Assert.Contains("no parameter", missing.Message, StringComparison.Ordinal);
    }

    /// <summary>Exports <paramref name="model"/>, checks the symbolic batch dim and compares ONNX Runtime with Forward at batch sizes 1 and 7.</summary>
    private string CheckAgainstForward(GeneratedModel model, string input, int width, string output, int outputWidth, float scale = 1f)
    {
        string path = Path.Combine(_folder, model.Instance.GetType().Name + ".onnx");
        model.Call("ExportOnnx", path);
        using var session = new InferenceSession(path);
        Assert.Equal(["B", ""], session.InputMetadata[input].SymbolicDimensions);
        Assert.Equal([-1, width], session.InputMetadata[input].Dimensions);
        Assert.Equal([output], session.OutputMetadata.Keys);
        Assert.Equal([-1, outputWidth], session.OutputMetadata[output].Dimensions);
        Assert.Equal("ModelDsl", session.ModelMetadata.ProducerName);

        var random = new Random(width);
        foreach (int batch in new[] { 1, 7 })
        {
            var x = GradientChecker.RandomTensor(random, batch, width);
            for (int i = 0; i < x.Length; i++) x.Data[i] *= scale;
            var expected = ((Tensor)model.Call("Forward", x)).Span.ToArray();
            Assert.Equal(batch * outputWidth, expected.Length);
            var actual = Run(session, input, x.Data.Take(batch * width).ToArray(), [batch, width]);
            AssertClose(expected, actual, model.Instance.GetType().Name, batch);
        }
        return path;
    }

    private static float[] Run(InferenceSession session, string input, float[] data, int[] shape)
    {
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(data, shape))]);
        return results.Single().AsTensor<float>().ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, string model, int batch)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), 1e-2));
        Assert.True(worst <= Tolerance, $"{model} at batch {batch}: ONNX Runtime differs from Forward by {worst:G3} (relative)");
    }

    private static Tensor Labels01(Random random, int rows) =>
        new(Enumerable.Range(0, rows).Select(_ => (float)random.Next(2)).ToArray(), rows, 1);

    /// <summary>The op_type of every node, read back from the protobuf (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4).</summary>
    internal static List<string> OpTypes(byte[] model)
    {
        var graph = Fields(model).Single(f => f.Field == 7).Bytes!;
        return Fields(graph).Where(f => f.Field == 1)
            .Select(n => System.Text.Encoding.UTF8.GetString(Fields(n.Bytes!).Single(f => f.Field == 4).Bytes!))
            .ToList();
    }

    /// <summary>A minimal protobuf reader for the checks above: (field, bytes) for length-delimited fields, (field, null) otherwise.</summary>
    internal static List<(int Field, byte[]? Bytes)> Fields(byte[] data)
    {
        var fields = new List<(int, byte[]?)>();
        int pos = 0;
        ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = data[pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }
        while (pos < data.Length)
        {
            ulong tag = Varint();
            int field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0: Varint(); fields.Add((field, null)); break;
                case 5: pos += 4; fields.Add((field, null)); break;
                case 1: pos += 8; fields.Add((field, null)); break;
                case 2:
                    int length = (int)Varint();
                    fields.Add((field, data.AsSpan(pos, length).ToArray()));
                    pos += length;
                    break;
                default: throw new InvalidDataException($"wire type {tag & 7}");
            }
        }
        return fields;
    }
}
