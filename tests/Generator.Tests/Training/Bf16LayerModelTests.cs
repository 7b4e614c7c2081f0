using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Models of <c>precision bf16</c> built from the layer library (Cuda/Kernels/*.cuh) whose Bf16 sessions store their
/// activations in BF16 (the module compiled with <c>MD_ACT_BF16</c>: every family takes md_act, docs/cuda.md "Activation
/// storage in the layer kernels"), run on the emulator against their own FP32 CPU code: the forward output, the first
/// training step's loss, and every parameter's move in that step.
/// </summary>
/// <remarks>
/// The tolerance, |gpu − cpu| ≤ 5e-2·max|cpu| per tensor, is about 13u (u = 2⁻⁸, one rounding to BF16): along the
/// deepest path of these models a value is rounded at most about 8 times on its way to the output (each layer's stored
/// output once, each matrix product's two BF16 operands twice more: dense, conv2d's and the recurrences' input
/// products read their BF16 inputs as stored), and a gradient meets about as many, each moving it by at most u of the
/// magnitudes involved (docs/cuda.md "Precision"). The same models in an Fp32 session are held to the CPU to FP32
/// rounding by CudaParityTests; here the output must differ from the CPU's (the BF16 path really ran).
/// </remarks>
public sealed class Bf16LayerModelTests(CudaParityTests.Emulator emulator) : IClassFixture<CudaParityTests.Emulator>
{
    private const double Tolerance = 5e-2;

    [Theory]
    // conv2d (md_conv2d_forward_product), average pooling, a global pool. Not here, because they are ill-conditioned
    // against an FP32 reference rather than wrong: max pooling (BF16 rounding makes ties and flips which element of a
    // window wins, moving its whole gradient) and batch_norm's backward into the conv before it (dx = k·(dy − mean(dy) −
    // x̂·mean(dy·x̂)) cancels to a few percent of its terms, so their rounding shows ~10% in that conv's step). Both
    // families are held bit for bit to their float compilation, on the same inputs, by Cuda.Tests' Bf16ActivationTests.
    [InlineData("x: f32[B, 2, 8, 8]", "y: f32[B, 4]", "h = x -> conv2d(4, kernel=3, padding=1) -> relu -> avg_pool2d(2) -> conv2d(3, kernel=3, padding=1) -> avg_pool2d(2) -> global_avg_pool2d -> dense(4)")]
    // bidirectional gru and lstm (sequence.cuh around them), the recurrences on their FP32 h_prev
    [InlineData("x: f32[B, T, 5]", "y: f32[B, T, 4]", "h = x -> dense(6) -> gru(5, return_sequences=true, bidirectional=true) -> lstm(3, return_sequences=true, bidirectional=true) -> dense(4)")]
    // an lstm's last hidden state, layer_norm, softmax, concat, slice, permute, mean
    [InlineData("x: f32[B, 7, 6]", "y: f32[B, 4]", "a = x -> layer_norm -> dense(6) -> softmax\n    c = concat(a, x, axis=-1) -> slice(axis=1, start=1) -> permute(0, 2, 1) -> mean(axis=2)\n    h = concat(c, x -> lstm(5), axis=-1) -> dense(4)")]
    public void A_bf16_layer_model_matches_its_fp32_cpu_code_within_bf16_rounding(string input, string label, string body)
    {
        string text = $$"""
            model M {
                input {{input}}
                label {{label}}
                {{body}}
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
                precision bf16
            }
            """;
        var compiled = GeneratedModel.Compile(text, "M", seed: 3);
        // The Bf16 session compiles the module with BF16 activations (no family keeps them in FP32).
        Assert.Contains("context.LoadModule(ModelName + \"_bf16\", \"#define MD_ACT_BF16 1\\n\" + CudaSource)", compiled.GpuSource);
        var random = new Random(11);
        Tensor Uniform(string spec)
        {
            int[] dims = spec[(spec.IndexOf('[') + 1)..spec.IndexOf(']')].Split(',').Select(d => d.Trim() switch { "B" => 3, "T" => 7, var n => int.Parse(n) }).ToArray();
            return new(Enumerable.Range(0, dims.Aggregate(1, (p, d) => p * d)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), dims);
        }
        Tensor x = Uniform(input), y = Uniform(label);

        var cpuModel = compiled.NewInstance(3);
        var gpuModel = compiled.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", emulator.Context);
        float[] cpuOut = ((Tensor)ParityCheck.Invoke(cpuModel, "Forward", x)).Span.ToArray();
        float[] gpuOut = ((Tensor)ParityCheck.Invoke(session, "Forward", x)).Span.ToArray();
        Close("h", cpuOut, gpuOut);
        Assert.True(cpuOut.Select((v, i) => v != gpuOut[i]).Any(d => d), "h: bitwise equal to the FP32 CPU code; the BF16 path did not run");

        float cpuLoss = (float)ParityCheck.Invoke(cpuModel, "TrainStep", x, y);
        float gpuLoss = (float)ParityCheck.Invoke(session, "TrainStep", x, y);
        Assert.True(Math.Abs(cpuLoss - gpuLoss) <= Tolerance * Math.Abs(cpuLoss), $"loss: cpu {cpuLoss}, gpu {gpuLoss}");
        ParityCheck.Invoke(session, "CopyToHost");
        var cpuParameters = ((ITrainableModel)cpuModel).Parameters;
        var gpuParameters = ((ITrainableModel)gpuModel).Parameters;
        var initial = ((ITrainableModel)compiled.NewInstance(3)).Parameters;
        for (int i = 0; i < cpuParameters.Count; i++)
        {
            // The step moved each parameter by lr·gradient: compare the moves, whose scale is the gradient's.
            float[] start = initial[i].Value.ToArray();
            float[] cpuMove = cpuParameters[i].Value.ToArray().Select((v, j) => v - start[j]).ToArray();
            float[] gpuMove = gpuParameters[i].Value.ToArray().Select((v, j) => v - start[j]).ToArray();
            Close(cpuParameters[i].Name + " (its step)", cpuMove, gpuMove);
        }
    }

    private static void Close(string what, float[] cpu, float[] gpu)
    {
        Assert.Equal(cpu.Length, gpu.Length);
        float scale = cpu.Max(Math.Abs);
        if (scale == 0) return; // a parameter the step does not move (batch_norm's bias under a max pool can get none)
        double worst = cpu.Select((v, i) => Math.Abs((double)v - gpu[i])).Max();
        Assert.True(worst <= Tolerance * scale, $"{what}: max |gpu − cpu| = {worst:G3}, above {Tolerance} of max |cpu| = {scale:G3}");
    }
}
