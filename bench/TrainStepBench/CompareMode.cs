using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;

namespace TrainStepBench;

/// <summary>
/// The ModelDsl half of bench/compare.sh. Prints one line per measurement:
/// <c>BENCH&lt;TAB&gt;modeldsl&lt;TAB&gt;name&lt;TAB&gt;unit&lt;TAB&gt;median&lt;TAB&gt;min&lt;TAB&gt;max</c>, unit <c>us</c> (per call,
/// lower is better) or <c>gflops</c> (higher is better); bench/pytorch/compare.py prints the same lines.
/// Method (every side): warm-up, then 7 repetitions of a block of calls sized to ~0.25 s; the median block (<see cref="Timing"/>).
/// </summary>
internal static class CompareMode
{
    /// <summary>The model names <c>--models</c> accepts, in the order they run (bench/pytorch/compare.py takes the same).</summary>
    public static readonly string[] Models = { "mlp", "small", "cnn", "gpt", "sgemm", "bert" };

    /// <summary>Runs every model, or those in <paramref name="only"/> when it is not empty.</summary>
    public static void Run(int threads, IReadOnlySet<string> only)
    {
        foreach (var name in only)
        {
            if (Array.IndexOf(Models, name) < 0) throw new ArgumentException($"unknown model '{name}' (expected {string.Join(", ", Models)})");
        }
        CpuWorkers.Configure(threads);
        Timing.Info("modeldsl", $"threads={CpuWorkers.ThreadCount} cores={Environment.ProcessorCount} runtime={System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        bool Selected(string name) => only.Count == 0 || only.Contains(name);
        if (Selected("mlp")) Mlp();
        if (Selected("small")) Small();
        if (Selected("cnn")) Cnn();
        if (Selected("gpt")) Gpt();
        if (Selected("sgemm")) SgemmAndPeak();
        if (Selected("bert"))
        {
            BertBench.Run();
            // The bert row's share of the peak needs the peak FMA rate, measured here when sgemm did not run.
            if (!Selected("sgemm")) Peak();
        }
    }

    // Rows of every model m: m (TrainStep: forward with dropout, loss, backward, optimizer), m.forward (no gradients,
    // dropout off), m.fwd+bwd (forward, loss, backward) and m.opt (the optimizer step alone); bench/GpuBench uses the same.

    /// <summary>MLP 784-256-256-10, batch 128, cross-entropy, Adam(lr 1e-3); with inference rows and its 8 GEMMs.</summary>
    private static void Mlp()
    {
        var mlp = new BenchMlp(seed: 1);
        var mx = Uniform(1, 128, 784);
        var my = Classes(128, 10);
        Emit("mlp", "us", Time(() => mlp.TrainStep(mx, my)));
        NonFiniteOverhead();
        Emit("mlp.forward", "us", Time(() => mlp.Forward(mx)));
        // Inference, also against ONNX Runtime (OnnxRuntimeMode): Predict is Forward plus the argmax of each row.
        var mx1 = new Tensor(mx.Data.AsSpan(0, 784).ToArray(), 1, 784);
        Emit("mlp.predict", "us", Time(() => mlp.Predict(mx)));
        Emit("mlp.forward-b1", "us", Time(() => mlp.Forward(mx1)));
        Emit("mlp.predict-b1", "us", Time(() => mlp.Predict(mx1)));
        Emit("mlp.fwd+bwd", "us", Time(() => mlp.ComputeGradients(mx, my)));
        Emit("mlp.opt", "us", Time(mlp.ApplyGradients));
        var gemms = MlpGemms();
        Emit("mlp.gemms", "us", Time(() => { foreach (var g in gemms) g(); }));
    }

    /// <summary>
    /// The cost of the non-finite checks (docs/training.md, "Non-finite values") on the MLP step: two instances, one with
    /// <c>CheckFinite = false</c>, timed in interleaved blocks. Rows <c>mlp.checked</c> and <c>mlp.unchecked</c>, and an INFO
    /// line with the overhead of the medians (goal of issue 17: at most 3%).
    /// </summary>
    public static void NonFiniteOverhead()
    {
        var on = new BenchMlp(seed: 1);
        var off = new BenchMlp(seed: 1) { CheckFinite = false };
        var mx = Uniform(1, 128, 784);
        var my = Classes(128, 10);
        var (a, b) = Timing.TimePair(() => on.TrainStep(mx, my), () => off.TrainStep(mx, my));
        Emit("mlp.checked", "us", a);
        Emit("mlp.unchecked", "us", b);
        double overhead = a[a.Length / 2] / b[b.Length / 2] - 1;
        Timing.Info("modeldsl", string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"non-finite checks on the mlp step: {overhead * 100:+0.0;-0.0}% (median {a[a.Length / 2] * 1e6:F1} µs checked vs {b[b.Length / 2] * 1e6:F1} µs unchecked, interleaved blocks)"));
    }

