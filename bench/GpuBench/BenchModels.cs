using ModelDsl.Cuda;
using ModelDsl.Runtime;
using TrainStepBench;

namespace GpuBench;

/// <summary>
/// One benchmark model: its name in the BENCH lines, and how to time its rows on a context. The shapes, batches, data
/// and optimizers are those of bench/pytorch/compare.py (and of bench/TrainStepBench on the CPU).
/// </summary>
internal sealed record BenchModel(string Name, Action<GpuContext> Run);

internal static class BenchModels
{
    public static IReadOnlyList<BenchModel> All { get; } = new[]
    {
        // MLP 784-256-256-10, batch 128, cross-entropy, Adam(lr 1e-3).
        new BenchModel("mlp", context =>
        {
            using var gpu = new BenchMlp(seed: 1).ToGpu(context);
            var x = Uniform(1, 128, 784);
            var y = Classes(128, 10);
            Rows(context, "mlp", () => gpu.TrainStep(x, y), () => gpu.ComputeGradients(x, y), gpu.ApplyGradients, () => gpu.Forward(x), on => gpu.UseGraphs = on);
        }),
        // 10-64-64-1, batch 32, BCE with logits, Adam(lr 1e-3).
        new BenchModel("small", context =>
        {
            using var gpu = new BenchSmall(seed: 1).ToGpu(context);
            var x = Uniform(1, 32, 10);
            var y = new Tensor(Enumerable.Range(0, 32).Select(i => (float)(i % 2)).ToArray(), 32, 1);
            Rows(context, "small", () => gpu.TrainStep(x, y), () => gpu.ComputeGradients(x, y), gpu.ApplyGradients, () => gpu.Forward(x), on => gpu.UseGraphs = on);
        }),
        // The Fashion-MNIST CNN of examples/FashionMnist/fashion_cnn.model, batch 64, Adam.
        new BenchModel("cnn", context =>
        {
            using var gpu = new FashionCnn(seed: 1).ToGpu(context);
            var x = Uniform(1, 64, 1, 28, 28);
            var y = Classes(64, 10);
            Rows(context, "cnn", () => gpu.TrainStep(x, y), () => gpu.ComputeGradients(x, y), gpu.ApplyGradients, () => gpu.Forward(x), on => gpu.UseGraphs = on);
        }),
        // The character-level GPT of examples/CharGpt/char_gpt.model, batch 16 × 64 tokens, AdamW.
        new BenchModel("gpt", context =>
        {
            using var gpu = new CharGpt(seed: 1).ToGpu(context);
            var idx = Tokens(2, 16, 64, 96);
            var targets = Tokens(3, 16, 64, 96);
            Rows(context, "gpt", () => gpu.TrainStep(idx, targets), () => gpu.ComputeGradients(idx, targets), gpu.ApplyGradients, () => gpu.Forward(idx), on => gpu.UseGraphs = on);
        }),
    };

    /// <summary>
    /// The model's rows with the session's default, a CUDA graph of the step (<c>UseGraphs</c>; docs/cuda.md), then
    /// <c>m.nographs</c>: TrainStep with every kernel launched from the host, as before graphs.
    /// </summary>
    private static void Rows(GpuContext context, string name, Func<float> trainStep, Func<float> gradients, Action optimizer, Func<Tensor> forward, Action<bool> useGraphs)
    {
        Timing.Emit("modeldsl", name, "us", Timing.Time(() => trainStep(), context.Synchronize));
        Timing.Emit("modeldsl", name + ".fwd+bwd", "us", Timing.Time(() => gradients(), context.Synchronize));
        Timing.Emit("modeldsl", name + ".opt", "us", Timing.Time(optimizer, context.Synchronize));
        Timing.Emit("modeldsl", name + ".forward", "us", Timing.Time(() => forward(), context.Synchronize));
        useGraphs(false);
        Timing.Emit("modeldsl", name + ".nographs", "us", Timing.Time(() => trainStep(), context.Synchronize));
        useGraphs(true);
    }

    /// <summary>Uniform [0, 1) from <c>new Random(seed)</c>.</summary>
    private static Tensor Uniform(int seed, params int[] shape)
    {
        var random = new Random(seed);
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)random.NextDouble();
        return new Tensor(data, shape);
    }

    /// <summary>Token ids uniform in [0, <paramref name="vocabulary"/>) from <c>new Random(seed)</c>.</summary>
    private static IntTensor Tokens(int seed, int batch, int length, int vocabulary)
    {
        var random = new Random(seed);
        var ids = new int[batch * length];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.Next(vocabulary);
        return new IntTensor(ids, batch, length);
    }

    /// <summary>Row i is class i mod <paramref name="classes"/>.</summary>
    private static IntTensor Classes(int rows, int classes) => new(Enumerable.Range(0, rows).Select(i => i % classes).ToArray(), rows);
}
