using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Which attention kernels the generated GPU code launches: the tensor-core ones (flashattention.cuh, through
/// <c>ModelDsl.Cuda.Layers.FlashAttention</c>) exactly for heads of 64 in a <c>precision bf16</c> model, the FP32 ones
/// (attention.cuh) otherwise, and the CPU code the same either way. The reviewer sees the choice in the generated C#
/// (the launcher and its comment) and in the .cu (the library file pasted). On the emulator the tensor-core model's
/// forward and gradients match the FP32 CPU code within the BF16 tolerance of docs/cuda.md ("Flash attention").
/// </summary>
public sealed class TensorCoreAttentionTests(CudaParityTests.Emulator emulator) : IClassFixture<CudaParityTests.Emulator>
{
    private static string Text(int width, int heads, string precision, string options = "causal=true") => $$"""
        model Attn {
            input x: f32[B, T, {{width}}]
            label y: f32[B, T, {{width}}]
            h = x -> attention({{heads}}, {{options}})
            output h
            loss mse(h, y)
            optimizer sgd(lr=0.1)
            {{precision}}
        }
        """;

    [Theory]
    [InlineData(128, 2, "precision bf16", true)]   // heads of 64, BF16: tensor cores
    [InlineData(128, 2, "precision fp32", false)]  // FP32 keeps the kernels that match the CPU to rounding
    [InlineData(128, 2, "precision tf32", false)]
    [InlineData(128, 2, "", false)]                // no statement: FP32
    [InlineData(128, 4, "precision bf16", false)]  // heads of 32: the tensor-core kernels take 64 only
    [InlineData(128, 2, "precision bf16", false, "causal=true, dropout=0.1")] // dropout on the probabilities: the tensor-core kernels have none
    public void The_gpu_code_launches_the_tensor_core_kernels_for_heads_of_64_in_bf16_only(int width, int heads, string precision, bool tensorCores,
        string options = "causal=true")
    {
        var compiled = GeneratedModel.Compile(Text(width, heads, precision, options), "Attn");
        Assert.DoesNotContain("FlashAttention", compiled.Source); // the CPU code is FP32 in every mode
        Assert.Contains("global::ModelDsl.Runtime.Cpu.Layers.Attention.Forward(", compiled.Source);
        if (tensorCores)
        {
            Assert.Contains("global::ModelDsl.Cuda.Layers.FlashAttention.Forward(", compiled.GpuSource);
            Assert.Contains("global::ModelDsl.Cuda.Layers.FlashAttention.Backward(", compiled.GpuSource);
            Assert.DoesNotContain("global::ModelDsl.Cuda.Layers.Attention.", compiled.GpuSource);
            Assert.Contains("on tensor cores (md_flashattention_*", compiled.GpuSource);
            Assert.Contains("// Cuda/Kernels/flashattention.cuh, used by:", compiled.GpuSource);
            Assert.DoesNotContain("// Cuda/Kernels/attention.cuh, used by:", compiled.GpuSource);
        }
        else
        {
            Assert.Contains("global::ModelDsl.Cuda.Layers.Attention.Forward(", compiled.GpuSource);
            Assert.Contains("global::ModelDsl.Cuda.Layers.Attention.Backward(", compiled.GpuSource);
            Assert.DoesNotContain("FlashAttention", compiled.GpuSource);
            Assert.DoesNotContain("flashattention.cuh", compiled.GpuSource);
        }
    }

    /// <summary>
    /// The bf16 model on the emulator against its own CPU code (FP32): the forward output and, after one training step
    /// from the same parameters, every parameter; T = 70 spans two 64-row tiles. |gpu − cpu| ≤ 2e-2·max|cpu| per tensor.
    /// </summary>
    [Fact]
    public void The_tensor_core_model_matches_its_fp32_cpu_code_within_bf16_rounding_on_the_emulator()
    {
        var compiled = GeneratedModel.Compile(Text(128, 2, "precision bf16"), "Attn", seed: 5);
        var random = new Random(7);
        Tensor Uniform() => new(Enumerable.Range(0, 2 * 70 * 128).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), 2, 70, 128);
        Tensor x = Uniform(), y = Uniform();

        var cpuModel = compiled.NewInstance(5);
        var gpuModel = compiled.NewInstance(5);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", emulator.Context);
        float[] cpuOut = ((Tensor)ParityCheck.Invoke(cpuModel, "Forward", x)).Span.ToArray();
        float[] gpuOut = ((Tensor)ParityCheck.Invoke(session, "Forward", x)).Span.ToArray();
        Close("h", cpuOut, gpuOut);

        float cpuLoss = (float)ParityCheck.Invoke(cpuModel, "TrainStep", x, y);
        float gpuLoss = (float)ParityCheck.Invoke(session, "TrainStep", x, y);
        Assert.True(Math.Abs(cpuLoss - gpuLoss) <= 2e-2 * Math.Abs(cpuLoss), $"loss: cpu {cpuLoss}, gpu {gpuLoss}");
        ParityCheck.Invoke(session, "CopyToHost");
        var cpuParameters = ((ITrainableModel)cpuModel).Parameters;
        var gpuParameters = ((ITrainableModel)gpuModel).Parameters;
        for (int i = 0; i < cpuParameters.Count; i++)
        {
            // The step moved each parameter by lr·gradient: compare the moves, whose scale is the gradient's.
            var initial = ((ITrainableModel)compiled.NewInstance(5)).Parameters[i].Value.ToArray();
            float[] cpuMove = cpuParameters[i].Value.ToArray().Select((v, j) => v - initial[j]).ToArray();
            float[] gpuMove = gpuParameters[i].Value.ToArray().Select((v, j) => v - initial[j]).ToArray();
            Close(cpuParameters[i].Name + " (its step)", cpuMove, gpuMove);
        }
    }

    private static void Close(string what, float[] cpu, float[] gpu)
    {
        Assert.Equal(cpu.Length, gpu.Length);
        float scale = cpu.Max(Math.Abs);
        Assert.True(scale > 0, what + ": all zero, nothing compared");
        double worst = cpu.Select((v, i) => Math.Abs((double)v - gpu[i])).Max();
        Assert.True(worst <= 2e-2 * scale, $"{what}: max |gpu − cpu| = {worst:G3}, above 2e-2 of max |cpu| = {scale:G3}");
        // BF16 products do differ from FP32 ones: the kernels really ran on the tensor-core path.
        if (what == "h") Assert.True(worst > 0, "h: bitwise equal to the FP32 CPU code; the BF16 kernels did not run");
    }
}
