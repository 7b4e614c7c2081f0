using System.Diagnostics;
using System.Globalization;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace GpuBench;

/// <summary>
/// The gpt2 row of bench/gpu_compare.sh, ModelDsl's half: training steps of bench/models/gpt2_small.model (GPT-2 124M:
/// 12 layers, d = 768, 12 heads of 64, T = 1024, vocabulary 50,257, tied head) or, for <c>--check</c>,
/// bench/models/gpt2_check.model (the same blocks at sizes the emulator runs), in FP32, TF32 and BF16.
/// </summary>
/// <remarks>
/// Method, the same as bench/pytorch/gpt2.py's: fixed random token ids and targets (uniform over the vocabulary), then
/// <c>warmup</c> TrainSteps untimed and <c>steps</c> timed one by one (TrainStep copies the batch in and reads the loss
/// back, so each step ends synchronised, as a training loop that logs its loss); the median, fastest and slowest step.
/// Peak memory is <see cref="GpuContext.PeakDeviceBytes"/> from before the session is made to after the last step:
/// parameters, gradients, optimizer state, activations and workspaces.
/// Two lines per configuration, read by bench/pytorch/gpt2_table.py:
///   GPT2 impl row.config batch T parameters layers heads head_dim median_ms min_ms max_ms peak_bytes first_loss last_loss
///   GPT2GRAPH impl row.config graph_captures fallback_reason_or_-
/// (tab-separated; first_loss is the first warm-up step's, last_loss the last timed step's; the second line says whether
/// the steps replayed a CUDA graph).
/// </remarks>
internal static class Gpt2Rows
{
    /// <summary>The rows: gpt2-124m (bench/models/gpt2_small.model) and gpt2-check (bench/models/gpt2_check.model).</summary>
    public static readonly string[] Names = { "gpt2-124m", "gpt2-check" };

    /// <summary>
    /// One configuration: its name in the GPT2 lines, whether the context's GEMMs run in TF32, and the session of the
    /// model it trains. modeldsl-fp32: the generated code's default (FP32 kernels, cuBLAS FP32 GEMMs); modeldsl-tf32: the
    /// same in a <see cref="GpuPrecision.Tf32"/> session (which sets <see cref="GpuContext.Tf32"/> for its products each step); modeldsl-bf16: the model's <c>precision bf16</c> twin
    /// (gpt2_*_bf16.model: BF16 mixed precision as far as the generated code has it, attention on tensor cores among it).
    /// </summary>
    private sealed record Configuration(string Name, bool Tf32, Func<GpuContext, IDisposable> ToGpu, Func<IDisposable, IntTensor, IntTensor, float> Train);

    public static void Run(GpuContext context, string row, int batch, int warmup, int steps)
    {
        switch (row)
        {
            case "gpt2-124m":
                Run(context, row, batch, warmup, steps, vocab: 50257, length: 1024, layers: 12, heads: 12, d: 768, Gpt2Small.ParameterCount,
                    new Configuration("modeldsl-fp32", false, c => new Gpt2Small(seed: 1).ToGpu(c), (s, x, y) => ((Gpt2Small.Gpu)s).TrainStep(x, y)),
                    new Configuration("modeldsl-tf32", true, c => new Gpt2Small(seed: 1).ToGpu(c, GpuPrecision.Tf32), (s, x, y) => ((Gpt2Small.Gpu)s).TrainStep(x, y)),
                    new Configuration("modeldsl-bf16", false, c => new Gpt2SmallBf16(seed: 1).ToGpu(c), (s, x, y) => ((Gpt2SmallBf16.Gpu)s).TrainStep(x, y)));
                break;
            case "gpt2-check":
                Run(context, row, batch, warmup, steps, vocab: 512, length: 64, layers: 2, heads: 2, d: 128, Gpt2Check.ParameterCount,
                    new Configuration("modeldsl-fp32", false, c => new Gpt2Check(seed: 1).ToGpu(c), (s, x, y) => ((Gpt2Check.Gpu)s).TrainStep(x, y)),
                    new Configuration("modeldsl-tf32", true, c => new Gpt2Check(seed: 1).ToGpu(c, GpuPrecision.Tf32), (s, x, y) => ((Gpt2Check.Gpu)s).TrainStep(x, y)),
                    new Configuration("modeldsl-bf16", false, c => new Gpt2CheckBf16(seed: 1).ToGpu(c), (s, x, y) => ((Gpt2CheckBf16.Gpu)s).TrainStep(x, y)));
                break;
            default:
                throw new ArgumentException($"unknown gpt2 row '{row}': expected {string.Join(", ", Names)}", nameof(row));
        }
    }

