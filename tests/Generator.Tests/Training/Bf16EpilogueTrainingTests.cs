using System;
using System.IO;
using System.Linq;
using ModelDsl.Cuda;
using ModelDsl.CudaParity;
using ModelDsl.Generator.Tests.Support;
using ModelDsl.Runtime;
using Xunit.Abstractions;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The cuBLASLt epilogues in a <c>precision bf16</c> model (docs/cuda.md "GEMM epilogues"): tests/CudaParity/models/
/// parity_epilogues.model with <c>precision bf16</c> takes all four (bias, bias + GELU keeping its input, dGELU with the
/// bias gradient, a bias gradient with the weight gradient) and keeps the kernels where the FP32 model keeps them. Its
/// Bf16 session, which stores activations in BF16, runs them through <c>GemmBf16Epilogue</c> on the operands' BF16 copies
/// (BF16 D and aux for the forward ones) on the emulator and is held to the FP32 CPU backend within the BF16 tolerances
/// below; its Fp32 session, through <c>SgemmEpilogue</c>, to the FP32 ones.
/// </summary>
public sealed class Bf16EpilogueTrainingTests(CudaParityTests.Emulator emulator, ITestOutputHelper output) : IClassFixture<CudaParityTests.Emulator>
{
    private const int Batch = 13;

