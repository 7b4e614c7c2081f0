using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace ModelDsl.CudaParity;

/// <summary>|gpu − cpu| ≤ Absolute + Relative·|cpu|, element by element.</summary>
public readonly record struct Tolerance(double Absolute, double Relative)
{
    /// <summary>One kernel's outputs: the same formulas, differing only in summation order, FMA contraction and expf's last bits.</summary>
    public static Tolerance Kernel => new Tolerance(2e-5, 1e-3);

    /// <summary>Per-step losses over a short training run, where those differences compound through the optimizer.</summary>
    public static Tolerance Training => new Tolerance(1e-4, 2e-3);
}

/// <summary>What was compared and how far apart the backends were; <see cref="Passed"/> when every line is within tolerance.</summary>
public sealed class ParityReport
{
    private readonly List<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines;
    public List<string> Failures { get; } = new();
    public bool Passed => Failures.Count == 0;

    internal void Compare(string what, ReadOnlySpan<float> cpu, ReadOnlySpan<float> gpu, Tolerance tolerance)
    {
        if (cpu.Length != gpu.Length)
        {
            Fail($"{what}: {cpu.Length} elements on the CPU but {gpu.Length} on the GPU");
            return;
        }
        double maxAbs = 0, maxRel = 0;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < cpu.Length; i++)
        {
            double c = cpu[i], g = gpu[i];
            double diff = Math.Abs(g - c);
            if (double.IsNaN(g) != double.IsNaN(c)) diff = double.PositiveInfinity;
            maxAbs = Math.Max(maxAbs, diff);
            if (Math.Abs(c) > 1e-6) maxRel = Math.Max(maxRel, diff / Math.Abs(c));
            double excess = diff - (tolerance.Absolute + tolerance.Relative * Math.Abs(c));
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }
        string line = $"{what,-44} {cpu.Length,9} elements  max |Δ| {maxAbs:0.0e+00}  max rel {maxRel:0.0e+00}";
        if (worst >= 0)
        {
            Fail(line + $"  FAILED at [{worst}]: cpu {cpu[worst].ToString("R", CultureInfo.InvariantCulture)} gpu {gpu[worst].ToString("R", CultureInfo.InvariantCulture)}");
        }
        else
        {
            _lines.Add(line + "  ok");
        }
    }

    internal void Info(string line) => _lines.Add(line);

    internal void Fail(string line)
    {
        _lines.Add(line);
        Failures.Add(line);
    }
}

/// <summary>
/// Compares a generated model's GPU session (on a real GPU or the CPU emulator) with its CPU code: every buffer each
/// kernel writes, every parameter gradient, then the losses of several training steps and the parameters and optimizer
/// state after them. The generated classes are reached through reflection (their workspaces are private), so the same
/// check runs on models compiled into this program and on models the tests compile at run time.
/// </summary>
public static class ParityCheck
{
    /// <summary>How the plan names a layer's working memory (<c>features_0_workspace</c>): its layout is the backend's.</summary>
    private const string WorkingMemorySuffix = "_workspace";

    /// <summary>
    /// Inputs then labels for <paramref name="modelType"/>'s TrainStep: normal inputs, token ids below the smallest
    /// embedding table for integer inputs (class ids when the model has no embedding), class ids below the output's last
    /// dimension for integer labels (one per position for [B, T] targets), 0/1 targets for binary cross-entropy, normal
    /// targets otherwise. Every symbolic dimension is bound to <paramref name="batch"/> for B and
    /// <paramref name="sequence"/> for any other.
    /// </summary>
    public static object[] RandomBatch(Type modelType, int batch, int sequence, int seed)
    {
        var description = (ModelDescription)modelType.GetProperty("Description", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        var random = new Random(seed);
        int classes = int.Parse(description.Output.Dims[^1], CultureInfo.InvariantCulture);
        int tokens = description.Layers.Where(l => l.Op == "embedding").Select(l => EmbeddingRows(l.Attributes)).DefaultIfEmpty(classes).Min();
        int[] Shape(TensorDescription t) => t.Dims.Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : d == "B" ? batch : sequence).ToArray();
        object Make(TensorDescription t, bool label)
        {
            int[] shape = Shape(t);
            int count = shape.Aggregate(1, (a, b) => a * b);
            if (t.DType == "i32") return new IntTensor(Enumerable.Range(0, count).Select(_ => random.Next(label ? classes : tokens)).ToArray(), shape);
            bool binary = label && description.Loss == "bce_with_logits";
            return new Tensor(Enumerable.Range(0, count).Select(_ => binary ? random.Next(2) : (float)Normal(random)).ToArray(), shape);
        }
        return description.Inputs.Select(t => Make(t, false)).Concat(description.Labels.Select(t => Make(t, true))).ToArray();
    }

