using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Parameter groups executed by generated code (docs/training.md "Parameter groups"): on the CPU against PyTorch's
/// optimizer definitions written out in double (torch.optim with param_groups), and on the emulated GPU against the CPU.
/// The model is TrainingControlTrainingTests' 6-16-3 tanh MLP: h.0.weight, h.0.bias, h.2.weight, h.2.bias.
/// </summary>
public sealed class GroupTrainingTests : IClassFixture<CudaParityTests.Emulator>
{
    private const string Groups = "    group no_decay(weight_decay=0) *.bias\n    group head(lr=0.05) h.2.weight\n";

    private readonly CudaParityTests.Emulator _emulator;

    public GroupTrainingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    private static string Text(string optimizer, string controls) => TrainingControlTrainingTests.Text(optimizer, controls);

    /// <summary>Each parameter's (lr, weight_decay) in <see cref="Groups"/> beside an optimizer of <paramref name="lr"/> and <paramref name="weightDecay"/>.</summary>
    private static (double Lr, double WeightDecay) GroupOf(string parameter, double lr, double weightDecay) => parameter switch
    {
        "h.0.bias" or "h.2.bias" => (lr, 0),
        "h.2.weight" => (0.05, weightDecay),
        _ => (lr, weightDecay),
    };

    private static void AssertClose(double expected, float actual, string what)
    {
        double tolerance = 2e-6 + 2e-6 * Math.Abs(expected);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void AdamW_updates_each_group_with_its_own_lr_and_weight_decay_as_torch_param_groups()
    {
        // torch.optim.AdamW([{params: decayed}, {params: biases, weight_decay: 0}, {params: [h.2.weight], lr: 0.05}], lr=0.01, weight_decay=0.1),
        // three steps, the reference in double: p ·= 1 − lr·wd; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
        // p −= lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps).
        var compiled = GeneratedModel.Compile(Text("adamw(lr=0.01, weight_decay=0.1)", Groups), "Ctl", seed: 41);
        var parameters = compiled.Parameters;
        var p = parameters.Select(x => x.Value.Select(v => (double)v).ToArray()).ToArray();
        var m = parameters.Select(x => new double[x.Length]).ToArray();
        var v = parameters.Select(x => new double[x.Length]).ToArray();
        for (int t = 1; t <= 3; t++)
        {
            compiled.Call("ComputeGradients", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 100 + t));
            var gradients = parameters.Select(x => (float[])x.Gradient.Clone()).ToArray();
            compiled.Call("ApplyGradients");
            for (int k = 0; k < parameters.Count; k++)
            {
                var (lr, wd) = GroupOf(parameters[k].Name, 0.01, 0.1);
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    double g = gradients[k][i];
                    p[k][i] *= 1 - lr * wd;
                    m[k][i] = 0.9 * m[k][i] + 0.1 * g;
                    v[k][i] = 0.999 * v[k][i] + 0.001 * g * g;
                    p[k][i] -= lr / (1 - Math.Pow(0.9, t)) * m[k][i] / (Math.Sqrt(v[k][i]) / Math.Sqrt(1 - Math.Pow(0.999, t)) + 1e-8);
                    AssertClose(p[k][i], parameters[k].Value[i], $"step {t}, {parameters[k].Name}[{i}]");
                }
            }
        }
        // The generated model lists its groups by index (0: the parameters in no group).
        Assert.Equal(new[] { "", "no_decay", "head" }, (IReadOnlyList<string>)compiled.Get("ParameterGroups"));
    }

    [Fact]
    public void Sgd_with_momentum_applies_each_group_s_L2_weight_decay_and_lr()
    {
        // torch.optim.SGD (dampening 0): d = g + wd·p; buf = μ·buf + d; p −= lr·buf.
        var compiled = GeneratedModel.Compile(Text("sgd(lr=0.1, momentum=0.9, weight_decay=0.2)", Groups), "Ctl", seed: 42);
        var parameters = compiled.Parameters;
        var p = parameters.Select(x => x.Value.Select(v => (double)v).ToArray()).ToArray();
        var buffer = parameters.Select(x => new double[x.Length]).ToArray();
        for (int t = 1; t <= 3; t++)
        {
            compiled.Call("ComputeGradients", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 110 + t));
            var gradients = parameters.Select(x => (float[])x.Gradient.Clone()).ToArray();
            compiled.Call("ApplyGradients");
            for (int k = 0; k < parameters.Count; k++)
            {
                var (lr, wd) = GroupOf(parameters[k].Name, 0.1, 0.2);
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    double d = gradients[k][i] + wd * p[k][i];
                    buffer[k][i] = 0.9 * buffer[k][i] + d;
                    p[k][i] -= lr * buffer[k][i];
                    AssertClose(p[k][i], parameters[k].Value[i], $"step {t}, {parameters[k].Name}[{i}]");
                }
            }
        }
    }

    [Fact]
    public void A_schedule_scales_every_group_and_LearningRate_moves_them_in_proportion()
    {
        // LambdaLR semantics: each group's rate is its own lr times the schedule's factor.
        var compiled = GeneratedModel.Compile(Text("sgd(lr=0.1)", "    schedule cosine(warmup=2, steps=6, floor=0.1)\n" + Groups), "Ctl", seed: 43);
        var parameters = compiled.Parameters;
        var type = compiled.Instance.GetType();
        float Rate(int group) => (float)type.GetMethod("GroupLearningRate")!.Invoke(compiled.Instance, [group])!;
        for (int step = 0; step < 7; step++)
        {
            double factor = step < 2 ? step / 2.0 : 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, (step - 2) / 4.0)));
            Assert.Equal((float)(0.1f * factor), Rate(0));
            Assert.Equal((float)(0.1f * factor), Rate(1));                 // no_decay keeps the optimizer's lr
            Assert.Equal((float)(0.05 * factor), Rate(2));                 // head: 0.05, rounded once
            Assert.Equal((float)compiled.Get("ScheduledLearningRate"), Rate(0));
            compiled.Call("ComputeGradients", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 120 + step));
            var before = parameters.Select(x => (float[])x.Value.Clone()).ToArray();
            compiled.Call("ApplyGradients");
            // Plain SGD: each update is p − rate·g with the group's rate, so the rates used can be read off the parameters.
            for (int k = 0; k < parameters.Count; k++)
            {
                float rate = (float)((parameters[k].Name == "h.2.weight" ? 0.05 : 0.1f) * factor);
                for (int i = 0; i < parameters[k].Length; i++)
                {
                    float want = before[k][i] - rate * parameters[k].Gradient[i];
                    Assert.True(want == parameters[k].Value[i], $"step {step + 1}, {parameters[k].Name}[{i}]: expected {want}, got {parameters[k].Value[i]}");
                }
            }
        }
        // Setting LearningRate (an epoch schedule, or by hand) moves every group in proportion: head keeps 0.05/0.1 of it.
        compiled.Set("LearningRate", 0.02f);
        const double floor = 0.1; // the cosine schedule's floor, past its 6 steps
        Assert.Equal((float)(0.02f * floor), Rate(0));
        Assert.Equal((float)(0.02f * (0.05 / 0.1f) * floor), Rate(2));
        Assert.True(Math.Abs(Rate(2) - 0.01 * floor) < 1e-9, $"head's rate {Rate(2)}");
    }

    [Theory]
    [InlineData("sgd(lr=0.05, momentum=0.9, weight_decay=0.5)")]
    [InlineData("adam(lr=0.02, weight_decay=0.5)")]
    [InlineData("adamw(lr=0.02, weight_decay=0.5)")]
    [InlineData("rmsprop(lr=0.01, weight_decay=0.5, momentum=0.5)")]
    public void Groups_match_the_cpu_backend_on_the_emulated_gpu(string optimizer)
    {
        // Groups interleaved in the arena (weight, bias, weight, bias), with a frozen run, a schedule and clipping: one
        // launch per run of one group, each with the group's rate and weight decay.
        string text = Text(optimizer, "    schedule linear(warmup=1, steps=8)\n    clip_grad_norm(0.5)\n    freeze h.0.weight\n"
            + "    group no_decay(weight_decay=0) *.bias\n    group head(lr=0.1, weight_decay=0.05) h.2.weight\n");
        var compiled = GeneratedModel.Compile(text, "Ctl", seed: 44);
        if (!optimizer.StartsWith("adamw", StringComparison.Ordinal)) Assert.Contains("float weight_decay", compiled.GpuSource, StringComparison.Ordinal);
        Assert.Contains("_model.GroupLearningRate(2)", compiled.GpuSource, StringComparison.Ordinal);
        var cpu = compiled.NewInstance(44);
        var gpuModel = compiled.NewInstance(44);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 1, seed: 130 + step), 5, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(5, (int)cpu.GetType().GetProperty("Step")!.GetValue(cpu)!);
    }

    [Fact]
    public void A_bf16_model_s_grouped_optimizer_writes_the_bf16_copy_in_its_one_launch()
    {
        // precision bf16: the optimizer also writes each parameter's BF16 copy (p_bf16); with groups that is the same single launch.
        var compiled = GeneratedModel.Compile(Text("adamw(lr=0.01, weight_decay=0.1)", "    precision bf16\n" + Groups), "Ctl", seed: 47);
        Assert.Contains("p_bf16[i] = md_bf16_from_float(p[i]);", compiled.GpuSource, StringComparison.Ordinal);
        Assert.Contains("a.Add(_valuesBf16); // p_bf16", compiled.GpuSource, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(compiled.GpuSource, @"_optimizer_adamw\.Launch\("));
    }

    [Fact]
    public void A_run_resumed_from_a_checkpoint_continues_every_group_bit_for_bit()
    {
        string text = Text("adamw(lr=0.01, weight_decay=0.1)", "    schedule linear(warmup=1)\n" + Groups);
        var whole = GeneratedModel.Compile(text, "Ctl", seed: 45);
        whole.Set("TotalSteps", 6);
        var first = whole.NewInstance(45);
        first.GetType().GetProperty("TotalSteps")!.SetValue(first, 6);
        for (int step = 0; step < 3; step++) ParityCheck.Invoke(first, "TrainStep", ParityCheck.RandomBatch(whole.Type, 9, 1, seed: 140 + step));
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"modeldsl-groups-{Guid.NewGuid():N}.safetensors");
        try
        {
            ParityCheck.Invoke(first, "Save", path);
            var resumed = whole.NewInstance(7);
            ParityCheck.Invoke(resumed, "Load", path);
            for (int step = 0; step < 6; step++)
            {
                var batch = ParityCheck.RandomBatch(whole.Type, 9, 1, seed: 140 + step);
                whole.Call("TrainStep", batch);
                if (step >= 3) ParityCheck.Invoke(resumed, "TrainStep", batch);
            }
            var resumedParameters = (IReadOnlyList<Parameter>)resumed.GetType().GetProperty("Parameters")!.GetValue(resumed)!;
            for (int k = 0; k < whole.Parameters.Count; k++)
            {
                Assert.Equal(whole.Parameters[k].Value, resumedParameters[k].Value);
                Assert.Equal(whole.Parameters[k].State1, resumedParameters[k].State1);
                Assert.Equal(whole.Parameters[k].State2, resumedParameters[k].State2);
            }
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Fact]
    public void The_update_check_uses_each_group_s_rate()
    {
        // Only the head group's rate overflows (0.1 × 1e40 is +∞ as a float): the step is refused naming its parameter, and nothing changes.
        var compiled = GeneratedModel.Compile(Text("sgd(lr=0.1)", "    group head(lr=1e39) h.2.weight\n"), "Ctl", seed: 46);
        var parameters = compiled.Parameters;
        var before = parameters.Select(x => (float[])x.Value.Clone()).ToArray();
        var e = Assert.Throws<NonFiniteException>(() => compiled.Call("TrainStep", ParityCheck.RandomBatch(compiled.Type, 9, 1, seed: 150)));
        Assert.Equal(NonFiniteSource.Update, e.Source);
        Assert.Equal("h.2.weight", e.Name);
        Assert.Contains("the sgd update with learning rate Infinity would make 'h.2.weight'", e.Message);
        Assert.Equal(0, compiled.Step);
        for (int k = 0; k < parameters.Count; k++) Assert.Equal(before[k], parameters[k].Value);
        // Without the group the same step is fine.
        var plain = GeneratedModel.Compile(Text("sgd(lr=0.1)", ""), "Ctl", seed: 46);
        plain.Call("TrainStep", ParityCheck.RandomBatch(plain.Type, 9, 1, seed: 150));
        Assert.Equal(1, plain.Step);
    }
}