    private static GeneratedModel Compile()
    {
        string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "CudaParity", "models", "parity_epilogues.model"))
            .Replace("model ParityEpilogues {", "model ParityEpiloguesBf16 {", StringComparison.Ordinal)
            .Replace("    optimizer adamw(lr=3e-3)\n", "    optimizer adamw(lr=3e-3)\n    precision bf16\n", StringComparison.Ordinal);
        Assert.Contains("precision bf16", text);
        return GeneratedModel.Compile(text, "ParityEpiloguesBf16", seed: 5, path: "parity_epilogues_bf16.model");
    }

    [Fact]
    public void A_bf16_model_takes_the_four_epilogues_on_bf16_operands_in_its_bf16_session()
    {
        var compiled = Compile();
        var fp32 = GeneratedModel.CompileExample(Path.Combine("tests", "CudaParity", "models", "parity_epilogues.model"), "ParityEpilogues");
        foreach (var kind in Enum.GetNames<GemmEpilogue>())
        {
            // Where the FP32 model takes an epilogue, the bf16 model takes it too: the Bf16 session's call, and the
            // Fp32/Tf32 session's in the else branch.
            int expected = Count(fp32.GpuSource, $"_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.{kind},");
            Assert.True(expected > 0, $"parity_epilogues.model no longer uses {kind}");
            Assert.Equal(expected, Count(compiled.GpuSource, $"_context.GemmBf16Epilogue(global::ModelDsl.Cuda.GemmEpilogue.{kind},"));
            Assert.Equal(expected, Count(compiled.GpuSource, $"else _context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.{kind},"));
        }
        // The kernels the epilogues replace are left out of the module alike (the erf GELU and the 12-wide tanh GELU keep theirs).
        Assert.Equal(Count(fp32.GpuSource, "no kernel: cuBLASLt's"), Count(compiled.GpuSource, "no kernel: cuBLASLt's"));
        // The model stores its activations in BF16 (no layer family keeps them float): the forward epilogues write their
        // BF16 activation with the bias's BF16 copy, and the dGELU epilogue reads its BF16 GELU input widened to FP32.
        int forward = Count(fp32.GpuSource, "_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.Bias,")
            + Count(fp32.GpuSource, "_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.GeluAuxBias,");
        Assert.Equal(forward, Count(compiled.GpuSource, "bf16C: true); // BF16 operands, FP32 accumulation;"));
        Assert.Equal(Count(fp32.GpuSource, "_context.SgemmEpilogue(global::ModelDsl.Cuda.GemmEpilogue.GeluGradientBiasGradient,"),
            Count(compiled.GpuSource, "w.AuxF32.Pointer); // BF16 operands, FP32 accumulation; the gradients and aux in FP32"));
        static int Count(string text, string what) => text.Split(what).Length - 1;
    }

    [Fact]
    public void The_bf16_session_matches_the_fp32_cpu_within_the_bf16_tolerance()
    {
        var compiled = Compile();
        var cpu = (ITrainableModel)compiled.NewInstance(5);
        var gpuModel = (ITrainableModel)compiled.NewInstance(5);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", emulator.Context, GpuPrecision.Bf16);
        object[] data = ParityCheck.RandomBatch(compiled.Type, Batch, 1, seed: 3);

        // One step's gradients: every parameter's (the epilogues write dense biases' gradients and the dGELU product).
        float cpuLoss = (float)ParityCheck.Invoke(cpu, "ComputeGradients", data);
        float bf16Loss = (float)ParityCheck.Invoke(session, "ComputeGradients", data);
        ParityCheck.Invoke(session, "CopyToHost");
        output.WriteLine($"loss: cpu {cpuLoss:R}  bf16 {bf16Loss:R}");
        // docs/cuda.md "Precision": BF16's unit roundoff is u = 2⁻⁸; a product rounds both operands, so it moves its result
        // by at most 2u of Σ|a||b|, and each stored BF16 activation adds u. The loss passes through 5 products and about
        // 10 stored values: a linear worst case near 20u; the roundings' random signs make the error grow like √n, so the
        // bound is 6u = 6·2⁻⁸ ≈ 2.3 % of the loss (measured 0.16 %).
        Assert.InRange(Math.Abs(bf16Loss - cpuLoss), 0, 6.0 / 256 * cpuLoss);
        Assert.NotEqual(cpuLoss, bf16Loss); // the BF16 path was taken
        for (int p = 0; p < cpu.Parameters.Count; p++)
        {
            float[] expected = cpu.Parameters[p].Gradient, actual = gpuModel.Parameters[p].Gradient;
            double scale = expected.Max(v => Math.Abs(v)), worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"d {cpu.Parameters[p].Name}: max |cpu| {scale:G4}, max |bf16 − cpu| {worst:G4} ({worst / scale:G3} of the largest)");
            // A gradient passes through the forward's products and the backward's (up to 11 here, 2u each) and the stored
            // activations (u each); bias gradients from BiasGradientOfA sum dY's BF16 values. A linear worst case near 32u;
            // with √n growth the bound is 12u = 12·2⁻⁸ ≈ 4.7 % of the largest (measured at most 1.0 %).
            Assert.InRange(worst, 0, 12.0 / 256 * scale);
        }

        // A few training steps: the losses stay within the same bound of the CPU's.
        for (int step = 0; step < 4; step++)
        {
            object[] batch = ParityCheck.RandomBatch(compiled.Type, Batch, 1, seed: 10 + step);
            float a = (float)ParityCheck.Invoke(cpu, "TrainStep", batch), b = (float)ParityCheck.Invoke(session, "TrainStep", batch);
            output.WriteLine($"step {step + 1}: cpu {a:R}  bf16 {b:R}");
            Assert.InRange(Math.Abs(a - b), 0, 6.0 / 256 * a);
        }
    }

    [Fact]
    public void The_fp32_session_of_the_bf16_model_matches_the_cpu_at_fp32_tolerances()
    {
        var compiled = Compile();
        var cpu = compiled.NewInstance(5);
        var gpuModel = compiled.NewInstance(5);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", emulator.Context, GpuPrecision.Fp32);
        var report = new ParityReport();
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, Batch, 1, seed: 4), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, Batch, 1, seed: 40 + step), 3, report);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
        // every parameter gradient compared: five dense layers, weight and bias
        Assert.Equal(10, report.Lines.Count(line => line.StartsWith("ParityEpiloguesBf16 d ", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }
}
