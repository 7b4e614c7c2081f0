using System;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

public class Conv2dTests
{
    private readonly ITestOutputHelper _output;

    public Conv2dTests(ITestOutputHelper output) => _output = output;

    /// <summary>Direct convolution in double: the reference.</summary>
    internal static double[] Naive(in Conv2dGeometry g, float[] x, float[] w, float[]? b)
    {
        var y = new double[g.OutputLength];
        int k = g.Kernel;
        for (int n = 0; n < g.Batch; n++)
            for (int o = 0; o < g.OutChannels; o++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        double s = b == null ? 0 : b[o];
                        for (int c = 0; c < g.InChannels; c++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                {
                                    int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                                    if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                    s += (double)x[((n * g.InChannels + c) * g.Height + iy) * g.Width + ix] *
                                         w[((o * g.InChannels + c) * k + ki) * k + kj];
                                }
                        y[((n * g.OutChannels + o) * g.OutHeight + oy) * g.OutWidth + ox] = s;
                    }
        return y;
    }

    public static TheoryData<int, int, int, int, int, int, int, int> Shapes => new()
    {
        // batch, inC, H, W, outC, kernel, stride, padding
        { 2, 3, 6, 5, 4, 3, 1, 0 },
        { 3, 2, 7, 7, 3, 3, 1, 1 },     // "same" padding, odd batch (uneven slots)
        { 2, 2, 8, 9, 3, 3, 2, 1 },     // stride 2 with padding
        { 1, 3, 5, 5, 2, 1, 1, 0 },     // 1×1
        { 2, 1, 9, 7, 2, 4, 3, 2 },     // kernel 4, stride 3, padding 2
        { 4, 1, 4, 4, 2, 5, 1, 2 },     // kernel larger than the input, padded
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardMatchesDirectConvolution(int n, int c, int h, int w, int k, int kernel, int stride, int pad)
    {
        var g = new Conv2dGeometry(n, c, h, w, k, kernel, stride, pad);
        var rng = new Random(n * 1000 + c * 100 + kernel * 10 + stride);
        var x = GradCheck.Random(rng, g.InputLength);
        var wt = GradCheck.Random(rng, g.WeightLength);
        var b = GradCheck.Random(rng, k);
        var y = new float[g.OutputLength];
        var ws = new float[Conv2d.WorkspaceSize(g)];
        Conv2d.Forward(g, x, wt, b, y, ws);
        GradCheck.Within(GradCheck.MaxDiff(y, Naive(g, x, wt, b)), 1e-5, "conv2d forward");
        Conv2d.Forward(g, x, wt, ReadOnlySpan<float>.Empty, y, ws);
        GradCheck.Within(GradCheck.MaxDiff(y, Naive(g, x, wt, null)), 1e-5, "conv2d forward without bias");
    }

    [Fact]
    public void ForwardMatchesOnTheFashionCnnShapes()
    {
        var g1 = new Conv2dGeometry(3, 1, 28, 28, 32, 3, 1, 1);
        var g2 = new Conv2dGeometry(3, 32, 14, 14, 64, 3, 1, 1);
        foreach (var g in new[] { g1, g2 })
        {
            var rng = new Random(g.InChannels);
            var x = GradCheck.Random(rng, g.InputLength);
            var wt = GradCheck.Random(rng, g.WeightLength, 0.2f);
            var b = GradCheck.Random(rng, g.OutChannels);
            var y = new float[g.OutputLength];
            Conv2d.Forward(g, x, wt, b, y, new float[Conv2d.WorkspaceSize(g)]);
            GradCheck.Within(GradCheck.MaxDiff(y, Naive(g, x, wt, b)), 1e-5, g.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GradientsMatchFiniteDifferences(int n, int c, int h, int w, int k, int kernel, int stride, int pad)
    {
        var g = new Conv2dGeometry(n, c, h, w, k, kernel, stride, pad);
        var rng = new Random(n * 7 + c * 5 + kernel * 3 + stride);
        var x = GradCheck.Random(rng, g.InputLength);
        var wt = GradCheck.Random(rng, g.WeightLength);
        var b = GradCheck.Random(rng, k);
        var r = GradCheck.Random(rng, g.OutputLength);
        var y = new float[g.OutputLength];
        var ws = new float[Conv2d.WorkspaceSize(g)];
        double Loss()
        {
            Conv2d.Forward(g, x, wt, b, y, ws);
            return GradCheck.Dot(y, r);
        }
        var dx = new float[x.Length];
        var dw = new float[wt.Length];
        var db = new float[b.Length];
        Conv2d.Backward(g, x, wt, r, dx, dw, db, ws);
        double ex = GradCheck.MaxError(x, dx, Loss), ew = GradCheck.MaxError(wt, dw, Loss), eb = GradCheck.MaxError(b, db, Loss);
        _output.WriteLine($"{g}: dx {ex:E2}  dW {ew:E2}  db {eb:E2}");
        GradCheck.Within(ex, GradCheck.Tolerance, "dx");
        GradCheck.Within(ew, GradCheck.Tolerance, "dW");
        GradCheck.Within(eb, GradCheck.Tolerance, "db");
    }

    [Fact]
    public void BackwardAccumulatesAndSkipsWhatIsNotWanted()
    {
        var g = new Conv2dGeometry(3, 2, 6, 6, 3, 3, 1, 1);
        var rng = new Random(5);
        var x = GradCheck.Random(rng, g.InputLength);
        var wt = GradCheck.Random(rng, g.WeightLength);
        var dy = GradCheck.Random(rng, g.OutputLength);
        var ws = new float[Conv2d.WorkspaceSize(g)];
        var dx = new float[x.Length];
        var dw = new float[wt.Length];
        var db = new float[g.OutChannels];
        Conv2d.Backward(g, x, wt, dy, dx, dw, db, ws);

        var dx2 = GradCheck.Random(rng, x.Length);
        var dw2 = GradCheck.Random(rng, wt.Length);
        var db2 = GradCheck.Random(rng, g.OutChannels);
        var (dx0, dw0, db0) = ((float[])dx2.Clone(), (float[])dw2.Clone(), (float[])db2.Clone());
        Conv2d.Backward(g, x, wt, dy, dx2, dw2, db2, ws, accumulateInputGradient: true, accumulateParameterGradients: true);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(dx0[i] + dx[i], dx2[i], 1e-5f);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(dw0[i] + dw[i], dw2[i], 1e-4f);
        for (int i = 0; i < db.Length; i++) Assert.Equal(db0[i] + db[i], db2[i], 1e-4f);

        // No input gradient, no bias; NaN-filled destinations are overwritten, never read.
        var dw3 = new float[wt.Length];
        Array.Fill(dw3, float.NaN);
        Conv2d.Backward(g, x, wt, dy, Span<float>.Empty, dw3, Span<float>.Empty, ws);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(dw[i], dw3[i], 1e-5f);
    }

    [Fact]
    public void SmallerWorkspaceRunsWithFewerSlots()
    {
        var g = new Conv2dGeometry(5, 2, 6, 6, 3, 3, 1, 1);
        var rng = new Random(9);
        var x = GradCheck.Random(rng, g.InputLength);
        var wt = GradCheck.Random(rng, g.WeightLength);
        var dy = GradCheck.Random(rng, g.OutputLength);
        float[] Grad(int slots)
        {
            var ws = new float[Conv2d.SlotLength(g) * slots];
            var dw = new float[wt.Length];
            var y = new float[g.OutputLength];
            Conv2d.Forward(g, x, wt, ReadOnlySpan<float>.Empty, y, ws);
            GradCheck.Within(GradCheck.MaxDiff(y, Naive(g, x, wt, null)), 1e-5, $"forward with {slots} slot(s)");
            Conv2d.Backward(g, x, wt, dy, Span<float>.Empty, dw, Span<float>.Empty, ws);
            return dw;
        }
        var one = Grad(1);
        var many = Grad(5);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], many[i], 1e-4f);
    }

    [Fact]
    public void Im2ColThenCol2ImIsTheAdjoint()
    {
        // <col2im(c), x> = <c, im2col(x)> for all x, c: the backward really is the forward's transpose.
        var g = new Conv2dGeometry(1, 2, 7, 6, 1, 3, 2, 1);
        var rng = new Random(3);
        var x = GradCheck.Random(rng, g.InputLength);
        var c = GradCheck.Random(rng, g.ColumnLength);
        var col = new float[g.ColumnLength];
        Conv2d.Im2Col(g, x, col, g.OutPlane);
        var back = new float[g.InputLength];
        Conv2d.Col2ImAdd(g, c, g.OutPlane, back);
        Assert.Equal(GradCheck.Dot(col, c), GradCheck.Dot(back, x), 4);
    }

    [Fact]
    public void GeometryRejectsBadSizes()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(1, 1, 4, 4, 1, 7, 1, 1));
        Assert.Contains("Kernel 7 is larger than the padded input 6×6", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(0, 1, 4, 4, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(1, 1, 4, 4, 1, 3, stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(1, 1, 4, 4, 1, 3, padding: -1));
        var g = new Conv2dGeometry(2, 3, 10, 8, 4, 3, 2, 1);
        Assert.Equal((5, 4), (g.OutHeight, g.OutWidth));
    }

    [Fact]
    public void ForwardAndBackwardRejectShortSpans()
    {
        var g = new Conv2dGeometry(2, 3, 5, 5, 4, 3);
        var x = new float[g.InputLength];
        var w = new float[g.WeightLength];
        var y = new float[g.OutputLength];
        var ws = new float[Conv2d.WorkspaceSize(g)];
        var e = Assert.Throws<ArgumentException>(() => Conv2d.Forward(g, x, w, ReadOnlySpan<float>.Empty, new float[y.Length - 1], ws));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("Span 'y' has 71 elements; [N, K, H', W'] = [2, 4, 3, 3] needs 72.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Conv2d.Forward(g, x, w, new float[3], y, ws));
        Assert.Equal("bias", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Conv2d.Forward(g, x, w, ReadOnlySpan<float>.Empty, y, new float[Conv2d.SlotLength(g) - 1]));
        Assert.Equal("workspace", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Conv2d.Backward(g, x, w, y, new float[5], new float[w.Length], Span<float>.Empty, ws));
        Assert.Equal("dx", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Conv2d.Backward(g, x, w, y, Span<float>.Empty, new float[w.Length - 1], Span<float>.Empty, ws));
        Assert.Equal("dWeight", e.ParamName);
        Assert.Throws<ArgumentException>(() => Conv2d.Forward(default, x, w, ReadOnlySpan<float>.Empty, y, ws));
    }
}
