using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// <c>recompute Block</c> (docs/language.md "Activation recomputation") executed: the same model with and without the
/// statement gives the same gradients, losses and parameters bit for bit, on the CPU and on the emulated GPU (the backward
/// pass re-runs each instance's forward with the same dropout masks, elementwise dropout and attention dropout alike), and
/// the recomputing GPU code matches the recomputing CPU code like every model does.
/// </summary>
public sealed class RecomputeTrainingTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly CudaParityTests.Emulator _emulator;

    public RecomputeTrainingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    /// <summary>
    /// Four instances of a pre-norm Transformer layer (a repeat of three, then one more use) with dropout after attention and
    /// the MLP, attention dropout, an i32 padding mask and an f32 tensor parameter computed from parameters (its gradient
    /// sums over the four instances), between an embedding with dropout and a layer norm + head that are no instance's.
    /// </summary>
    internal const string Text = """
        config {
            d = 16
            heads = 2
        }
        block Layer(x: f32[B, T, d], mask: i32[B, T], shift: f32[B, T, d], heads) {
            a = (x + shift) -> layer_norm -> attention(heads, mask=mask, dropout=0.1) -> dropout(0.2)
            r = x + a
            m = r -> layer_norm -> dense(4*d) -> gelu(approximate="tanh") -> dense(d) -> dropout(0.1)
            return r + m
        }
        model Rc {
            input ids: i32[B, T]
            input mask: i32[B, T]
            label y: i32[B, T]
            e = embedding(ids, 11, d) -> dropout(0.1)
            s = e -> dense(d) -> tanh
            h = e -> repeat 3 Layer(mask, s, heads) -> Layer(mask, s, heads)
            logits = h -> layer_norm -> dense(11)
            output logits
            loss cross_entropy(logits, y)
            optimizer adamw(lr=0.01)
        RECOMPUTE}
        """;

    private static GeneratedModel Compile(bool recompute, bool bf16 = false) =>
        GeneratedModel.Compile(Text.Replace("RECOMPUTE", (recompute ? "    recompute Layer\n" : "") + (bf16 ? "    precision bf16\n" : "")), "Rc", seed: 7);

    /// <summary>Token ids, a padding mask with padded positions (never a whole row) and targets, B = 3, T = 6.</summary>
    private static object[] Batch(int seed)
    {
        var random = new Random(seed);
        const int b = 3, t = 6;
        var ids = Enumerable.Range(0, b * t).Select(_ => random.Next(11)).ToArray();
        var mask = Enumerable.Range(0, b * t).Select(i => i % t < t - (i / t) ? 1 : 0).ToArray(); // rows keep 6, 5, 4 tokens
        var y = Enumerable.Range(0, b * t).Select(_ => random.Next(11)).ToArray();
        return [new IntTensor(ids, b, t), new IntTensor(mask, b, t), new IntTensor(y, b, t)];
    }

    private static void AssertSameGradients(GeneratedModel expected, GeneratedModel actual, string when)
    {
        for (int k = 0; k < expected.Parameters.Count; k++)
        {
            var p = expected.Parameters[k];
            Assert.True(p.Gradient.Any(g => g != 0), $"{when}: d {p.Name} is all zero; the test would compare nothing");
            Assert.True(p.Gradient.AsSpan().SequenceEqual(actual.Parameters[k].Gradient), $"{when}: d {p.Name} differs with recompute");
        }
    }

    [Fact]
    public void The_generated_code_recomputes_each_instance_before_its_backward()
    {
        var compiled = Compile(recompute: true);
        var order = new[] { "h.1", "h.0.2", "h.0.1", "h.0.0" }.Select(p => compiled.Source.IndexOf($"// ── recompute block {p} (Layer, test.model:17)", StringComparison.Ordinal)).ToList();
        Assert.All(order, i => Assert.True(i > 0, "a recompute header is missing:\n" + compiled.Source));
        Assert.Equal(order.OrderBy(i => i), order);
        Assert.Contains("recompute Layer (test.model:22)", compiled.Source, StringComparison.Ordinal);
        Assert.Contains("// ── recompute block h.0.0 (Layer, test.model:17)", compiled.GpuSource, StringComparison.Ordinal);
        Assert.DoesNotContain("recompute block", Compile(recompute: false).Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Gradients_losses_and_parameters_equal_the_model_without_recompute_bit_for_bit_on_the_cpu()
    {
        var plain = Compile(recompute: false);
        var recomputed = Compile(recompute: true);
        for (int step = 0; step < 3; step++)
        {
            var batch = Batch(10 + step);
            Assert.Equal((float)plain.Call("ComputeGradients", batch), (float)recomputed.Call("ComputeGradients", batch));
            AssertSameGradients(plain, recomputed, $"step {step + 1}");
            Assert.Equal((float)plain.Call("TrainStep", batch), (float)recomputed.Call("TrainStep", batch));
        }
        for (int k = 0; k < plain.Parameters.Count; k++)
        {
            Assert.True(plain.Parameters[k].Value.AsSpan().SequenceEqual(recomputed.Parameters[k].Value), $"{plain.Parameters[k].Name} after 3 steps");
            Assert.True(plain.Parameters[k].State2.AsSpan().SequenceEqual(recomputed.Parameters[k].State2), $"{plain.Parameters[k].Name}'s second moment after 3 steps");
        }
        // Inference is unaffected (dropout off, the shared scratch simply reused).
        var inputs = Batch(20).Take(2).ToArray();
        Assert.Equal(((Tensor)plain.Call("Forward", inputs)).Data, ((Tensor)recomputed.Call("Forward", inputs)).Data);
    }

    [Fact]
    public void Gradients_and_training_equal_the_model_without_recompute_bit_for_bit_on_the_emulated_gpu()
    {
        var plain = Compile(recompute: false);
        var recomputed = Compile(recompute: true);
        using var plainSession = (IDisposable)ParityCheck.Invoke(plain.Instance, "ToGpu", _emulator.Context);
        using var session = (IDisposable)ParityCheck.Invoke(recomputed.Instance, "ToGpu", _emulator.Context);
        for (int step = 0; step < 2; step++)
        {
            var batch = Batch(30 + step);
            Assert.Equal((float)ParityCheck.Invoke(plainSession, "ComputeGradients", batch), (float)ParityCheck.Invoke(session, "ComputeGradients", batch));
            ParityCheck.Invoke(plainSession, "CopyToHost");
            ParityCheck.Invoke(session, "CopyToHost");
            AssertSameGradients(plain, recomputed, $"gpu step {step + 1}");
            Assert.Equal((float)ParityCheck.Invoke(plainSession, "TrainStep", batch), (float)ParityCheck.Invoke(session, "TrainStep", batch));
        }
        ParityCheck.Invoke(plainSession, "CopyToHost");
        ParityCheck.Invoke(session, "CopyToHost");
        for (int k = 0; k < plain.Parameters.Count; k++)
            Assert.True(plain.Parameters[k].Value.AsSpan().SequenceEqual(recomputed.Parameters[k].Value), $"gpu: {plain.Parameters[k].Name} after 2 steps");
        // The recomputing step is a CUDA graph like any other: captured once at this binding, then replayed.
        Assert.Null((string?)((dynamic)session).GraphFallbackReason);
        Assert.True((int)((dynamic)session).GraphCaptures >= 1);
    }

    /// <summary>
    /// Other layers' saved state and working memory inside recomputed blocks: conv2d's columns, max-pool winners (two uses
    /// at different sizes, 16×16 then 8×8, which share nothing), a residual conv block; LSTM and GRU gates and cells.
    /// </summary>
    public static TheoryData<string, string, string> OtherLayers() => new()
    {
        {
            "Conv",
            "block Down(x, c) {\n    return x -> conv2d(c, 3, padding=1) -> relu -> max_pool2d(2) -> dropout(0.1)\n}\n"
            + "block Res(x, c) {\n    return x + (x -> conv2d(c, 3, padding=1) -> tanh)\n}\n"
            + "model Conv {\n    input x: f32[B, 3, 16, 16]\n    label y: i32[B]\n"
            + "    h = x -> conv2d(4, 3, padding=1) -> repeat 2 Down(4) -> repeat 2 Res(4) -> global_avg_pool2d -> dense(5)\n"
            + "    output h\n    loss cross_entropy(h, y)\n    optimizer adam(lr=0.01)\nRECOMPUTE}\n",
            "    recompute Down, Res\n"
        },
        {
            "Rec",
            "block L(x, n) {\n    return x + (x -> lstm(n, return_sequences=true) -> dropout(0.1))\n}\n"
            + "block G(x, n) {\n    return x + (x -> gru(n, return_sequences=true) -> tanh)\n}\n"
            + "model Rec {\n    input ids: i32[B, T]\n    label y: i32[B]\n"
            + "    h = embedding(ids, 13, 6) -> repeat 2 L(6) -> repeat 2 G(6) -> mean(axis=1) -> dense(3)\n"
            + "    output h\n    loss cross_entropy(h, y)\n    optimizer adam(lr=0.01)\nRECOMPUTE}\n",
            "    recompute L, G\n"
        },
    };

    [Theory]
    [MemberData(nameof(OtherLayers))]
    public void Other_layers_recompute_bit_for_bit_on_the_cpu_and_the_emulated_gpu(string name, string text, string statement)
    {
        var plain = GeneratedModel.Compile(text.Replace("RECOMPUTE", ""), name, seed: 3);
        var recomputed = GeneratedModel.Compile(text.Replace("RECOMPUTE", statement), name, seed: 3);
        Assert.Contains("// ── recompute block h.", recomputed.Source, StringComparison.Ordinal);
        var plainGpu = plain.NewInstance(3);
        var recomputedGpu = recomputed.NewInstance(3);
        using var plainSession = (IDisposable)ParityCheck.Invoke(plainGpu, "ToGpu", _emulator.Context);
        using var session = (IDisposable)ParityCheck.Invoke(recomputedGpu, "ToGpu", _emulator.Context);
        for (int step = 0; step < 2; step++)
        {
            var batch = ParityCheck.RandomBatch(plain.Type, 3, 5, seed: 60 + step);
            Assert.Equal((float)plain.Call("ComputeGradients", batch), (float)recomputed.Call("ComputeGradients", batch));
            AssertSameGradients(plain, recomputed, $"{name} cpu step {step + 1}");
            Assert.Equal((float)plain.Call("TrainStep", batch), (float)recomputed.Call("TrainStep", batch));
            Assert.Equal((float)ParityCheck.Invoke(plainSession, "TrainStep", batch), (float)ParityCheck.Invoke(session, "TrainStep", batch));
        }
        ParityCheck.Invoke(plainSession, "CopyToHost");
        ParityCheck.Invoke(session, "CopyToHost");
        var plainParameters = (System.Collections.Generic.IReadOnlyList<Parameter>)plainGpu.GetType().GetProperty("Parameters")!.GetValue(plainGpu)!;
        var parameters = (System.Collections.Generic.IReadOnlyList<Parameter>)recomputedGpu.GetType().GetProperty("Parameters")!.GetValue(recomputedGpu)!;
        for (int k = 0; k < plainParameters.Count; k++)
            Assert.True(plainParameters[k].Value.AsSpan().SequenceEqual(parameters[k].Value), $"{name} gpu: {plainParameters[k].Name} after 2 steps");
    }

    /// <summary>
    /// In a Bf16 session (BF16 activation storage, BF16 matrix-product operands; docs/cuda.md "Precision") the shared scratch
    /// holds BF16 activations like any other buffer: gradients and two training steps equal the session without recompute bit for bit.
    /// </summary>
    [Fact]
    public void A_bf16_session_recomputes_bit_for_bit_on_the_emulated_gpu()
    {
        var plain = Compile(recompute: false, bf16: true);
        var recomputed = Compile(recompute: true, bf16: true);
        using var plainSession = (IDisposable)ParityCheck.Invoke(plain.Instance, "ToGpu", _emulator.Context, ModelDsl.Cuda.GpuPrecision.Bf16);
        using var session = (IDisposable)ParityCheck.Invoke(recomputed.Instance, "ToGpu", _emulator.Context, ModelDsl.Cuda.GpuPrecision.Bf16);
        for (int step = 0; step < 2; step++)
        {
            var batch = Batch(70 + step);
            Assert.Equal((float)ParityCheck.Invoke(plainSession, "ComputeGradients", batch), (float)ParityCheck.Invoke(session, "ComputeGradients", batch));
            ParityCheck.Invoke(plainSession, "CopyToHost");
            ParityCheck.Invoke(session, "CopyToHost");
            AssertSameGradients(plain, recomputed, $"bf16 step {step + 1}");
            Assert.Equal((float)ParityCheck.Invoke(plainSession, "TrainStep", batch), (float)ParityCheck.Invoke(session, "TrainStep", batch));
        }
    }

    [Fact]
    public void The_recomputing_gpu_code_matches_the_recomputing_cpu_code_on_the_emulator()
    {
        var compiled = Compile(recompute: true);
        var cpu = compiled.NewInstance(7);
        var gpuModel = compiled.NewInstance(7);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, Batch(40), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => Batch(50 + step), 3, report);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
    }
}
