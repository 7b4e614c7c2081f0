using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// batch_norm through the generated code: the values PyTorch's nn.BatchNorm1d/2d gives (worked out by hand from its
/// documented formulas: biased variance to normalise, unbiased for running_var, momentum 0.1, eps 1e-5), the running
/// statistics as layer state (not parameters) in checkpoints under the state_dict names, and the small ResNet of issue 15
/// training on the CPU.
/// </summary>
public sealed class BatchNormTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("modeldsl-batchnorm-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Columns = """
        model Norm {
            input x: f32[B, 2]
            label y: f32[B, 2]
            h = x -> batch_norm
            output h
            loss mse(h, y)
            optimizer sgd(lr=0.1)
        }
        """;

    private static IReadOnlyList<StateBuffer> States(GeneratedModel model) => (IReadOnlyList<StateBuffer>)model.Get("States");

    /// <summary>
    /// x = [[1, 10], [2, 20], [3, 30], [4, 40]]. Channel 0: mean 2.5, biased variance 1.25, unbiased 5/3; channel 1:
    /// mean 25, variance 125 and 500/3. One training-mode pass (ComputeGradients, which does not step the optimizer):
    /// the loss against zero labels is mean(x̂²) = mean over channels of var/(var + eps); running_mean = 0.1·mean =
    /// [0.25, 2.5]; running_var = 0.9 + 0.1·unbiased = [1.0666667, 17.566667]; num_batches_tracked = 1. Then Forward
    /// (inference) is (x − running_mean)/√(running_var + eps) with weight 1 and bias 0.
    /// </summary>
    [Fact]
    public void Training_and_inference_give_the_values_of_PyTorch_formulas()
    {
        var model = GeneratedModel.Compile(Columns, "Norm");
        var x = new Tensor([1f, 10f, 2f, 20f, 3f, 30f, 4f, 40f], [4, 2]);
        var zeros = new Tensor(new float[8], [4, 2]);

        float loss = (float)model.Call("ComputeGradients", x, zeros);
        double expectedLoss = (1.25 / (1.25 + 1e-5) + 125 / (125 + 1e-5)) / 2;
        Assert.Equal(expectedLoss, loss, 5);

        var states = States(model);
        Assert.Equal(["h.running_mean", "h.running_var", "h.num_batches_tracked"], states.Select(s => s.Name));
        Assert.Equal(0.25f, states[0].Value[0], 6);
        Assert.Equal(2.5f, states[0].Value[1], 5);
        Assert.Equal(0.9 + 0.1 * (5.0 / 3), states[1].Value[0], 5);
        Assert.Equal(0.9 + 0.1 * (500.0 / 3), states[1].Value[1], 4);
        Assert.Equal(1, states[2].Count);
        // The running statistics are layer state, never parameters: no gradient, no optimizer update.
        Assert.Equal(["h.weight", "h.bias"], model.Parameters.Select(p => p.Name));

        var y = ((Tensor)model.Call("Forward", x)).Span.ToArray();
        double[] rm = [0.25, 2.5], rv = [0.9 + 0.1 * (5.0 / 3), 0.9 + 0.1 * (500.0 / 3)];
        for (int i = 0; i < 8; i++)
            Assert.Equal((x.Data[i] - rm[i % 2]) / Math.Sqrt(rv[i % 2] + 1e-5), y[i], 4);
        Assert.Equal(1, states[2].Count); // inference changes no state

        // A TrainStep is a training-mode pass too: the counter and the running statistics move again.
        model.Call("TrainStep", x, zeros);
        Assert.Equal(2, states[2].Count);
        Assert.Equal(0.9 * 0.25 + 0.1 * 2.5, states[0].Value[0], 5);
    }

    [Fact]
    public void Training_with_one_value_per_channel_throws_as_PyTorch_does()
    {
        var model = GeneratedModel.Compile(Columns, "Norm");
        var e = Assert.Throws<ArgumentException>(() => model.Call("ComputeGradients", new Tensor([1f, 2f], [1, 2]), new Tensor([0f, 0f], [1, 2])));
        Assert.Contains("more than one value per channel", e.Message);
        // Inference with one sample is fine: it reads the running statistics.
        Assert.Equal(new[] { 1f, 2f }.Select(v => v / MathF.Sqrt(1 + 1e-5f)), ((Tensor)model.Call("Forward", new Tensor([1f, 2f], [1, 2]))).Span.ToArray(), new Near(1e-6f));
    }

    /// <summary>Save writes the running statistics (F32) and the counter (I64 scalar) under the state_dict names; Load restores them.</summary>
    [Fact]
    public void Checkpoints_carry_the_running_statistics_under_their_state_dict_names()
    {
        var model = GeneratedModel.Compile(Columns, "Norm");
        var x = new Tensor([1f, 10f, 2f, 20f, 3f, 30f, 4f, 40f], [4, 2]);
        model.Call("TrainStep", x, new Tensor(new float[8], [4, 2]));
        model.Call("TrainStep", x, new Tensor(new float[8], [4, 2]));
        string path = Path.Combine(_folder, "norm.safetensors");
        model.Call("Save", path);

        using (var file = SafetensorsFile.Open(path))
        {
            Assert.Equal(SafetensorsDType.F32, file["h.running_mean"].DType);
            Assert.Equal(SafetensorsDType.F32, file["h.running_var"].DType);
            Assert.Equal(SafetensorsDType.I64, file["h.num_batches_tracked"].DType);
            Assert.Empty(file["h.num_batches_tracked"].Shape);
            Assert.Equal(States(model)[1].Value, file.ReadSingles("h.running_var"));
            Assert.DoesNotContain(file.Tensors, t => t.Name.Contains("optimizer.state1.h.running", StringComparison.Ordinal));
        }

        var fresh = GeneratedModel.Compile(Columns, "Norm");
        fresh.Call("Load", path);
        var loaded = States(fresh);
        Assert.Equal(States(model)[0].Value, loaded[0].Value);
        Assert.Equal(States(model)[1].Value, loaded[1].Value);
        Assert.Equal(2, loaded[2].Count);
        Assert.Equal(((Tensor)model.Call("Forward", x)).Span.ToArray(), ((Tensor)fresh.Call("Forward", x)).Span.ToArray());

        // Initialize returns the state to PyTorch's start.
        fresh.Call("Initialize");
        Assert.All(loaded[0].Value, v => Assert.Equal(0f, v));
        Assert.All(loaded[1].Value, v => Assert.Equal(1f, v));
        Assert.Equal(0, loaded[2].Count);
    }

    /// <summary>
    /// A file laid out as <c>safetensors.torch.save_file(model.state_dict())</c> writes an nn.BatchNorm1d (weight, bias,
    /// running_mean, running_var F32; num_batches_tracked I64 []; no ModelDsl metadata) loads, and one without the
    /// running statistics is refused naming the missing state.
    /// </summary>
    [Fact]
    public void A_PyTorch_state_dict_with_batch_norm_buffers_loads()
    {
        string path = Path.Combine(_folder, "torch.safetensors");
        var writer = new SafetensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.AddSingles("h.weight", [2], new[] { 2f, 0.5f });
        writer.AddSingles("h.bias", [2], new[] { 1f, -1f });
        writer.AddSingles("h.running_mean", [2], new[] { 3f, -4f });
        writer.AddSingles("h.running_var", [2], new[] { 4f, 0.25f });
        writer.AddInt64s("h.num_batches_tracked", [], [1234L]);
        writer.Save(path);

        var model = GeneratedModel.Compile(Columns, "Norm");
        model.Call("Load", path);
        Assert.Equal(1234, States(model)[2].Count);
        var y = ((Tensor)model.Call("Forward", new Tensor([5f, -4f], [1, 2]))).Span.ToArray();
        // PyTorch eval: (x − running_mean)/√(running_var + eps)·weight + bias
        Assert.Equal(2f / MathF.Sqrt(4f + 1e-5f) * 2f + 1f, y[0], 5);
        Assert.Equal(-1f, y[1], 5);

        string partial = Path.Combine(_folder, "partial.safetensors");
        var w2 = new SafetensorsWriter();
        w2.AddSingles("h.weight", [2], new[] { 2f, 0.5f });
        w2.AddSingles("h.bias", [2], new[] { 1f, -1f });
        w2.Save(partial);
        var e = Assert.Throws<InvalidDataException>(() => model.Call("Load", partial));
        Assert.Contains("state 'h.running_mean' of Norm is missing from the file", e.Message);
        Assert.Equal(1234, States(model)[2].Count); // nothing changed
    }

    /// <summary>
    /// The small ResNet of issue 15 (conv2d → batch_norm → relu with a residual add) trains on the CPU: a synthetic task
    /// (is the upper half of the image brighter than the lower half?), and inference through the running statistics
    /// classifies held-out images.
    /// </summary>
    [Fact]
    public void A_small_resnet_with_batch_norm_trains_on_the_cpu()
    {
        var model = GeneratedModel.Compile("""
            model ResNet {
                input x: f32[B, 1, 8, 8]
                label y: i32[B]
                stem = x -> conv2d(8, 3, padding=1) -> batch_norm -> relu
                branch = stem -> conv2d(8, 3, padding=1) -> batch_norm -> relu -> conv2d(8, 3, padding=1) -> batch_norm
                logits = (stem + branch) -> relu -> global_avg_pool2d -> dense(2)
                output logits
                loss cross_entropy(logits, y)
                optimizer adam(lr=0.01)
            }
            """, "ResNet", seed: 3);
        var random = new Random(17);
        (Tensor X, IntTensor Y) Batch(int n)
        {
            var x = new float[n * 64];
            var y = new int[n];
            for (int b = 0; b < n; b++)
            {
                y[b] = random.Next(2);
                for (int i = 0; i < 64; i++)
                {
                    bool upper = i < 32;
                    x[b * 64 + i] = (float)(random.NextDouble() * 2 - 1) + (upper == (y[b] == 1) ? 0.6f : -0.6f) + 3f;
                }
            }
            return (new Tensor(x, [n, 1, 8, 8]), new IntTensor(y, [n]));
        }

        var first = Batch(16);
        float initial = (float)model.Call("Evaluate", first.X, first.Y);
        float last = 0;
        for (int step = 0; step < 60; step++)
        {
            var (x, y) = Batch(16);
            last = (float)model.Call("TrainStep", x, y);
        }
        Assert.True(last < initial / 3, $"loss {initial} → {last}");
        var test = Batch(64);
        var predicted = ((IntTensor)model.Call("Predict", test.X)).Span.ToArray();
        int correct = predicted.Zip(test.Y.Span.ToArray()).Count(p => p.First == p.Second);
        Assert.True(correct >= 58, $"{correct}/64 held-out images right with the running statistics");
        Assert.Equal(60, States(model).Single(s => s.Name == "stem.1.num_batches_tracked").Count);
    }

    private sealed class Near(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
