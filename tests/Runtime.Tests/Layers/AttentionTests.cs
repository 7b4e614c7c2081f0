using System;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

public class AttentionTests
{
    private readonly ITestOutputHelper _output;

    public AttentionTests(ITestOutputHelper output) => _output = output;

    /// <summary>Scaled dot-product attention in double, element by element; q/k/v with row stride <paramref name="stride"/>.</summary>
    private static double[] Naive(int batch, int steps, int heads, int dh, bool causal, float[] q, float[] k, float[] v, int stride,
        int qOffset, int kOffset, int vOffset)
    {
        int d = heads * dh;
        var y = new double[batch * steps * d];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                {
                    var s = new double[steps];
                    double max = double.NegativeInfinity;
                    int valid = causal ? i + 1 : steps;
                    for (int j = 0; j < valid; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++)
                            dot += (double)q[qOffset + (b * steps + i) * stride + h * dh + e] * k[kOffset + (b * steps + j) * stride + h * dh + e];
                        s[j] = dot / Math.Sqrt(dh);
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < valid; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int e = 0; e < dh; e++)
                    {
                        double o = 0;
                        for (int j = 0; j < valid; j++) o += s[j] / sum * v[vOffset + (b * steps + j) * stride + h * dh + e];
                        y[(b * steps + i) * d + h * dh + e] = o;
                    }
                }
        return y;
    }

    public static TheoryData<int, int, int, int, bool> Shapes => new()
    {
        // batch, steps, heads, head dim, causal
        { 1, 1, 1, 1, false },
        { 2, 5, 2, 3, false },
        { 2, 5, 2, 3, true },
        { 3, 7, 3, 4, true },     // 9 (batch, head) pairs: uneven slots
        { 1, 6, 1, 8, true },     // one pair: the GEMMs take every thread
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardMatchesNaive(int batch, int steps, int heads, int dh, bool causal)
    {
        int d = heads * dh;
        var rng = new Random(batch * 100 + steps * 10 + heads);
        var q = GradCheck.Random(rng, batch * steps * d, 2f);
        var k = GradCheck.Random(rng, batch * steps * d, 2f);
        var v = GradCheck.Random(rng, batch * steps * d);
        var y = new float[q.Length];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, y, ws);
        GradCheck.Within(GradCheck.MaxDiff(y, Naive(batch, steps, heads, dh, causal, q, k, v, d, 0, 0, 0)), 1e-5, "attention forward");

        // The same through one fused qkv buffer [B, T, 3d], as in_proj produces it.
        var qkv = new float[batch * steps * 3 * d];
        for (int row = 0; row < batch * steps; row++)
        {
            Array.Copy(q, row * d, qkv, row * 3 * d, d);
            Array.Copy(k, row * d, qkv, row * 3 * d + d, d);
            Array.Copy(v, row * d, qkv, row * 3 * d + 2 * d, d);
        }
        var fused = new float[q.Length];
        Attention.Forward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), 3 * d, fused, ws);
        Assert.Equal(y, fused);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GradientsMatchFiniteDifferences(int batch, int steps, int heads, int dh, bool causal)
    {
        int d = heads * dh, stride = 3 * d;
        var rng = new Random(batch * 7 + steps * 3 + heads + (causal ? 1 : 0));
        // Fused layout: the gradients land in one dqkv buffer, interleaved like the input.
        var qkv = GradCheck.Random(rng, batch * steps * stride, 1.5f);
        var r = GradCheck.Random(rng, batch * steps * d);
        var y = new float[batch * steps * d];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        double Loss()
        {
            Attention.Forward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, y, ws);
            return GradCheck.Dot(y, r);
        }
        Loss();
        var dqkv = new float[qkv.Length];
        Attention.Backward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, r, ws,
            dqkv, dqkv.AsSpan(d), dqkv.AsSpan(2 * d));
        double error = GradCheck.MaxError(qkv, dqkv, Loss);
        _output.WriteLine($"attention B={batch} T={steps} heads={heads} dh={dh} causal={causal}: dq/dk/dv {error:E2}");
        GradCheck.Within(error, GradCheck.Tolerance, "attention dq/dk/dv");

        // Accumulating adds the same gradients again (P is kept by the backward, so it can run twice).
        var twice = (float[])dqkv.Clone();
        Attention.Backward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, r, ws,
            twice, twice.AsSpan(d), twice.AsSpan(2 * d), accumulate: true);
        for (int i = 0; i < twice.Length; i++) Assert.Equal(2 * dqkv[i], twice[i], 1e-5f);
    }

    [Fact]
    public void CausalOutputsDoNotDependOnLaterSteps()
    {
        const int batch = 1, steps = 6, heads = 2, dh = 4, d = heads * dh;
        var rng = new Random(12);
        var q = GradCheck.Random(rng, steps * d);
        var k = GradCheck.Random(rng, steps * d);
        var v = GradCheck.Random(rng, steps * d);
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var before = new float[steps * d];
        Attention.Forward(batch, steps, heads, dh, true, q, k, v, d, before, ws);
        for (int i = 3 * d; i < steps * d; i++) { k[i] += 5f; v[i] -= 3f; } // change steps 3..5
        var after = new float[steps * d];
        Attention.Forward(batch, steps, heads, dh, true, q, k, v, d, after, ws);
        for (int i = 0; i < 3 * d; i++) Assert.Equal(before[i], after[i]);
        Assert.NotEqual(before[3 * d], after[3 * d]);
    }

    [Fact]
    public void SmallerWorkspaceRunsTheBackwardWithOneSlot()
    {
        const int batch = 2, steps = 4, heads = 2, dh = 3, d = heads * dh;
        var rng = new Random(8);
        var q = GradCheck.Random(rng, batch * steps * d);
        var k = GradCheck.Random(rng, batch * steps * d);
        var v = GradCheck.Random(rng, batch * steps * d);
        var dOut = GradCheck.Random(rng, batch * steps * d);
        var y = new float[q.Length];
        float[] Dq(int floats)
        {
            var ws = new float[floats];
            var (dq, dk, dv) = (new float[q.Length], new float[q.Length], new float[q.Length]);
            Attention.Forward(batch, steps, heads, dh, false, q, k, v, d, y, ws);
            Attention.Backward(batch, steps, heads, dh, false, q, k, v, d, dOut, ws, dq, dk, dv);
            return dq;
        }
        var full = Dq(Attention.WorkspaceSize(batch, steps, heads));
        var one = Dq((batch * heads + 1) * steps * steps);
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], one[i], 1e-6f);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        const int batch = 2, steps = 3, heads = 2, dh = 4, d = heads * dh;
        var x = new float[batch * steps * d];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Attention.Forward(batch, steps, heads, dh, false, x, x, x, d - 1, x, ws));
        Assert.Contains("row stride 7 is less than heads·dh = 8", e.Message);
        var a = Assert.Throws<ArgumentException>(() => Attention.Forward(batch, steps, heads, dh, false, x, x, new float[x.Length - 1], d, new float[x.Length], ws));
        Assert.Equal("v", a.ParamName);
        a = Assert.Throws<ArgumentException>(() => Attention.Forward(batch, steps, heads, dh, false, x, x, x, d, new float[x.Length], new float[batch * heads * steps * steps - 1]));
        Assert.Equal("workspace", a.ParamName);
        // The forward needs only P; the backward also needs one scratch slot.
        var pOnly = new float[batch * heads * steps * steps];
        Attention.Forward(batch, steps, heads, dh, false, x, x, x, d, new float[x.Length], pOnly);
        a = Assert.Throws<ArgumentException>(() => Attention.Backward(batch, steps, heads, dh, false, x, x, x, d, x, pOnly, new float[x.Length], new float[x.Length], new float[x.Length]));
        Assert.Equal("workspace", a.ParamName);
        a = Assert.Throws<ArgumentException>(() => Attention.Backward(batch, steps, heads, dh, false, x, x, x, d, x, ws, new float[x.Length], new float[x.Length - 1], new float[x.Length]));
        Assert.Equal("dk", a.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Attention.Forward(batch, steps, heads, 0, false, x, x, x, d, x, ws));
    }

    /// <summary>The key padding mask's reference: attention over each row's real keys only (a padded key's weight e^(−10000) is 0 in floats and doubles alike), and over all of them when a row has none.</summary>
    private static double[] NaiveMasked(int batch, int steps, int heads, int dh, bool causal, float[] q, float[] k, float[] v, int[] mask)
    {
        int d = heads * dh;
        var y = new double[batch * steps * d];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                {
                    var s = new double[steps];
                    double max = double.NegativeInfinity;
                    int valid = causal ? i + 1 : steps;
                    for (int j = 0; j < valid; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += (double)q[(b * steps + i) * d + h * dh + e] * k[(b * steps + j) * d + h * dh + e];
                        s[j] = dot / Math.Sqrt(dh) + (1 - mask[b * steps + j]) * -10000.0;
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < valid; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int e = 0; e < dh; e++)
                    {
                        double o = 0;
                        for (int j = 0; j < valid; j++) o += s[j] / sum * v[(b * steps + j) * d + h * dh + e];
                        y[(b * steps + i) * d + h * dh + e] = o;
                    }
                }
        return y;
    }

    [Theory]
    [InlineData(false, 6)]
    [InlineData(true, 6)]
    [InlineData(false, 19)] // the padding bias added eight keys at a time, and a tail of three
    [InlineData(true, 19)]
    public void Key_padding_mask_hides_padded_keys_as_f32_and_as_i32(bool causal, int steps)
    {
        const int batch = 3, heads = 2, dh = 4, d = heads * dh;
        var rng = new Random(causal ? 41 : 40);
        var q = GradCheck.Random(rng, batch * steps * d, 2f);
        var k = GradCheck.Random(rng, batch * steps * d, 2f);
        var v = GradCheck.Random(rng, batch * steps * d);
        // row 0: steps − 2 real tokens then padding; row 1: no padding; row 2: every key padded (the output stays finite)
        int[] ids = new int[batch * steps];
        for (int j = 0; j < steps; j++) (ids[j], ids[steps + j], ids[2 * steps + j]) = (j < steps - 2 ? 1 : 0, 1, 0);
        float[] floats = Array.ConvertAll(ids, m => (float)m);
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var withInts = new float[q.Length];
        var withFloats = new float[q.Length];
        var without = new float[q.Length];
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, withInts, ws, maskIds: ids);
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, withFloats, ws, mask: floats);
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, without, ws);
        Assert.Equal(withFloats, withInts);
        var naive = NaiveMasked(batch, steps, heads, dh, causal, q, k, v, ids);
        int firstPadded = 2 * steps * d; // row 2's outputs
        GradCheck.Within(GradCheck.MaxDiff(withInts.AsSpan(0, firstPadded), naive.AsSpan(0, firstPadded)), 1e-5, "masked attention forward");
        // Row 2 is all padding: its scores s − 10000 are rounded to float's step there (~1e-3), as in BERT's float graph,
        // so its softmax is that of scores rounded to ~1e-3: close to the unmasked one, not equal.
        GradCheck.Within(GradCheck.MaxDiff(withInts.AsSpan(firstPadded), naive.AsSpan(firstPadded)), 2e-3, "fully padded row");
        Assert.All(withInts, value => Assert.True(float.IsFinite(value)));
        // row 1 has no padding: as without a mask, bit for bit (1 − 1 adds 0); row 0 differs (its queries no longer see keys 4 and 5)
        for (int i = steps * d; i < firstPadded; i++) Assert.Equal(without[i], withInts[i]);
        if (!causal) Assert.NotEqual(without[0], withInts[0]);
        else Assert.NotEqual(without[(steps - 1) * d], withInts[(steps - 1) * d]);
    }

    [Fact]
    public void Masked_gradients_match_finite_differences_and_padded_keys_get_none()
    {
        const int batch = 2, steps = 5, heads = 2, dh = 3, d = heads * dh, stride = 3 * d;
        var rng = new Random(44);
        var qkv = GradCheck.Random(rng, batch * steps * stride, 1.5f);
        var r = GradCheck.Random(rng, batch * steps * d);
        int[] mask = { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 };
        var y = new float[batch * steps * d];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        double Loss()
        {
            Attention.Forward(batch, steps, heads, dh, false, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, y, ws, maskIds: mask);
            return GradCheck.Dot(y, r);
        }
        Loss();
        var dqkv = new float[qkv.Length];
        Attention.Backward(batch, steps, heads, dh, false, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, r, ws,
            dqkv, dqkv.AsSpan(d), dqkv.AsSpan(2 * d), maskIds: mask);
        double error = GradCheck.MaxError(qkv, dqkv, Loss);
        _output.WriteLine($"masked attention: dq/dk/dv {error:E2}");
        GradCheck.Within(error, GradCheck.Tolerance, "masked attention dq/dk/dv");
        // the padded keys (b 0, t 3 and 4) are never attended to: their k and v get no gradient
        for (int t = 3; t < 5; t++)
            for (int e = d; e < 3 * d; e++) Assert.Equal(0f, dqkv[t * stride + e]);
    }

    /// <summary>
    /// The dropout reference in double: P as <see cref="Naive"/> computes it, then P̃_ij = P_ij·[Uniform(seed, index) ≥ p]/(1 − p)
    /// with index ((b·heads + h)·T + i)·T + j, the `dropout` op's counter-based draw (Runtime.CounterRng).
    /// </summary>
    private static double[] NaiveDropped(int batch, int steps, int heads, int dh, bool causal, float[] q, float[] k, float[] v, float p, uint seed)
    {
        int d = heads * dh;
        var y = new double[batch * steps * d];
        double scale = 1.0 / (1.0 - p);
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                {
                    var s = new double[steps];
                    double max = double.NegativeInfinity;
                    int valid = causal ? i + 1 : steps;
                    for (int j = 0; j < valid; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += (double)q[(b * steps + i) * d + h * dh + e] * k[(b * steps + j) * d + h * dh + e];
                        s[j] = dot / Math.Sqrt(dh);
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < valid; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int j = 0; j < valid; j++)
                    {
                        uint index = (uint)(((b * heads + h) * steps + i) * steps + j);
                        s[j] = CounterRng.Uniform(seed, index) >= p ? s[j] / sum * scale : 0;
                    }
                    for (int e = 0; e < dh; e++)
                    {
                        double o = 0;
                        for (int j = 0; j < valid; j++) o += s[j] * v[(b * steps + j) * d + h * dh + e];
                        y[(b * steps + i) * d + h * dh + e] = o;
                    }
                }
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Dropout_on_the_probabilities_matches_the_counter_stream_reference(int batch, int steps, int heads, int dh, bool causal)
    {
        int d = heads * dh;
        var rng = new Random(batch * 100 + steps * 10 + heads + 5);
        var q = GradCheck.Random(rng, batch * steps * d, 2f);
        var k = GradCheck.Random(rng, batch * steps * d, 2f);
        var v = GradCheck.Random(rng, batch * steps * d);
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var dropped = new float[q.Length];
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, dropped, ws, dropout: 0.3f, dropoutSeed: 1234u);
        GradCheck.Within(GradCheck.MaxDiff(dropped, NaiveDropped(batch, steps, heads, dh, causal, q, k, v, 0.3f, 1234u)), 1e-5, "attention forward with dropout");
        // The workspace keeps the undropped P (the backward needs it at dropped entries too): the same as without dropout.
        var pDropped = ws.AsSpan(0, batch * heads * steps * steps).ToArray();
        var plain = new float[q.Length];
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, plain, ws);
        Assert.Equal(pDropped, ws.AsSpan(0, batch * heads * steps * steps).ToArray());
        // p = 0 is no dropout, bit for bit.
        var zero = new float[q.Length];
        Attention.Forward(batch, steps, heads, dh, causal, q, k, v, d, zero, ws, dropout: 0f, dropoutSeed: 1234u);
        Assert.Equal(plain, zero);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Dropout_gradients_match_finite_differences_with_a_fixed_seed(bool causal, bool masked)
    {
        const int batch = 2, steps = 5, heads = 2, dh = 3, d = heads * dh, stride = 3 * d;
        var rng = new Random(causal ? 46 : 45);
        var qkv = GradCheck.Random(rng, batch * steps * stride, 1.5f);
        var r = GradCheck.Random(rng, batch * steps * d);
        int[] mask = masked ? new[] { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 } : null!;
        var y = new float[batch * steps * d];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        double Loss()
        {
            Attention.Forward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, y, ws, maskIds: mask, dropout: 0.4f, dropoutSeed: 77u);
            return GradCheck.Dot(y, r);
        }
        Loss();
        var dqkv = new float[qkv.Length];
        Attention.Backward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, r, ws,
            dqkv, dqkv.AsSpan(d), dqkv.AsSpan(2 * d), maskIds: mask, dropout: 0.4f, dropoutSeed: 77u);
        double error = GradCheck.MaxError(qkv, dqkv, Loss);
        _output.WriteLine($"attention dropout=0.4 causal={causal} masked={masked}: dq/dk/dv {error:E2}");
        GradCheck.Within(error, GradCheck.Tolerance, "attention dropout dq/dk/dv");

        // The backward without the forward's seed computes other gradients: the mask really is drawn again, not stored.
        var other = new float[qkv.Length];
        Attention.Backward(batch, steps, heads, dh, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, r, ws,
            other, other.AsSpan(d), other.AsSpan(2 * d), maskIds: mask, dropout: 0.4f, dropoutSeed: 78u);
        Assert.NotEqual(dqkv, other);
    }

    /// <summary>
    /// With v the identity (dh = T, v_j = e_j) the output row i is P̃_i itself: the dropped probabilities are exactly the
    /// zeros. Over 2·2·64·64 = 16,384 probabilities the kept fraction is 1 − p within 5 standard deviations, and a
    /// row's kept probabilities, scaled by 1/(1 − p), sum to 1 on average (the expectation of P̃ is P).
    /// </summary>
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    public void The_kept_fraction_is_one_minus_p_and_the_rows_keep_their_expected_sum(float p)
    {
        const int batch = 2, steps = 64, heads = 2, dh = steps, d = heads * dh;
        var rng = new Random(47);
        var q = GradCheck.Random(rng, batch * steps * d, 0.5f);
        var k = GradCheck.Random(rng, batch * steps * d, 0.5f);
        var v = new float[batch * steps * d];
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < steps; j++)
                for (int h = 0; h < heads; h++) v[(b * steps + j) * d + h * dh + j] = 1f;
        var y = new float[v.Length];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        Attention.Forward(batch, steps, heads, dh, false, q, k, v, d, y, ws, dropout: p, dropoutSeed: 2026u);
        int total = y.Length, kept = 0;
        foreach (float value in y) if (value != 0f) kept++;
        double fraction = (double)kept / total, sigma = Math.Sqrt(p * (1 - p) / total);
        _output.WriteLine($"p={p}: kept {fraction:F4} of {total} (expected {1 - p}, σ {sigma:E1})");
        Assert.InRange(fraction, 1 - p - 5 * sigma, 1 - p + 5 * sigma);
        double rowSums = 0;
        for (int row = 0; row < batch * steps * heads; row++)
            for (int e = 0; e < dh; e++) rowSums += y[row * dh + e];
        double meanRowSum = rowSums / (batch * steps * heads);
        _output.WriteLine($"p={p}: mean row sum of P̃ {meanRowSum:F4}");
        Assert.InRange(meanRowSum, 0.95, 1.05);
        // and every kept entry is P·1/(1 − p) exactly as the forward scaled it: P̃ = P/(1 − p) where kept
        float scale = 1f / (1f - p);
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                    for (int j = 0; j < steps; j++)
                    {
                        float dropped = y[(b * steps + i) * d + h * dh + j], probability = ws[((b * heads + h) * steps + i) * steps + j];
                        bool keep = CounterRng.Uniform(2026u, (uint)(((b * heads + h) * steps + i) * steps + j)) >= p;
                        Assert.Equal(keep ? probability * scale : 0f, dropped, 1e-6f);
                    }
    }

    [Fact]
    public void A_dropout_probability_outside_0_to_1_is_refused()
    {
        const int batch = 1, steps = 2, heads = 1, dh = 2;
        var x = new float[batch * steps * dh];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Attention.Forward(batch, steps, heads, dh, false, x, x, x, dh, new float[x.Length], ws, dropout: 1f));
        Assert.Equal("dropout", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Attention.Backward(batch, steps, heads, dh, false, x, x, x, dh, x, ws, new float[x.Length], new float[x.Length], new float[x.Length], dropout: -0.1f));
        // with dropout the forward needs the scratch slot after P as well
        var a = Assert.Throws<ArgumentException>(() => Attention.Forward(batch, steps, heads, dh, false, x, x, x, dh, new float[x.Length], new float[batch * heads * steps * steps], dropout: 0.5f));
        Assert.Equal("workspace", a.ParamName);
    }
}
