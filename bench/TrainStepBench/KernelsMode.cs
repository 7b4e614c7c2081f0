using System.Diagnostics;
using System.Runtime.Intrinsics;
using ModelDsl.Runtime.Cpu;
using ModelDsl.Runtime.Cpu.Layers;

namespace TrainStepBench;

/// <summary>
/// <c>--kernels [threads]</c> (bench/compare.sh --kernels): the runtime kernels the generated CNN and GPT steps call,
/// each alone at the models' shapes, in the BENCH format; bench/pytorch/kernels.py times the PyTorch ops doing the same
/// work. Where a step's time goes, kernel by kernel (docs/benchmarks.md). Rows (µs per call):
///   gpt.k.*  one Transformer block at B·T = 1024, d 128 (the model has 4), plus the loss over [1024, 96]
///   cnn.k.*  the FashionCnn layers at batch 64
///   bert.k.* one layer of bert_classifier.model at B = 16, T = 128 (B·T = 2048, d 384, 12 heads, ffn 1536; the model
///            has 6): each GEMM shape alone (fwd Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X), attention with the key padding mask,
///            erf gelu, layer_norm
/// The elementwise passes (gelu, the tanh form as bench/pytorch/kernels.py times it) are written as the generated code
/// writes them: bias add fused, Vector256.
/// </summary>
internal static class KernelsMode
{
    /// <param name="filter">When given, only the rows whose name contains it (e.g. <c>pool</c>).</param>
    public static void Run(int threads, string? filter = null)
    {
        CpuWorkers.Configure(threads);
        Timing.Info("modeldsl", $"threads={CpuWorkers.ThreadCount} kernels");
        var rows = new List<(string Name, Action Call)>();
        Gpt(rows);
        Cnn(rows);
        Bert(rows);
        if (filter is not null) rows.RemoveAll(row => !row.Name.Contains(filter, StringComparison.Ordinal));
        // Warm every kernel up together first (tiered JIT), then time each as CompareMode does.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 3) foreach (var (_, call) in rows) call();
        foreach (var (name, call) in rows) Timing.Emit("modeldsl", name, "us", Timing.Time(call));
    }

