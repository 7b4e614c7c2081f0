using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using ModelDsl.CudaParity;
using ModelDsl.Cuda.Emulation;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// BF16 activation storage (docs/cuda.md "Precision"): tests/CudaParity/models/parity_mlp_bf16.model, whose every kernel is
/// generated code, in its declared Bf16 session stores activations in 2 bytes (the memory plan, the workspace's
/// allocations, the bytes the emulator hands out), rounds its f32 input on upload and widens its logits on download, and
/// matches the FP32 CPU within the tolerances docs/cuda.md derives; its Fp32 session still matches the CPU as before.
/// </summary>
public sealed class Bf16ActivationTests(ITestOutputHelper output)
{
    private const int Batch = 9;

    private static (Tensor X, IntTensor Y) Data(int seed)
    {
        var batch = ParityCheck.RandomBatch(typeof(ParityMlpBf16), Batch, 1, seed);
        return ((Tensor)batch[0], (IntTensor)batch[1]);
    }

    private static CudaModule Module() => ExampleModels.CudaPlans(out _).Single(m => m.Model == nameof(ParityMlpBf16)).Module;

    [Fact]
    public void A_bf16_session_allocates_its_activations_at_two_bytes_and_an_fp32_session_at_four()
    {
        var (_, plan, module) = ExampleModels.CudaPlans(out _).Single(m => m.Model == nameof(ParityMlpBf16));
        Assert.True(module.Bf16Activations);
        var memory = GpuMemoryPlan.For(plan, module);
        var bindings = new Dictionary<string, long>(StringComparer.Ordinal) { ["B"] = Batch };
        var activations = memory.PerBinding.Where(a => a.Group is GpuMemoryGroup.ActivationsKept or GpuMemoryGroup.ActivationsForwardOnly || a.Name == "w.x").ToList();
        Assert.Contains(activations, a => a.Name == "w.logits");
        Assert.All(activations, a => Assert.Equal(2, a.ElementBytes));
        Assert.All(memory.PerBinding.Where(a => a.Group is GpuMemoryGroup.ActivationGradients or GpuMemoryGroup.Reductions || a.Name == "w.y"), a => Assert.Equal(4, a.ElementBytes));
        // No staging for activations: the products read them as they are; only gradient operands (dW = xᵀ·dy reads dy) are rounded.
        long activationElements = activations.Sum(a => a.Bytes(bindings)) / 2;

        using var context = (EmulatedContext)GpuContext.OpenEmulated();
        var (x, y) = Data(1);
        long PerBinding(GpuPrecision precision, out object workspace)
        {
            var model = new ParityMlpBf16(7UL);
            using var session = model.ToGpu(context, precision);
            long before = context.AllocatedBytes;
            session.TrainStep(x, y);
            workspace = LatestWorkspace(session);
            return context.AllocatedBytes - before;
        }
        long bf16 = PerBinding(GpuPrecision.Bf16, out var bf16Workspace), fp32 = PerBinding(GpuPrecision.Fp32, out var fp32Workspace);
        output.WriteLine($"per-binding bytes at B={Batch}: bf16 {bf16}, fp32 {fp32}; activations {activationElements} elements");
        Assert.Equal(memory.PerBinding.Sum(a => a.Bytes(bindings)), bf16); // the plan is the declared (Bf16) session's
        Assert.Equal(2 * activationElements, fp32 - bf16); // every activation element: 4 bytes in fp32, 2 in bf16
        foreach (var name in new[] { "x", "logits" })
        {
            Assert.Equal(2L * Batch * (name == "x" ? 24 : 10), Variable(bf16Workspace, name).Bytes);
            Assert.Equal(4L * Batch * (name == "x" ? 24 : 10), Variable(fp32Workspace, name).Bytes);
        }
        Assert.Equal(4L * Batch * 10, Variable(bf16Workspace, "d_logits").Bytes); // gradients stay FP32
    }

    [Fact]
    public void The_input_is_rounded_on_upload_and_the_logits_are_bf16_values_widened_on_download()
    {
        using var context = GpuContext.OpenEmulated();
        var (x, _) = Data(2);
        var model = new ParityMlpBf16(7UL);
        using var session = model.ToGpu(context);
        float[] logits = session.Forward(x).Span.ToArray();
        Assert.All(logits, v => Assert.Equal(v, BFloat16.Quantize(v))); // widened from BF16: the low 16 bits are zero
        var uploaded = new ushort[Batch * 24];
        Variable(LatestWorkspace(session), "x").CopyTo<ushort>(uploaded);
        Assert.Equal(x.Span.ToArray().Select(BFloat16.Round).ToArray(), uploaded);
    }