    private static void Run(GpuContext context, string row, int batch, int warmup, int steps, int vocab, int length, int layers, int heads, int d,
        long parameters, params Configuration[] configurations)
    {
        var idx = Tokens(2, batch, length, vocab);
        var targets = Tokens(3, batch, length, vocab);
        foreach (var configuration in configurations)
        {
            context.Tf32 = configuration.Tf32;
            context.ResetPeakDeviceBytes();
            try
            {
                Time(context, row, batch, warmup, steps, length, parameters, layers, heads, d, configuration, idx, targets);
            }
            catch (CudaException e)
            {
                // One failing configuration (out of memory at this batch) must not cost the others of a one-shot GPU run.
                Console.WriteLine(string.Join('\t', "GPT2SKIP", "modeldsl", row + "." + configuration.Name, "failed: " + e.Message.ReplaceLineEndings(" ")));
                Console.Out.Flush();
            }
        }
        context.Tf32 = false;
    }

    private static void Time(GpuContext context, string row, int batch, int warmup, int steps, int length, long parameters, int layers, int heads, int d,
        Configuration configuration, IntTensor idx, IntTensor targets)
    {
        using (var session = configuration.ToGpu(context))
        {
            float first = float.NaN, last = float.NaN;
            for (int i = 0; i < warmup; i++)
            {
                last = configuration.Train(session, idx, targets);
                if (i == 0) first = last;
            }
            var times = new double[steps];
            for (int i = 0; i < steps; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                last = configuration.Train(session, idx, targets);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(times);
            string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
            Console.WriteLine(string.Join('\t', "GPT2", "modeldsl", row + "." + configuration.Name, batch, length, parameters, layers, heads, d / heads,
                F(times[steps / 2]), F(times[0]), F(times[^1]), context.PeakDeviceBytes, F(first), F(last)));
            var (captures, fallback) = Graphs(session);
            Console.WriteLine(string.Join('\t', "GPT2GRAPH", "modeldsl", row + "." + configuration.Name, captures, fallback?.ReplaceLineEndings(" ") ?? "-"));
            Console.Out.Flush();
        }
    }

    /// <summary>
    /// Whether the timed steps replayed a CUDA graph: the generated session's <c>GraphCaptures</c> (one per binding, so 1
    /// here) and <c>GraphFallbackReason</c> (null unless the step ran as plain launches; docs/cuda.md "CUDA graphs"), read by
    /// name because each configuration's session is another generated class.
    /// </summary>
    private static (int Captures, string? Fallback) Graphs(IDisposable session)
    {
        var type = session.GetType();
        return ((int)type.GetProperty("GraphCaptures")!.GetValue(session)!, (string?)type.GetProperty("GraphFallbackReason")!.GetValue(session));
    }

    /// <summary>Token ids uniform in [0, <paramref name="vocabulary"/>) from <c>new Random(seed)</c>.</summary>
    private static IntTensor Tokens(int seed, int batch, int length, int vocabulary)
    {
        var random = new Random(seed);
        var ids = new int[batch * length];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.Next(vocabulary);
        return new IntTensor(ids, batch, length);
    }
}
