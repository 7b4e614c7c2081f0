using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;
using Tensor = ModelDsl.Runtime.Tensor;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// A model with two <c>output</c> lines (mean-pooled features, then the logits the loss reads) through generated code:
/// <c>ForwardAll</c> on the CPU against the model's own parameters, <c>Forward</c> and <c>Predict</c> against it, the
/// emulated GPU session against the CPU, and the ONNX export (one graph output per output line) under ONNX Runtime.
/// </summary>
public sealed class MultiOutputTests : IClassFixture<CudaParityTests.Emulator>
{
    // pooled is declared first, so Forward returns it while Predict follows the loss's prediction (logits, the second).
    private const string Text = """
        model Heads {
            input x: f32[B, T, 4]
            label y: i32[B]
            h = x -> dense(6) -> tanh
            pooled = h -> mean(axis=1)
            logits = pooled -> dense(3)
            output pooled
            output logits
            loss cross_entropy(logits, y)
            optimizer adam(lr=0.01)
        }
        """;

    private readonly CudaParityTests.Emulator _emulator;

    public MultiOutputTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    private static Tensor Get(object outputs, string name) => (Tensor)outputs.GetType().GetProperty(name)!.GetValue(outputs)!;

    [Fact]
    public void ForwardAll_returns_every_output_and_Forward_and_Predict_agree_with_it()
    {
        var model = GeneratedModel.Compile(Text, "Heads", seed: 3);
        Assert.Equal("HeadsOutputs", model.Method("ForwardAll").ReturnType.Name);
        Assert.Equal(typeof(Tensor), model.Method("Forward").ReturnType);
        var x = GradientChecker.RandomTensor(new Random(4), 5, 7, 4);
        var all = model.Call("ForwardAll", x);
        float[] pooled = Get(all, "pooled").Span.ToArray(), logits = Get(all, "logits").Span.ToArray();
        Assert.Equal(new[] { 5, 3 }, Get(all, "logits").Shape);
        Assert.Equal(5 * 6, pooled.Length);

        // logits = pooled · Wᵀ + b with the model's own [out, in] weight: the two outputs come from one forward pass.
        var dense = model.Parameters.Where(p => p.Name.StartsWith("logits", StringComparison.Ordinal)).ToList();
        var weight = dense.Single(p => p.Shape.Length == 2);
        var bias = dense.Single(p => p.Shape.Length == 1);
        Assert.Equal(new[] { 3, 6 }, weight.Shape);
        for (int b = 0; b < 5; b++)
            for (int c = 0; c < 3; c++)
            {
                double expected = bias.Value[c];
                for (int k = 0; k < 6; k++) expected += pooled[b * 6 + k] * weight.Value[c * 6 + k];
                Assert.True(Math.Abs(expected - logits[b * 3 + c]) <= 1e-5, $"logits[{b}, {c}]: {logits[b * 3 + c]} vs {expected}");
            }
        Assert.Contains(pooled, v => v != 0); // tanh features averaged over 7 steps: not all zero

        // Forward returns the first output line; Predict is the argmax of the loss's prediction, the second.
        Assert.Equal(pooled, ((Tensor)model.Call("Forward", x)).Span.ToArray());
        var predicted = ((IntTensor)model.Call("Predict", x)).Span.ToArray();
        for (int b = 0; b < 5; b++)
        {
            var row = logits.Skip(b * 3).Take(3).ToList();
            Assert.Equal(row.IndexOf(row.Max()), predicted[b]);
        }
    }

    [Fact]
    public void The_description_lists_every_output_and_a_one_output_model_only_its_own()
    {
        var model = GeneratedModel.Compile(Text, "Heads", seed: 3);
        var description = (ModelDescription)model.Type.GetProperty("Description")!.GetValue(null)!;
        Assert.Equal(new[] { "pooled: f32[B, 6]", "logits: f32[B, 3]" }, description.Outputs.Select(o => o.ToString()));
        Assert.Equal("pooled", description.Output.Name);
        Assert.Contains("  outputs:   pooled: f32[B, 6], logits: f32[B, 3]\n", description.Summary(), StringComparison.Ordinal);

        var single = GeneratedModel.Compile(Text.Replace("    output pooled\n", ""), "Heads", seed: 3);
        var one = (ModelDescription)single.Type.GetProperty("Description")!.GetValue(null)!;
        Assert.Equal("logits", Assert.Single(one.Outputs).Name);
        Assert.Contains("  output:    logits: f32[B, 3]\n", one.Summary(), StringComparison.Ordinal);
        Assert.Null(single.Type.GetMethod("ForwardAll"));
    }

