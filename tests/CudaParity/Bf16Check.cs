using System;
using System.Globalization;
using System.Linq;
using System.Reflection;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace ModelDsl.CudaParity;

/// <summary>
/// BF16 mixed precision against the FP32 CPU reference (docs/cuda.md "Precision"): for each model of
/// <see cref="Program.Models"/> that declares <c>precision bf16</c>, 200 training steps in its declared (Bf16) session and
/// on the CPU from the same seed, on a task the model can learn, and the mean loss of the last 20 steps held within
/// <see cref="Margin"/> of the CPU's. Single steps are not compared: rounding, amplified by Adam, moves the parameters
/// apart, so one step's loss may differ by a few percent while the training curve is the same.
/// </summary>
public static class Bf16Check
{
    public const int Steps = 200, Window = 20, Batch = 4, Sequence = 8;

    /// <summary>The stated margin: the BF16 run's mean loss over the last <see cref="Window"/> steps within 5 % of FP32's.</summary>
    public const double Margin = 0.05;

    /// <summary>Every bf16 model of <see cref="Program.Models"/>.</summary>
    public static void Run(GpuContext context, ParityReport report)
    {
        foreach (var (type, _, _) in Program.Models)
        {
            if (DeclaredPrecision(type) == GpuPrecision.Bf16) TrainingCurve(type, context, report);
        }
    }

    /// <summary>The declared precision of a generated model class (its <c>Gpu.DeclaredPrecision</c>).</summary>
    public static GpuPrecision DeclaredPrecision(Type modelType) =>
        (GpuPrecision)modelType.GetNestedType("Gpu")!.GetField("DeclaredPrecision", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    /// <summary>
    /// The 200-step comparison for one model, on a task it can learn: a token model (an i32 [B, T] input and an i32
    /// [B, T] label) gets target[t] = (5·idx[t] + 3) mod V at even positions and the previous token at odd ones, so
    /// attention has something to learn; a classifier of f32 features (an f32 [B, F] input, an i32 [B] label, F ≥ V)
    /// gets normal features and the class of the largest of the first V. Returns the two loss curves.
    /// </summary>
    public static (float[] Cpu, float[] Bf16) TrainingCurve(Type modelType, GpuContext context, ParityReport report)
    {
        var description = (ModelDescription)modelType.GetProperty("Description", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        int vocab = int.Parse(description.Output.Dims[^1], CultureInfo.InvariantCulture);
        var cpu = Activator.CreateInstance(modelType, 7UL)!;
        var gpuModel = Activator.CreateInstance(modelType, 7UL)!;
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", context, GpuPrecision.Bf16);
        var cpuLosses = new float[Steps];
        var bf16Losses = new float[Steps];
        for (int step = 0; step < Steps; step++)
        {
            var random = new Random(100 + step);
            object x, y;
            if (description.Inputs[0].DType == "f32")
            {
                int features = int.Parse(description.Inputs[0].Dims[^1], CultureInfo.InvariantCulture), rows = Batch * Sequence;
                float[] values = Enumerable.Range(0, rows * features).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                int[] classes = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, vocab).MaxBy(c => values[r * features + c])).ToArray();
                x = new Tensor(values, rows, features);
                y = new IntTensor(classes, rows);
            }
            else
            {
                int[] idx = Enumerable.Range(0, Batch * Sequence).Select(_ => random.Next(vocab)).ToArray();
                int[] targets = idx.Select((v, i) => i % 2 == 0 ? (5 * v + 3) % vocab : idx[i - 1]).ToArray();
                x = new IntTensor(idx, Batch, Sequence);
                y = new IntTensor(targets, Batch, Sequence);
            }
            cpuLosses[step] = (float)ParityCheck.Invoke(cpu, "TrainStep", x, y);
            bf16Losses[step] = (float)ParityCheck.Invoke(session, "TrainStep", x, y);
        }
        double first = cpuLosses.Take(Window).Average();
        double fp32 = cpuLosses.Skip(Steps - Window).Average(), bf16 = bf16Losses.Skip(Steps - Window).Average();
        string line = $"{modelType.Name} bf16: mean loss of steps {Steps - Window + 1}..{Steps}: fp32 {fp32:F4} bf16 {bf16:F4} (from {first:F4}), "
            + $"|Δ| {Math.Abs(bf16 - fp32) / fp32:P2} of fp32, margin {Margin:P0}";
        if (Math.Abs(bf16 - fp32) <= Margin * fp32 && double.IsFinite(bf16)) report.Info(line + "  ok");
        else report.Fail(line + "  FAILED");
        return (cpuLosses, bf16Losses);
    }
}
