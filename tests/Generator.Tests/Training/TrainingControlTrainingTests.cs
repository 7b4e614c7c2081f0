using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The training controls executed by generated code (docs/training.md "Training controls"): on the CPU against their
/// PyTorch definitions, and on the emulated GPU against the CPU code.
/// </summary>
public sealed class TrainingControlTrainingTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly CudaParityTests.Emulator _emulator;

    public TrainingControlTrainingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    /// <summary>A 6-16-3 tanh MLP with <paramref name="controls"/> after the optimizer; the first layer is <c>h.0</c>, the last <c>h.2</c>.</summary>
    internal static string Text(string optimizer, string controls, int inputs = 6) =>
        $"model Ctl {{\n    input x: f32[B, {inputs}]\n    label y: f32[B, 3]\n    h = x -> dense(16) -> tanh -> dense(3)\n    output h\n    loss mse(h, y)\n"
        + $"    optimizer {optimizer}\n{controls}}}\n";

    private static double GlobalNorm(System.Collections.Generic.IReadOnlyList<Parameter> parameters) =>
        Math.Sqrt(parameters.Sum(p => p.Gradient.Sum(g => (double)g * g)));

    [Fact]
    public void Clip_grad_norm_scales_the_gradients_to_the_bound_before_the_step()
    {
        // SGD without momentum: p' = p − lr·g·c with c = max_norm / (‖g‖ + 1e-6), torch.nn.utils.clip_grad_norm_.
        var compiled = GeneratedModel.Compile(Text("sgd(lr=0.1)", "    clip_grad_norm(0.05)\n"), "Ctl", seed: 21);
        var batch = ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 3);
        compiled.Call("ComputeGradients", batch);
        var parameters = compiled.Parameters;
        double norm = GlobalNorm(parameters);
        Assert.True(norm > 0.5, $"the test needs a gradient norm well above the bound; got {norm}");
        var gradients = parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();
        var values = parameters.Select(p => (float[])p.Value.Clone()).ToArray();
        compiled.Call("ApplyGradients");

        Assert.Equal(0.05, GlobalNorm(parameters), 6); // the clipped gradients (in place, as PyTorch) have the bound's norm
        Assert.Equal(norm, (double)compiled.Get("LastGradientNorm"), 5);
        double c = 0.05 / (norm + 1e-6);
        for (int k = 0; k < parameters.Count; k++)
        {
            for (int i = 0; i < parameters[k].Length; i++)
            {
                double expected = values[k][i] - 0.1 * gradients[k][i] * c;
                Assert.True(Math.Abs(expected - parameters[k].Value[i]) <= 1e-6, $"{parameters[k].Name}[{i}]: expected {expected}, got {parameters[k].Value[i]}");
            }
        }
    }

    [Fact]
    public void Clip_grad_norm_leaves_gradients_below_the_bound_untouched()
    {
        var clipped = GeneratedModel.Compile(Text("adamw(lr=0.01)", "    clip_grad_norm(1000)\n"), "Ctl", seed: 22);
        var plain = GeneratedModel.Compile(Text("adamw(lr=0.01)", ""), "Ctl", seed: 22);
        for (int step = 0; step < 3; step++)
        {
            var batch = ParityCheck.RandomBatch(clipped.Type, 9, 1, seed: 30 + step);
            Assert.Equal((float)plain.Call("TrainStep", batch), (float)clipped.Call("TrainStep", batch));
        }
        for (int k = 0; k < plain.Parameters.Count; k++) Assert.Equal(plain.Parameters[k].Value, clipped.Parameters[k].Value);
    }

    [Theory]
    [InlineData(6, 0.05)]    // one block of partial sums (arena of 6·16+16+16·3+3 padded)
    [InlineData(300, 0.05)]  // 300·16 weights: more than 16·256 gradient elements, so several blocks of partial sums
    [InlineData(300, 1000)]  // a bound never reached: the scale kernel is skipped
    public void Clip_grad_norm_matches_the_cpu_backend_on_the_emulated_gpu(int inputs, double maxNorm)
    {
        string text = Text("adam(lr=0.01)", $"    clip_grad_norm({maxNorm.ToString(System.Globalization.CultureInfo.InvariantCulture)})\n", inputs);
        var compiled = GeneratedModel.Compile(text, "Ctl", seed: 23);
        Assert.Contains("gradient_scale", compiled.GpuSource, StringComparison.Ordinal);
        var cpu = compiled.NewInstance(23);
        var gpuModel = compiled.NewInstance(23);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 1, seed: 40 + step), 4, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        // The norm before clipping, from the device's two-pass reduction, against the CPU's double sum.
        double cpuNorm = (double)cpu.GetType().GetProperty("LastGradientNorm")!.GetValue(cpu)!;
        double gpuNorm = (double)session.GetType().GetProperty("LastGradientNorm")!.GetValue(session)!;
        Assert.True(Math.Abs(cpuNorm - gpuNorm) <= 1e-4 * cpuNorm, $"gradient norm: cpu {cpuNorm}, gpu {gpuNorm}");
        if (maxNorm < 1) Assert.True(cpuNorm > maxNorm, $"the bound {maxNorm} was never reached (norm {cpuNorm})");
    }

    [Fact]
    public void Schedule_sets_each_update_s_learning_rate_by_the_formula()
    {
        // SGD without momentum, so each update is p − lr_t·g and lr_t can be read back from the parameters.
        var compiled = GeneratedModel.Compile(Text("sgd(lr=0.1)", "    schedule cosine(warmup=2, steps=6, floor=0.1)\n"), "Ctl", seed: 24);
        var parameters = compiled.Parameters;
        for (int step = 0; step < 8; step++)
        {
            // The formula, written out: warm-up s/2, then 0.1 + 0.9·½(1 + cos(π·(s − 2)/4)), the floor after step 6.
            double factor = step < 2 ? step / 2.0 : 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, (step - 2) / 4.0)));
            float expected = (float)(0.1f * factor);
            Assert.Equal(expected, (float)compiled.Get("ScheduledLearningRate"));
            compiled.Call("ComputeGradients", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 50 + step));
            var before = parameters.Select(p => (float[])p.Value.Clone()).ToArray();
            compiled.Call("ApplyGradients");
            for (int k = 0; k < parameters.Count; k++)
            {
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    float want = before[k][i] - expected * parameters[k].Gradient[i];
                    Assert.True(want == parameters[k].Value[i], $"step {step + 1}, {parameters[k].Name}[{i}]: expected {want}, got {parameters[k].Value[i]}");
                }
            }
        }
        Assert.Equal(8, compiled.Step);
    }

    [Fact]
    public void A_schedule_without_steps_takes_TotalSteps_from_the_caller()
    {
        var compiled = GeneratedModel.Compile(Text("adamw(lr=0.01)", "    schedule linear(warmup=1)\n"), "Ctl", seed: 25);
        var batch = ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 7);
        Assert.IsAssignableFrom<IScheduledModel>(compiled.Instance);
        var e = Assert.Throws<InvalidOperationException>(() => compiled.Call("TrainStep", batch));
        Assert.Contains("Ctl (test.model:", e.Message);
        Assert.Contains("set the model's TotalSteps", e.Message);
        Assert.Equal(0, compiled.Step); // refused before anything changed
        compiled.Set("TotalSteps", 5);
        for (int step = 0; step < 5; step++) compiled.Call("TrainStep", batch);
        Assert.Equal(0f, (float)compiled.Get("ScheduledLearningRate")); // linear decay reached 0 at TotalSteps
        // A model that names its total in the .model is not IScheduledModel: nothing for the caller to set.
        var fixedTotal = GeneratedModel.Compile(Text("adamw(lr=0.01)", "    schedule linear(warmup=1, steps=5)\n"), "Ctl", seed: 25);
        Assert.False(fixedTotal.Instance is IScheduledModel);
    }

    [Fact]
    public void A_resumed_run_continues_the_same_schedule_with_TotalSteps_from_the_checkpoint()
    {
        // linear(warmup=1) over TotalSteps = 6, set by the caller: 3 steps, save, load into a fresh instance (TotalSteps 0),
        // 3 more; the parameters must be those of 6 uninterrupted steps, bit for bit.
        string text = Text("adamw(lr=0.01)", "    schedule linear(warmup=1)\n");
        var whole = GeneratedModel.Compile(text, "Ctl", seed: 31);
        whole.Set("TotalSteps", 6);
        var first = whole.NewInstance(31);
        first.GetType().GetProperty("TotalSteps")!.SetValue(first, 6);
        for (int step = 0; step < 3; step++) ParityCheck.Invoke(first, "TrainStep", ParityCheck.RandomBatch(whole.Type, 9, 1, seed: 90 + step));
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"modeldsl-total-{Guid.NewGuid():N}.safetensors");
        try
        {
            ParityCheck.Invoke(first, "Save", path);
            var resumed = whole.NewInstance(99);
            ParityCheck.Invoke(resumed, "Load", path);
            Assert.Equal(6, (int)resumed.GetType().GetProperty("TotalSteps")!.GetValue(resumed)!);
            Assert.Equal(3, (int)resumed.GetType().GetProperty("Step")!.GetValue(resumed)!);
            for (int step = 0; step < 6; step++)
            {
                var batch = ParityCheck.RandomBatch(whole.Type, 9, 1, seed: 90 + step);
                whole.Call("TrainStep", batch);
                if (step >= 3) ParityCheck.Invoke(resumed, "TrainStep", batch);
            }
            Assert.Equal(0f, (float)resumed.GetType().GetProperty("ScheduledLearningRate")!.GetValue(resumed)!); // decayed to 0 at step 6
            var resumedParameters = (System.Collections.Generic.IReadOnlyList<Parameter>)resumed.GetType().GetProperty("Parameters")!.GetValue(resumed)!;
            for (int k = 0; k < whole.Parameters.Count; k++) Assert.Equal(whole.Parameters[k].Value, resumedParameters[k].Value);

            // A checkpoint saved before TotalSteps was set records none, and loading it keeps the caller's value.
            var unset = whole.NewInstance(31);
            ParityCheck.Invoke(unset, "Save", path);
            var keeps = whole.NewInstance(31);
            keeps.GetType().GetProperty("TotalSteps")!.SetValue(keeps, 40);
            ParityCheck.Invoke(keeps, "Load", path);
            Assert.Equal(40, (int)keeps.GetType().GetProperty("TotalSteps")!.GetValue(keeps)!);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Fact]
    public void Schedule_matches_the_cpu_backend_on_the_emulated_gpu()
    {
        string text = Text("adamw(lr=0.02)", "    schedule cosine(warmup=2, steps=5, floor=0.2)\n    clip_grad_norm(0.5)\n");
        var compiled = GeneratedModel.Compile(text, "Ctl", seed: 26);
        Assert.Contains("_model.ScheduledLearningRate", compiled.GpuSource, StringComparison.Ordinal);
        var cpu = compiled.NewInstance(26);
        var gpuModel = compiled.NewInstance(26);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 1, seed: 60 + step), 6, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(6, (int)cpu.GetType().GetProperty("Step")!.GetValue(cpu)!);
    }

    [Fact]
    public void Frozen_parameters_stay_bit_identical_and_get_no_optimizer_state()
    {
        // AdamW with weight decay would move every trained parameter, even one whose gradient were zero.
        var compiled = GeneratedModel.Compile(Text("adamw(lr=0.01, weight_decay=0.1)", "    freeze h.0\n    clip_grad_norm(0.1)\n"), "Ctl", seed: 27);
        var parameters = compiled.Parameters;
        var start = parameters.Select(p => (float[])p.Value.Clone()).ToArray();
        for (int step = 0; step < 4; step++) compiled.Call("TrainStep", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 70 + step));
        foreach (var (p, k) in parameters.Select((p, k) => (p, k)))
        {
            if (p.Name.StartsWith("h.0.", StringComparison.Ordinal))
            {
                Assert.Equal(start[k], p.Value);                 // bit for bit
                Assert.Equal(0, p.StateCount);                   // no optimizer state allocated
                Assert.All(p.Gradient, g => Assert.Equal(0f, g)); // as if never computed
            }
            else
            {
                Assert.NotEqual(start[k], p.Value);
                Assert.Equal(2, p.StateCount);
            }
        }
        Assert.Contains(parameters, p => p.Name == "h.0.weight");
        // Clipping saw only the trained gradients: their norm is the bound.
        Assert.Equal(0.1, GlobalNorm(parameters), 5);
    }

    [Fact]
    public void Freeze_matches_the_cpu_backend_on_the_emulated_gpu()
    {
        // h.2.weight frozen: a frozen run between two runs of trained parameters in the arena.
        string text = Text("adamw(lr=0.02, weight_decay=0.1)", "    freeze h.2.weight\n    clip_grad_norm(0.5)\n");
        var compiled = GeneratedModel.Compile(text, "Ctl", seed: 28);
        Assert.Contains("gradient_clear", compiled.GpuSource, StringComparison.Ordinal);
        var cpu = compiled.NewInstance(28);
        var gpuModel = compiled.NewInstance(28);
        var frozenStart = ((System.Collections.Generic.IReadOnlyList<Parameter>)gpuModel.GetType().GetProperty("Parameters")!.GetValue(gpuModel)!)
            .First(p => p.Name == "h.2.weight").Value.ToArray();
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 1, seed: 80 + step), 4, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        var gpuParameters = (System.Collections.Generic.IReadOnlyList<Parameter>)gpuModel.GetType().GetProperty("Parameters")!.GetValue(gpuModel)!;
        Assert.Equal(frozenStart, gpuParameters.First(p => p.Name == "h.2.weight").Value); // unchanged on the device, bit for bit
        Assert.NotEmpty(frozenStart);
    }
}