    /// <summary>10-64-64-1, batch 32, BCE with logits, Adam(lr 1e-3).</summary>
    private static void Small()
    {
        var small = new BenchSmall(seed: 1);
        var sx = Uniform(1, 32, 10);
        var sy = new Tensor(Enumerable.Range(0, 32).Select(i => (float)(i % 2)).ToArray(), 32, 1);
        Emit("small", "us", Time(() => small.TrainStep(sx, sy)));
        Emit("small.forward", "us", Time(() => small.Forward(sx)));
        Emit("small.fwd+bwd", "us", Time(() => small.ComputeGradients(sx, sy)));
        Emit("small.opt", "us", Time(small.ApplyGradients));
    }

    /// <summary>examples/FashionMnist/fashion_cnn.model at batch 64: two conv2d+relu+max_pool2d, dense(128), dropout(0.25), dense(10); Adam(lr 1e-3).</summary>
    private static void Cnn()
    {
        var (cnn, x, y) = CnnSetup();
        Emit("cnn", "us", Time(() => cnn.TrainStep(x, y)));
        Emit("cnn.forward", "us", Time(() => cnn.Forward(x)));
        Emit("cnn.fwd+bwd", "us", Time(() => cnn.ComputeGradients(x, y)));
        Emit("cnn.opt", "us", Time(cnn.ApplyGradients));
    }

    /// <summary>examples/CharGpt/char_gpt.model at batch 16, T = 64: 4 pre-norm blocks, d 128, 4 heads; AdamW(lr 1e-3, betas (0.9, 0.95), weight decay 0.1).</summary>
    private static void Gpt()
    {
        var (gpt, idx, targets) = GptSetup();
        Emit("gpt", "us", Time(() => gpt.TrainStep(idx, targets)));
        Emit("gpt.forward", "us", Time(() => gpt.Forward(idx)));
        Emit("gpt.fwd+bwd", "us", Time(() => gpt.ComputeGradients(idx, targets)));
        Emit("gpt.opt", "us", Time(gpt.ApplyGradients));
    }

    /// <summary>One training step (or forward pass) of the MLP as <see cref="Mlp"/> times it (for <c>--train-loop</c> under a profiler).</summary>
    public static Action MlpStep(bool forwardOnly)
    {
        var mlp = new BenchMlp(seed: 1);
        var x = Uniform(1, 128, 784);
        var y = Classes(128, 10);
        return forwardOnly ? () => mlp.Forward(x) : () => mlp.TrainStep(x, y);
    }

    /// <summary>One training step (or forward pass) of the CNN as <see cref="Cnn"/> times it (for <c>--train-loop</c> under a profiler).</summary>
    public static Action CnnStep(bool forwardOnly)
    {
        var (cnn, x, y) = CnnSetup();
        return forwardOnly ? () => cnn.Forward(x) : () => cnn.TrainStep(x, y);
    }