    private static void Gpt(List<(string, Action)> rows)
    {
        const int n = 1024, d = 128, ff = 512, heads = 4, batch = 16, steps = 64, vocab = 96;
        // The block's four projections [out, in]: qkv, out_proj, fc1, fc2.
        (int Out, int In)[] dense = { (3 * d, d), (d, d), (ff, d), (d, ff) };
        var x = dense.Select(p => Fill(n * p.In, 1)).ToArray();
        var w = dense.Select(p => Fill(p.Out * p.In, 2)).ToArray();
        var y = dense.Select(p => new float[n * p.Out]).ToArray();
        var dy = dense.Select(p => Fill(n * p.Out, 3)).ToArray();
        var dw = dense.Select(p => new float[p.Out * p.In]).ToArray();
        var dx = dense.Select(p => new float[n * p.In]).ToArray();
        rows.Add(("gpt.k.dense-fwd", () =>
        {
            for (int i = 0; i < dense.Length; i++)
                Sgemm.Multiply(false, true, n, dense[i].Out, dense[i].In, 1f, x[i], dense[i].In, w[i], dense[i].In, 0f, y[i], dense[i].Out);
        }));
        rows.Add(("gpt.k.dense-bwd", () =>
        {
            for (int i = 0; i < dense.Length; i++)
            {
                var (o, k) = dense[i];
                Sgemm.Multiply(true, false, o, k, n, 1f, dy[i], o, x[i], k, 0f, dw[i], k);
                Sgemm.Multiply(false, false, n, k, o, 1f, dy[i], o, w[i], k, 0f, dx[i], k);
            }
        }));

        var qkv = Fill(n * 3 * d, 4);
        var context = new float[n * d];
        var dContext = Fill(n * d, 5);
        var dqkv = new float[n * 3 * d];
        var workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        rows.Add(("gpt.k.attention-fwd", () => Attention.Forward(batch, steps, heads, d / heads, causal: true,
            qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), 3 * d, context, workspace)));
        rows.Add(("gpt.k.attention-bwd", () => Attention.Backward(batch, steps, heads, d / heads, causal: true,
            qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), 3 * d, dContext, workspace, dqkv, dqkv.AsSpan(d), dqkv.AsSpan(2 * d))));

        // fc1's bias + gelu (forward keeps the pre-activation for the backward), and its backward with the bias gradient.
        var pre = Fill(n * ff, 6);
        var bias = Fill(ff, 7);
        var act = new float[n * ff];
        var dAct = Fill(n * ff, 8);
        var dPre = new float[n * ff];
        var dBias = new float[ff];
        rows.Add(("gpt.k.gelu-fwd", () =>
        {
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < ff; c += Vector256<float>.Count)
                {
                    int i = r * ff + c;
                    var v = Vector256.Create(pre, i) + Vector256.Create(bias, c);
                    v.CopyTo(pre, i);
                    Activations.GeluTanh(v).CopyTo(act, i);
                }
            }
        }));
        rows.Add(("gpt.k.gelu-bwd", () =>
        {
            Array.Clear(dBias);
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < ff; c += Vector256<float>.Count)
                {
                    int i = r * ff + c;
                    var g = Vector256.Create(dAct, i) * Activations.GeluTanhGrad(Vector256.Create(pre, i));
                    g.CopyTo(dPre, i);
                    (Vector256.Create(dBias, c) + g).CopyTo(dBias, c);
                }
            }
        }));

        LayerNormRows(rows, "gpt", n, d, 1e-5f);

        var logits = Fill(n * vocab, 13);
        var labels = Enumerable.Range(0, n).Select(i => i * 7 % vocab).ToArray();
        var dLogits = new float[n * vocab];
        rows.Add(("gpt.k.loss", () => Reductions.SoftmaxCrossEntropy(logits, labels, n, vocab, dLogits)));
    }

    private static void Bert(List<(string, Action)> rows)
    {
        const int batch = 16, steps = 128, n = batch * steps, d = 384, ff = 1536, heads = 12;
        foreach (var (name, outF, inF) in new[] { ("qkv", 3 * d, d), ("out", d, d), ("ff0", ff, d), ("ff2", d, ff) })
        {
            var x = Fill(n * inF, 1); var w = Fill(outF * inF, 2); var y = new float[n * outF];
            var dy = Fill(n * outF, 3); var dw = new float[outF * inF]; var dx = new float[n * inF];
            rows.Add(($"bert.k.{name}-fwd", () => Sgemm.Multiply(false, true, n, outF, inF, 1f, x, inF, w, inF, 0f, y, outF)));
            rows.Add(($"bert.k.{name}-dx", () => Sgemm.Multiply(false, false, n, inF, outF, 1f, dy, outF, w, inF, 0f, dx, inF)));
            rows.Add(($"bert.k.{name}-dw", () => Sgemm.Multiply(true, false, outF, inF, n, 1f, dy, outF, x, inF, 0f, dw, inF)));
        }

        var qkv = Fill(n * 3 * d, 4);
        var context = new float[n * d];
        var dContext = Fill(n * d, 5);
        var dqkv = new float[n * 3 * d];
        var workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var mask = Enumerable.Repeat(1, n).ToArray();
        rows.Add(("bert.k.attention-fwd", () => Attention.Forward(batch, steps, heads, d / heads, causal: false,
            qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), 3 * d, context, workspace, maskIds: mask)));
        rows.Add(("bert.k.attention-bwd", () => Attention.Backward(batch, steps, heads, d / heads, causal: false,
            qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), 3 * d, dContext, workspace, dqkv, dqkv.AsSpan(d), dqkv.AsSpan(2 * d), maskIds: mask)));

        // ff0's bias + erf gelu and its backward with the bias gradient, as the generated loops do.
        var pre = Fill(n * ff, 6);
        var bias = Fill(ff, 7);
        var act = new float[n * ff];
        var dAct = Fill(n * ff, 8);
        var dPre = new float[n * ff];
        var dBias = new float[ff];
        rows.Add(("bert.k.gelu-fwd", () =>
        {
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < ff; c += Vector256<float>.Count)
                {
                    int i = r * ff + c;
                    var v = Vector256.Create(pre, i) + Vector256.Create(bias, c);
                    v.CopyTo(pre, i);
                    Activations.Gelu(v).CopyTo(act, i);
                }
            }
        }));
        rows.Add(("bert.k.gelu-bwd", () =>
        {
            Array.Clear(dBias);
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < ff; c += Vector256<float>.Count)
                {
                    int i = r * ff + c;
                    var g = Vector256.Create(dAct, i) * Activations.GeluGrad(Vector256.Create(pre, i));
                    g.CopyTo(dPre, i);
                    (Vector256.Create(dBias, c) + g).CopyTo(dBias, c);
                }
            }
        }));

        LayerNormRows(rows, "bert", n, d, 1e-12f);
    }

    /// <summary>layer_norm forward and backward over n rows of d, the rows <paramref name="prefix"/>.k.layer_norm-fwd/-bwd.</summary>
    private static void LayerNormRows(List<(string, Action)> rows, string prefix, int n, int d, float eps)
    {
        var lnX = Fill(n * d, 9);
        var lnW = Fill(d, 10);
        var lnB = Fill(d, 11);
        var lnY = new float[n * d];
        var mean = new float[n];
        var rstd = new float[n];
        var lnDy = Fill(n * d, 12);
        var lnDx = new float[n * d];
        var lnDw = new float[d];
        var lnDb = new float[d];
        rows.Add(($"{prefix}.k.layer_norm-fwd", () => LayerNorm.Forward(n, d, lnX, lnW, lnB, lnY, mean, rstd, eps)));
        rows.Add(($"{prefix}.k.layer_norm-bwd", () => LayerNorm.Backward(n, d, lnX, lnW, mean, rstd, lnDy, lnDx, lnDw, lnDb)));
    }

    private static void Cnn(List<(string, Action)> rows)
    {
        const int batch = 64;
        foreach (var (name, g) in new[]
        {
            ("conv1", new Conv2dGeometry(batch, 1, 28, 28, 32, 3, 1, 1)),
            ("conv2", new Conv2dGeometry(batch, 32, 14, 14, 64, 3, 1, 1)),
        })
        {
            var x = Fill(g.Batch * g.InChannels * g.Height * g.Width, 1);
            var w = Fill(g.WeightLength, 2);
            var b = Fill(g.OutChannels, 3);
            var y = new float[g.Batch * g.OutChannels * g.OutPlane];
            var dy = Fill(y.Length, 4);
            var dx = new float[x.Length];
            var dw = new float[w.Length];
            var db = new float[b.Length];
            var workspace = new float[Conv2d.WorkspaceSize(g)];
            bool input = g.InChannels == 1; // the first convolution reads the model input: no input gradient
            rows.Add(($"cnn.k.{name}-fwd", () => Conv2d.Forward(g, x, w, b, y, workspace)));
            rows.Add(($"cnn.k.{name}-bwd", () => Conv2d.Backward(g, x, w, dy, input ? Span<float>.Empty : dx, dw, db, workspace)));
        }

        foreach (var (name, channels, size) in new[] { ("pool1", 32, 28), ("pool2", 64, 14) })
        {
            var g = new Pool2dGeometry(batch, channels, size, size, 2, 2, 0);
            var x = Fill(batch * channels * size * size, 5);
            for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f); // after relu, as in the model
            var y = new float[g.OutputLength];
            var indices = new int[g.OutputLength];
            var dy = Fill(g.OutputLength, 6);
            var dx = new float[x.Length];
            rows.Add(($"cnn.k.{name}-fwd", () => MaxPool2d.Forward(g, x, y, indices)));
            rows.Add(($"cnn.k.{name}-bwd", () => MaxPool2d.Backward(g, dy, indices, dx)));
        }

        // dense(128) on the flattened [64, 3136]: forward, weight gradient, input gradient.
        const int inF = 3136, outF = 128;
        var dx1 = Fill(batch * inF, 7);
        var w1 = Fill(outF * inF, 8);
        var y1 = new float[batch * outF];
        var dy1 = Fill(batch * outF, 9);
        var dw1 = new float[outF * inF];
        var dxOut = new float[batch * inF];
        rows.Add(("cnn.k.dense-fwd+bwd", () =>
        {
            Sgemm.Multiply(false, true, batch, outF, inF, 1f, dx1, inF, w1, inF, 0f, y1, outF);
            Sgemm.Multiply(true, false, outF, inF, batch, 1f, dy1, outF, dx1, inF, 0f, dw1, inF);
            Sgemm.Multiply(false, false, batch, inF, outF, 1f, dy1, outF, w1, inF, 0f, dxOut, inF);
        }));
    }

    /// <summary>Uniform [-0.5, 0.5) from <c>new Random(seed)</c>.</summary>
    private static float[] Fill(int n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() - 0.5);
        return x;
    }
}