    [Fact]
    public void Bf16_logits_loss_and_gradients_match_the_fp32_cpu_within_the_bf16_tolerances()
    {
        using var context = GpuContext.OpenEmulated();
        var (x, y) = Data(3);
        var cpu = new ParityMlpBf16(7UL);
        var gpuModel = new ParityMlpBf16(7UL);
        using var session = gpuModel.ToGpu(context);
        Assert.Equal(GpuPrecision.Bf16, session.Precision);
        float[] expected = cpu.Forward(x).Span.ToArray(), actual = session.Forward(x).Span.ToArray();
        double scale = expected.Max(v => Math.Abs(v)), worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"logits: max |cpu| {scale:G4}, max |bf16 − cpu| {worst:G4} ({worst / scale:G3} of the largest)");
        // docs/cuda.md "Precision": three products, each reading two BF16 operands (u = 2⁻⁸ relative each) and writing a
        // BF16 result (u), plus the stored gelu, relu and bias sums (u each): a worst case of 3·3u + 3u = 12·2⁻⁸ when every
        // rounding pushes the same way; the tolerance is half of it, 12·2⁻⁹ ≈ 2.3 % of the largest logit (the roundings'
        // signs are random, so the error grows like √n: measured 0.74 %).
        Assert.InRange(worst, 0, 12.0 / 512 * scale);
        Assert.True(worst > 0, "no BF16 rounding visible: the BF16 path was not taken");

        float cpuLoss = cpu.ComputeGradients(x, y), gpuLoss = session.ComputeGradients(x, y);
        output.WriteLine($"loss: cpu {cpuLoss:R} bf16 {gpuLoss:R}");
        // The loss is an average of log-softmax terms of the logits: within the logits' relative error of 2.3 %.
        Assert.InRange(Math.Abs(gpuLoss - cpuLoss), 0, 12.0 / 512 * cpuLoss);
        session.CopyToHost();
        // Gradients stay FP32, computed from BF16 activations: the first layer's weight gradient (the longest chain) within
        // 10 % of the largest CPU element (each backward product reads a BF16 activation and a BF16-rounded gradient).
        float[] cpuGradient = cpu.Parameters[0].Gradient.ToArray(), gpuGradient = gpuModel.Parameters[0].Gradient.ToArray();
        double gScale = cpuGradient.Max(v => Math.Abs(v)), gWorst = cpuGradient.Zip(gpuGradient, (c, g) => Math.Abs(c - g)).Max();
        output.WriteLine($"{cpu.Parameters[0].Name} gradient: max |cpu| {gScale:G4}, max |bf16 − cpu| {gWorst:G4}");
        Assert.InRange(gWorst, 0, 0.1 * gScale);
    }

    [Fact]
    public void Two_hundred_bf16_steps_stay_within_the_stated_margin_of_fp32()
    {
        using var context = GpuContext.OpenEmulated();
        var report = new ParityReport();
        var (cpu, bf16) = Bf16Check.TrainingCurve(typeof(ParityMlpBf16), context, report);
        foreach (var line in report.Lines) output.WriteLine(line);
        Assert.True(report.Passed, string.Join("\n", report.Failures));
        Assert.True(cpu.Skip(180).Average() < 0.5 * cpu.Take(20).Average(), "the FP32 run did not learn");
    }

    [Fact]
    public void The_fp32_session_of_the_bf16_model_matches_the_cpu_kernel_by_kernel()
    {
        using var context = GpuContext.OpenEmulated();
        var report = new ParityReport();
        var cpu = new ParityMlpBf16(7UL);
        var gpuModel = new ParityMlpBf16(7UL);
        using var session = gpuModel.ToGpu(context, GpuPrecision.Fp32);
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(typeof(ParityMlpBf16), Batch, 1, seed: 1), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(typeof(ParityMlpBf16), Batch, 1, seed: 100 + step), 3, report);
        foreach (var line in report.Lines) output.WriteLine(line);
        Assert.True(report.Passed, string.Join("\n", report.Failures));
        Assert.True(Module().Bf16Activations); // the same module text, compiled without MD_ACT_BF16
    }

    private static object LatestWorkspace(object session)
    {
        var field = session.GetType().GetField("_workspaces", BindingFlags.NonPublic | BindingFlags.Instance)!;
        return ((Array)field.GetValue(session)!).Cast<object?>().First(w => w is not null)!;
    }

    private static DeviceVariable Variable(object workspace, string name) =>
        (DeviceVariable)workspace.GetType().GetField(name)!.GetValue(workspace)!;
}