    /// <summary>The table size of an embedding layer, from its description's attributes (<c>num=8192, dim=64</c>).</summary>
    private static int EmbeddingRows(string attributes) =>
        int.Parse(attributes.Split(',').Select(a => a.Trim()).First(a => a.StartsWith("num=", StringComparison.Ordinal))["num=".Length..], CultureInfo.InvariantCulture);

    /// <summary>
    /// One <c>ComputeGradients</c> on each backend from identical parameters (same seed, same step, so the same dropout
    /// masks), then every planned buffer (activations, gradients, what a layer saves for its backward) and every
    /// parameter gradient, compared. A layer's working memory (<c>*_workspace</c>: conv2d columns, LSTM gates, attention
    /// statistics) is each backend's own layout and is not compared; what the backward computes from it is.
    /// </summary>
    public static void CompareKernels(object cpuModel, object gpuModel, object gpuSession, object[] batch, ParityReport report)
    {
        string name = cpuModel.GetType().Name;
        float cpuLoss = (float)Invoke(cpuModel, "ComputeGradients", batch);
        float gpuLoss = (float)Invoke(gpuSession, "ComputeGradients", batch);
        report.Compare($"{name} loss", new[] { cpuLoss }, new[] { gpuLoss }, Tolerance.Kernel);

        object cpuWorkspace = LatestWorkspace(cpuModel);
        object gpuWorkspace = LatestWorkspace(gpuSession);
        foreach (var field in gpuWorkspace.GetType().GetFields().Where(f => f.FieldType == typeof(DeviceVariable)))
        {
            if (field.Name is "LossTerms" or "LossValue") continue;
            if (field.Name is "Bf16A" or "Bf16B" or "AuxF32")
            {
                report.Info($"{name} {field.Name}: a BF16 session's staging for matrix-product operands (unused in FP32; not compared)");
                continue;
            }
            if (field.Name.EndsWith(WorkingMemorySuffix, StringComparison.Ordinal))
            {
                report.Info($"{name} {field.Name}: working memory, each backend's own layout (not compared)");
                continue;
            }
            var cpuField = cpuWorkspace.GetType().GetField(field.Name) ?? throw new InvalidOperationException($"{name}: the CPU workspace has no buffer {field.Name}");
            var device = (DeviceVariable)field.GetValue(gpuWorkspace)!;
            switch (cpuField.GetValue(cpuWorkspace))
            {
                case float[] cpu:
                {
                    var gpu = new float[device.Length];
                    device.CopyTo<float>(gpu);
                    report.Compare($"{name} {field.Name}", cpu.AsSpan(0, gpu.Length), gpu, Tolerance.Kernel);
                    break;
                }
                case int[] cpuInts:
                {
                    var gpu = new int[device.Length];
                    device.CopyTo<int>(gpu);
                    if (!cpuInts.AsSpan(0, gpu.Length).SequenceEqual(gpu)) report.Fail($"{name} {field.Name}: class ids differ");
                    break;
                }
            }
        }

        Invoke(gpuSession, "CopyToHost");
        var cpuParameters = Parameters(cpuModel);
        var gpuParameters = Parameters(gpuModel);
        for (int k = 0; k < cpuParameters.Count; k++)
        {
            report.Compare($"{name} d {cpuParameters[k].Name}", cpuParameters[k].Gradient, gpuParameters[k].Gradient, Tolerance.Kernel);
        }
    }