    [Fact]
    public void The_emulated_gpu_session_returns_the_same_outputs_as_the_cpu()
    {
        var model = GeneratedModel.Compile(Text, "Heads", seed: 5);
        var gpuModel = model.NewInstance(5);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var x = GradientChecker.RandomTensor(new Random(6), 3, 5, 4);
        var cpu = model.Call("ForwardAll", x);
        var gpu = ParityCheck.Invoke(session, "ForwardAll", x);
        foreach (string name in new[] { "pooled", "logits" })
        {
            float[] expected = Get(cpu, name).Span.ToArray(), actual = Get(gpu, name).Span.ToArray();
            Assert.Equal(expected.Length, actual.Length);
            double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(Math.Abs(e), 1e-2)).Max();
            Assert.True(worst <= 1e-4, $"{name}: the emulated GPU differs from the CPU by {worst:G3} (relative)");
        }
        // The session's Forward is its first output, as on the CPU.
        float[] gpuPooled = Get(gpu, "pooled").Span.ToArray();
        Assert.Equal(gpuPooled, ((Tensor)ParityCheck.Invoke(session, "Forward", x)).Span.ToArray());
        Assert.Equal(((IntTensor)model.Call("Predict", x)).Span.ToArray(), ((IntTensor)ParityCheck.Invoke(session, "Predict", x)).Span.ToArray());
    }

    [Fact]
    public void An_output_named_like_the_outputs_class_gets_a_suffix_and_the_model_compiles()
    {
        // HeadsOutputs is the nested class ForwardAll returns: a property of that name inside it would be CS0542. The
        // C# emitter reserves the class name, so the output's property (and its workspace tensor) is HeadsOutputs_2.
        string text = Text.Replace("logits", "HeadsOutputs", StringComparison.Ordinal);
        var model = GeneratedModel.Compile(text, "Heads", seed: 3);
        Assert.Equal("HeadsOutputs", model.Method("ForwardAll").ReturnType.Name);
        var x = GradientChecker.RandomTensor(new Random(4), 2, 3, 4);
        var all = model.Call("ForwardAll", x);
        Assert.Equal(new[] { 2, 3 }, Get(all, "HeadsOutputs_2").Shape);
        Assert.Equal(new[] { 2, 6 }, Get(all, "pooled").Shape);

        var gpuModel = model.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var gpu = ParityCheck.Invoke(session, "ForwardAll", x);
        float[] expected = Get(all, "HeadsOutputs_2").Span.ToArray(), actual = Get(gpu, "HeadsOutputs_2").Span.ToArray();
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 * Math.Max(1, Math.Abs(p.First)), $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void The_onnx_export_has_one_graph_output_per_output_line_matching_ForwardAll()
    {
        var model = GeneratedModel.Compile(Text, "Heads", seed: 7);
        string path = Path.Combine(Path.GetTempPath(), $"heads-{Guid.NewGuid():N}.onnx");
        try
        {
            model.Call("ExportOnnx", path);
            using var session = new InferenceSession(path);
            Assert.Equal(2, session.OutputMetadata.Count);
            var random = new Random(8);
            foreach (var (batch, steps) in new[] { (1, 2), (4, 9) })
            {
                var x = GradientChecker.RandomTensor(random, batch, steps, 4);
                var all = model.Call("ForwardAll", x);
                using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.Data.Take(batch * steps * 4).ToArray(), [batch, steps, 4]))]);
                var outputs = results.ToList();
                Assert.Equal(2, outputs.Count);
                string[] names = ["pooled", "logits"];
                for (int i = 0; i < 2; i++)
                {
                    float[] expected = Get(all, names[i]).Span.ToArray(), actual = outputs[i].AsTensor<float>().ToArray();
                    Assert.Equal(expected.Length, actual.Length);
                    double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(Math.Abs(e), 1e-2)).Max();
                    Assert.True(worst <= 1e-4, $"{names[i]} at batch {batch}: ONNX Runtime differs from ForwardAll by {worst:G3} (relative)");
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