    /// <summary>One training step (or forward pass) of the GPT as <see cref="Gpt"/> times it (for <c>--train-loop</c> under a profiler).</summary>
    public static Action GptStep(bool forwardOnly)
    {
        var (gpt, idx, targets) = GptSetup();
        return forwardOnly ? () => gpt.Forward(idx) : () => gpt.TrainStep(idx, targets);
    }

    private static (FashionCnn, Tensor, IntTensor) CnnSetup() => (new FashionCnn(seed: 1), Uniform(1, 64, 1, 28, 28), Classes(64, 10));

    private static (CharGpt, IntTensor, IntTensor) GptSetup()
    {
        var random = new Random(4);
        var idx = new IntTensor(Enumerable.Range(0, 16 * 64).Select(_ => random.Next(96)).ToArray(), 16, 64);
        var targets = new IntTensor(Enumerable.Range(0, 16 * 64).Select(_ => random.Next(96)).ToArray(), 16, 64);
        return (new CharGpt(seed: 1), idx, targets);
    }

    /// <summary>
    /// SGEMM 1024³ (NN), C = A·B, checked against a float64 reference (so a wrong fast kernel cannot win), and the
    /// ceiling: the peak FP32 FMA rate of one core with the widest vectors the machine has (<c>peak-fma-per-core</c>),
    /// and with 256-bit and 512-bit FMAs each (always single-threaded).
    /// </summary>
    private static void SgemmAndPeak()
    {
        const int n = 1024;
        var a = Fill(n * n, 1); var b = Fill(n * n, 2); var c = new float[n * n];
        Timing.Info("modeldsl", $"sgemm kernel path={Sgemm.ActivePath} ({Sgemm.IsaVariable}={Environment.GetEnvironmentVariable(Sgemm.IsaVariable) ?? "unset"}; Avx512F={Avx512F.IsSupported} Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated})");
        var t = Time(() => Sgemm.Multiply(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n));
        double error = ReferenceError(a, b, c, n);
        Timing.Info("modeldsl", $"sgemm-1024 max |C - C_float64| / max |C_float64| over 64 rows = {error:G3}");
        if (!(error <= 1e-5)) throw new InvalidOperationException($"sgemm-1024: result differs from the float64 reference by {error:G3} (relative); not reporting its speed.");
        Emit("sgemm-1024", "gflops", ToGflops(2.0 * n * n * n, t));
        Peak();
    }

    /// <summary>The peak FP32 FMA rate of one core: with 256-bit and 512-bit FMAs, and the widest (<c>peak-fma-per-core</c>).</summary>
    private static void Peak()
    {
        const long iterations = 4_000_000;
        double[]? widest = null;
        if (Fma.IsSupported)
        {
            var p = ToGflops(iterations * 12.0 * 8 * 2, Time(() => FmaLoop256(iterations)));
            Emit("peak-fma-avx2-per-core", "gflops", p);
            widest = p;
        }
        if (Avx512F.IsSupported)
        {
            var p = ToGflops(iterations * 12.0 * 16 * 2, Time(() => FmaLoop512(iterations)));
            Emit("peak-fma-avx512-per-core", "gflops", p);
            widest = p;
        }
        if (widest != null) Emit("peak-fma-per-core", "gflops", widest);
    }

    /// <summary>Largest |C − A·B| over 64 spread rows, computed in float64, relative to the largest |A·B| there.</summary>
    private static double ReferenceError(float[] a, float[] b, float[] c, int n)
    {
        double worst = 0, scale = 0;
        var row = new double[n];
        for (int i = 0; i < n; i += n / 64)
        {
            Array.Clear(row);
            for (int p = 0; p < n; p++)
            {
                double av = a[i * n + p];
                for (int j = 0; j < n; j++) row[j] += av * b[p * n + j];
            }
            for (int j = 0; j < n; j++)
            {
                worst = Math.Max(worst, Math.Abs(c[i * n + j] - row[j]));
                scale = Math.Max(scale, Math.Abs(row[j]));
            }
        }
        return worst / scale;
    }