    /// <summary>
    /// <paramref name="steps"/> TrainSteps on each backend with the same batches; compares the loss of every step, then
    /// the parameters and the optimizer state at the end. Returns the two loss curves.
    /// </summary>
    public static (float[] Cpu, float[] Gpu) CompareTraining(object cpuModel, object gpuModel, object gpuSession, Func<int, object[]> batches, int steps, ParityReport report)
    {
        string name = cpuModel.GetType().Name;
        var cpuLosses = new float[steps];
        var gpuLosses = new float[steps];
        for (int step = 0; step < steps; step++)
        {
            var batch = batches(step);
            var cpuRefused = TryTrainStep(cpuModel, batch, out cpuLosses[step]);
            var gpuRefused = TryTrainStep(gpuSession, batch, out gpuLosses[step]);
            if (cpuRefused is null && gpuRefused is null) continue;
            // A model that diverges (the random models may) must be stopped by the non-finite check at the same step and
            // for the same reason on both backends, with nothing changed: the parameters are then compared as they were.
            if (cpuRefused is null || gpuRefused is null || cpuRefused.Step != gpuRefused.Step || cpuRefused.Source != gpuRefused.Source)
            {
                report.Fail($"{name} step {step + 1}: the non-finite check disagrees: cpu {Describe(cpuRefused, cpuLosses[step])}, gpu {Describe(gpuRefused, gpuLosses[step])}");
            }
            report.Info($"{name} step {step + 1}: both backends refused the step ({cpuRefused?.Source}): {cpuRefused?.Message}");
            steps = step;
            Array.Resize(ref cpuLosses, steps);
            Array.Resize(ref gpuLosses, steps);
            break;
        }
        report.Compare($"{name} loss of steps 1..{steps}", cpuLosses, gpuLosses, Tolerance.Training);
        Invoke(gpuSession, "CopyToHost");
        var cpuParameters = Parameters(cpuModel);
        var gpuParameters = Parameters(gpuModel);
        var adam = AdamNoiseBound(cpuModel.GetType(), steps);
        for (int k = 0; k < cpuParameters.Count; k++)
        {
            CompareValues($"{name} {cpuParameters[k].Name} after {steps} steps", cpuParameters[k], gpuParameters[k], adam, report);
            if (cpuParameters[k].State1.Length > 0) report.Compare($"{name} {cpuParameters[k].Name} state 1", cpuParameters[k].State1, gpuParameters[k].State1, Tolerance.Training);
            if (cpuParameters[k].State2.Length > 0) report.Compare($"{name} {cpuParameters[k].Name} state 2", cpuParameters[k].State2, gpuParameters[k].State2, Tolerance.Training);
        }
        return (cpuLosses, gpuLosses);
    }

    private static ModelDsl.Runtime.NonFiniteException? TryTrainStep(object target, object[] batch, out float loss)
    {
        try
        {
            loss = (float)Invoke(target, "TrainStep", batch);
            return null;
        }
        catch (ModelDsl.Runtime.NonFiniteException e)
        {
            loss = float.NaN;
            return e;
        }
    }

    private static string Describe(ModelDsl.Runtime.NonFiniteException? refused, float loss) =>
        refused is null ? $"trained on (loss {loss.ToString("R", CultureInfo.InvariantCulture)})" : $"refused at step {refused.Step} ({refused.Source})";

