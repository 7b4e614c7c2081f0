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
}
