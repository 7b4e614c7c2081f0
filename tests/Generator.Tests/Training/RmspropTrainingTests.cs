using System;
using System.IO;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// <c>optimizer rmsprop(...)</c> through generated code: the CPU step against the formula over the model's own gradients,
/// the CUDA kernel on the emulator against the CPU code, and a checkpoint that resumes bit-identically.
/// </summary>
public sealed class RmspropTrainingTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly CudaParityTests.Emulator _emulator;

    public RmspropTrainingTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    private static string Text(string optimizer) =>
        "model Rms {\n    input x: f32[B, 6]\n    label y: f32[B, 3]\n    h = x -> dense(7) -> tanh -> dense(3)\n    output h\n    loss mse(h, y)\n"
        + $"    optimizer {optimizer}\n}}\n";

    [Theory]
    [InlineData("rmsprop(lr=0.01)", 0.0, 0.0, false)]
    [InlineData("rmsprop(lr=0.005, alpha=0.9, weight_decay=0.1, momentum=0.8)", 0.1, 0.8, false)]
    [InlineData("rmsprop(lr=0.005, eps=1e-6, centered=true)", 0.0, 0.0, true)]
    public void Generated_step_is_the_rmsprop_formula_over_the_model_s_gradients(string optimizer, double weightDecay, double momentum, bool centered)
    {
        var compiled = GeneratedModel.Compile(Text(optimizer), "Rms", seed: 11);
        var description = (ModelDescription)compiled.Type.GetProperty("Description")!.GetValue(null)!;
        double H(string key) => description.OptimizerHyperparameters.First(p => p.Key == key).Value;
        double lr = H("lr"), alpha = H("alpha"), eps = H("eps");
        var parameters = compiled.Parameters;
        // Reference state in double, carried across steps; each step starts from the model's own float values and gradients.
        var sq = parameters.Select(p => new double[p.Length]).ToArray();
        var second = parameters.Select(p => new double[p.Length]).ToArray();
        for (int step = 0; step < 4; step++)
        {
            var batch = ParityCheck.RandomBatch(compiled.Type, 5, 1, seed: 70 + step);
            compiled.Call("ComputeGradients", batch);
            var before = parameters.Select(p => (float[])p.Value.Clone()).ToArray();
            compiled.Call("ApplyGradients");
            for (int k = 0; k < parameters.Count; k++)
            {
                var p = parameters[k];
                var expected = new double[p.Length];
                for (int i = 0; i < p.Length; i++)
                {
                    double d = p.Gradient[i] + weightDecay * before[k][i];
                    sq[k][i] = alpha * sq[k][i] + (1 - alpha) * d * d;
                    double avg;
                    if (centered)
                    {
                        second[k][i] += (1 - alpha) * (d - second[k][i]);
                        avg = Math.Sqrt(sq[k][i] - second[k][i] * second[k][i]) + eps;
                    }
                    else avg = Math.Sqrt(sq[k][i]) + eps;
                    if (momentum != 0)
                    {
                        second[k][i] = momentum * second[k][i] + d / avg;
                        expected[i] = before[k][i] - lr * second[k][i];
                    }
                    else expected[i] = before[k][i] - lr * d / avg;
                }
                for (int i = 0; i < p.Length; i++)
                {
                    Assert.True(Math.Abs(expected[i] - p.Value[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"step {step + 1}, {p.Name}[{i}]: expected {expected[i]}, got {p.Value[i]}");
                    Assert.True(Math.Abs(sq[k][i] - p.State1[i]) <= 1e-5 * (1e-6 + Math.Abs(sq[k][i])), $"step {step + 1}, {p.Name} square_avg[{i}]");
                }
                Assert.Equal(momentum != 0 || centered ? 2 : 1, p.StateCount);
            }
        }
        Assert.Equal(4, compiled.Step);
    }

    [Theory]
    [InlineData("rmsprop(lr=0.01)")]
    [InlineData("rmsprop(lr=0.005, alpha=0.9, weight_decay=0.1, momentum=0.8)")]
    [InlineData("rmsprop(lr=0.005, eps=1e-6, weight_decay=0.01, centered=true)")]
    public void Rmsprop_matches_the_cpu_backend_on_the_emulated_gpu(string optimizer)
    {
        string text = Text(optimizer);
        var compiled = GeneratedModel.Compile(text, "Rms", seed: 12);
        Assert.Contains("optimizer_rmsprop", compiled.GpuSource, StringComparison.Ordinal);
        var cpu = compiled.NewInstance(12);
        var gpuModel = compiled.NewInstance(12);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        var (losses, _) = ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 1, seed: 80 + step), 5, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(5, losses.Length);
        // Not a vacuous pass: all four parameters' values and optimizer state were compared after 5 steps.
        Assert.Equal(4, report.Lines.Count(line => line.Contains(" state 1", StringComparison.Ordinal) && line.EndsWith("ok", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_checkpoint_resumes_rmsprop_with_its_square_avg_and_momentum_buffer()
    {
        var compiled = GeneratedModel.Compile(Text("rmsprop(lr=0.01, momentum=0.9)"), "Rms", seed: 13);
        object[] Batch(int step) => ParityCheck.RandomBatch(compiled.Type, 7, 1, seed: 90 + step);
        for (int step = 0; step < 3; step++) compiled.Call("TrainStep", Batch(step));
        string path = Path.Combine(Path.GetTempPath(), $"rmsprop-{Guid.NewGuid():N}.safetensors");
        try
        {
            compiled.Call("Save", path);
            var names = SafetensorsNames(path);
            foreach (var p in compiled.Parameters)
            {
                Assert.Contains("optimizer.state1." + p.Name, names); // square_avg
                Assert.Contains("optimizer.state2." + p.Name, names); // momentum_buffer
            }
            var resumed = compiled.NewInstance(99);
            ParityCheck.Invoke(resumed, "Load", path);
            for (int step = 3; step < 6; step++)
            {
                float a = (float)compiled.Call("TrainStep", Batch(step));
                float b = (float)ParityCheck.Invoke(resumed, "TrainStep", Batch(step));
                Assert.Equal(a, b);
            }
            var original = compiled.Parameters;
            var loaded = (System.Collections.Generic.IReadOnlyList<Parameter>)resumed.GetType().GetProperty("Parameters")!.GetValue(resumed)!;
            for (int k = 0; k < original.Count; k++)
            {
                Assert.Equal(original[k].Value, loaded[k].Value);
                Assert.Equal(original[k].State1, loaded[k].State1);
                Assert.Equal(original[k].State2, loaded[k].State2);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("rmsprop(lr=0.01)")]
    [InlineData("rmsprop(lr=0.01, momentum=0.9)")]
    [InlineData("rmsprop(lr=0.01, centered=true)")]
    public void An_rmsprop_update_that_would_overflow_is_refused_before_anything_is_written(string optimizer)
    {
        // After one normal step, lr = 3e38: each element would move by about lr·|g|/√sq ≥ 3e38 · (a few), beyond float.
        var compiled = GeneratedModel.Compile(Text(optimizer), "Rms", seed: 14);
        var batch = ParityCheck.RandomBatch(compiled.Type, 7, 1, seed: 5);
        compiled.Call("TrainStep", batch);
        compiled.Set("LearningRate", 3e38f);
        var before = compiled.Parameters.SelectMany(p => new[] { (float[])p.Value.Clone(), (float[])p.State1.Clone(), (float[])p.State2.Clone() }).ToArray();
        var e = Assert.Throws<NonFiniteException>(() => compiled.Call("TrainStep", batch));
        Assert.Equal(NonFiniteSource.Update, e.Source);
        Assert.Contains("the rmsprop update with learning rate 3E+38 would make", e.Message);
        Assert.Equal(1, compiled.Step);
        var after = compiled.Parameters.SelectMany(p => new[] { p.Value, p.State1, p.State2 }).ToArray();
        for (int k = 0; k < before.Length; k++) Assert.Equal(before[k], after[k]);
    }

    private static string[] SafetensorsNames(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var json = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        return json.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
    }
}