    /// <summary>
    /// Parameter values after training, held to <see cref="Tolerance.Training"/> with one exception. Adam's step is
    /// lr·m̂/(√v̂ + ε), so where a gradient is far below ε the step is lr·g/ε: the gradient's rounding noise times lr/ε
    /// (10⁵ at lr = 1e-3). Some gradients are exactly zero in exact arithmetic and rounding noise in floats: the key part
    /// of attention's in_proj bias (softmax ignores a constant added to every key, so Σ_j dS_ij = 0 for every query).
    /// An element beyond the tolerance whose last gradient is below ε on both backends is held instead to the most Adam
    /// can move a parameter, 2·lr per step, and listed on a line of its own with the elements' index range.
    /// </summary>
    private static void CompareValues(string what, Parameter cpu, Parameter gpu, (float Epsilon, double Bound)? adam, ParityReport report)
    {
        var excused = new List<int>();
        if (adam is { } noise)
        {
            var tolerance = Tolerance.Training;
            for (int i = 0; i < cpu.Value.Length; i++)
            {
                double diff = Math.Abs((double)gpu.Value[i] - cpu.Value[i]);
                bool beyond = diff > tolerance.Absolute + tolerance.Relative * Math.Abs(cpu.Value[i]);
                bool atNoise = Math.Abs(cpu.Gradient[i]) < noise.Epsilon && Math.Abs(gpu.Gradient[i]) < noise.Epsilon;
                if (beyond && atNoise && diff <= noise.Bound) excused.Add(i);
            }
        }
        if (excused.Count == 0)
        {
            report.Compare(what, cpu.Value, gpu.Value, Tolerance.Training);
            return;
        }
        var rest = Enumerable.Range(0, cpu.Value.Length).Except(excused).ToArray();
        report.Compare(what, rest.Select(i => cpu.Value[i]).ToArray(), rest.Select(i => gpu.Value[i]).ToArray(), Tolerance.Training);
        double worst = excused.Max(i => Math.Abs((double)gpu.Value[i] - cpu.Value[i]));
        report.Info($"{what}: {excused.Count} elements (indices {excused[0]}..{excused[^1]}) with |gradient| < Adam's ε on both backends, "
            + $"moved by rounding noise: max |Δ| {worst:0.0e+00} ≤ 2·lr·steps = {adam!.Value.Bound:0.0e+00}");
    }

    /// <summary>For an Adam-family model: its ε, and 2·lr·steps, the most Adam moves a parameter in that many steps.</summary>
    private static (float Epsilon, double Bound)? AdamNoiseBound(Type modelType, int steps)
    {
        var description = (ModelDescription)modelType.GetProperty("Description", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        if (description.Optimizer is not ("adam" or "adamw")) return null;
        double Hyper(string key) => description.OptimizerHyperparameters.First(p => p.Key == key).Value;
        return ((float)Hyper("eps"), 2 * Hyper("lr") * steps);
    }

    /// <summary>Median milliseconds of one TrainStep on <paramref name="target"/> (a model or a GPU session) after warm-up.</summary>
    public static double TimeTrainStep(object target, object[] batch, int warmup, int repetitions, Action? synchronize = null)
    {
        for (int i = 0; i < warmup; i++) Invoke(target, "TrainStep", batch);
        var times = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            Invoke(target, "TrainStep", batch);
            synchronize?.Invoke();
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[repetitions / 2];
    }

    public static object Invoke(object target, string method, params object[] arguments)
    {
        // By the arguments' types: ToGpu(context) and ToGpu(context, precision) are overloads.
        var info = target.GetType().GetMethod(method, BindingFlags.Public | BindingFlags.Instance, null, Array.ConvertAll(arguments, a => a.GetType()), null)
            ?? throw new InvalidOperationException($"{target.GetType().Name} has no method {method}");
        try
        {
            return info.Invoke(target, arguments)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static IReadOnlyList<Parameter> Parameters(object model) =>
        (IReadOnlyList<Parameter>)model.GetType().GetProperty("Parameters")!.GetValue(model)!;

    /// <summary>
    /// The most recently used workspace of a generated model (its one <c>_workspace</c>, whose buffers may be longer than
    /// the last call needs: compared over the GPU buffer's length) or GPU session (its private <c>_workspaces[0]</c>).
    /// </summary>
    private static object LatestWorkspace(object owner)
    {
        if (owner.GetType().GetField("_workspace", BindingFlags.NonPublic | BindingFlags.Instance) is { } one)
            return one.GetValue(owner) ?? throw new InvalidOperationException($"{owner.GetType().Name} has no workspace");
        var field = owner.GetType().GetField("_workspaces", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException($"{owner.GetType().Name} has no _workspaces field");
        return ((Array)field.GetValue(owner)!).GetValue(0) ?? throw new InvalidOperationException($"{owner.GetType().Name} has not run yet");
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