    /// <summary>The GEMMs of one MLP step as the generated code issues them (dense: Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X).</summary>
    private static List<Action> MlpGemms()
    {
        const int batch = 128;
        int[] widths = { 784, 256, 256, 10 };
        var list = new List<Action>();
        for (int l = 0; l < 3; l++)
        {
            int inF = widths[l], outF = widths[l + 1];
            var x = Fill(batch * inF, 3); var w = Fill(outF * inF, 4); var y = new float[batch * outF];
            var dy = Fill(batch * outF, 5); var dx = new float[batch * inF]; var dw = new float[outF * inF];
            list.Add(() => Sgemm.Multiply(false, true, batch, outF, inF, 1f, x, inF, w, inF, 0f, y, outF));
            list.Add(() => Sgemm.Multiply(true, false, outF, inF, batch, 1f, dy, outF, x, inF, 0f, dw, inF));
            if (l > 0) list.Add(() => Sgemm.Multiply(false, false, batch, inF, outF, 1f, dy, outF, w, inF, 0f, dx, inF));
        }
        return list;
    }

    // 12 independent accumulators: enough to cover the FMA latency (4 cycles) of 2 FMA pipes (8 in flight) with room.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float FmaLoop256(long iterations)
    {
        var m = Vector256.Create(0.9999999f);
        var k = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, k); a1 = Fma.MultiplyAdd(a1, m, k); a2 = Fma.MultiplyAdd(a2, m, k);
            a3 = Fma.MultiplyAdd(a3, m, k); a4 = Fma.MultiplyAdd(a4, m, k); a5 = Fma.MultiplyAdd(a5, m, k);
            a6 = Fma.MultiplyAdd(a6, m, k); a7 = Fma.MultiplyAdd(a7, m, k); a8 = Fma.MultiplyAdd(a8, m, k);
            a9 = Fma.MultiplyAdd(a9, m, k); a10 = Fma.MultiplyAdd(a10, m, k); a11 = Fma.MultiplyAdd(a11, m, k);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector256.Sum(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float FmaLoop512(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var k = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, k); a1 = Avx512F.FusedMultiplyAdd(a1, m, k); a2 = Avx512F.FusedMultiplyAdd(a2, m, k);
            a3 = Avx512F.FusedMultiplyAdd(a3, m, k); a4 = Avx512F.FusedMultiplyAdd(a4, m, k); a5 = Avx512F.FusedMultiplyAdd(a5, m, k);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, k); a7 = Avx512F.FusedMultiplyAdd(a7, m, k); a8 = Avx512F.FusedMultiplyAdd(a8, m, k);
            a9 = Avx512F.FusedMultiplyAdd(a9, m, k); a10 = Avx512F.FusedMultiplyAdd(a10, m, k); a11 = Avx512F.FusedMultiplyAdd(a11, m, k);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector512.Sum(s);
    }

    private static double[] Time(Action call) => Timing.Time(call);
    private static double[] Time(Func<float> call) => Timing.Time(() => { call(); });
    private static double[] Time(Func<Tensor> call) => Timing.Time(() => { call(); });
    private static double[] Time(Func<IntTensor> call) => Timing.Time(() => { call(); });
    private static double[] ToGflops(double flops, double[] seconds) => Timing.ToGflops(flops, seconds);
    private static void Emit(string name, string unit, double[] sorted) => Timing.Emit("modeldsl", name, unit, sorted);

    /// <summary>Uniform [0, 1) from <c>new Random(seed)</c>.</summary>
    private static Tensor Uniform(int seed, params int[] shape)
    {
        var random = new Random(seed);
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)random.NextDouble();
        return new Tensor(data, shape);
    }

    /// <summary>Row i is class i mod <paramref name="classes"/>.</summary>
    private static IntTensor Classes(int rows, int classes) => new(Enumerable.Range(0, rows).Select(i => i % classes).ToArray(), rows);

    private static float[] Fill(int n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() - 0.5);
        return x;
    }
}
