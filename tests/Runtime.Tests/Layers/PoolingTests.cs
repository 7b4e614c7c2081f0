using System;
using System.Linq;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

public class PoolingTests
{
    private readonly ITestOutputHelper _output;

    public PoolingTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void MaxPoolOnAHandComputedPlane()
    {
        // One 4×4 plane, kernel 2, stride 2:      windows: {1,5,2,0}→5  {3,8,4,4}→8
        float[] x =                              //          {9,6,7,7}→9  {2,2,1,3}→3
        {
            1, 5, 3, 8,
            2, 0, 4, 4,
            9, 6, 2, 2,
            7, 7, 1, 3,
        };
        var g = new Pool2dGeometry(1, 1, 4, 4, 2, 2);
        var y = new float[4];
        var idx = new int[4];
        MaxPool2d.Forward(g, x, y, idx);
        Assert.Equal(new float[] { 5, 8, 9, 3 }, y);
        Assert.Equal(new[] { 1, 3, 8, 15 }, idx);
        var dx = Enumerable.Repeat(float.NaN, 16).ToArray(); // overwritten, never read
        MaxPool2d.Backward(g, new float[] { 10, 20, 30, 40 }, idx, dx);
        Assert.Equal(new float[] { 0, 10, 0, 20, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0, 0, 40 }, dx);
    }

    [Fact]
    public void MaxPoolWithPaddingNeverPicksThePaddingAndKeepsTheFirstTie()
    {
        // All negative: a zero-padded max would return 0. Kernel 3, stride 2, padding 1 on 3×3 → 2×2.
        float[] x = { -5, -1, -7, -2, -3, -2, -8, -2, -4 };
        var g = new Pool2dGeometry(1, 1, 3, 3, 3, 2, 1);
        var y = new float[4];
        var idx = new int[4];
        MaxPool2d.Forward(g, x, y, idx);
        // windows (rows, cols inside the image): [0..1]×[0..1], [0..1]×[1..2], [1..2]×[0..1], [1..2]×[1..2]
        Assert.Equal(new float[] { -1, -1, -2, -2 }, y);
        Assert.Equal(new[] { 1, 1, 3, 5 }, idx); // ties of -2 (at 3 and 7, at 5 and 7): the first in row-major order wins
    }

    [Fact]
    public void AvgPoolCountsPaddingInTheDivisor()
    {
        // PyTorch's default count_include_pad=True: the corner window of a padded 2×2 pool sees one element, divides by 4.
        float[] x = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        var g = new Pool2dGeometry(1, 1, 3, 3, 2, 2, 1);
        Assert.Equal((2, 2), (g.OutHeight, g.OutWidth));
        var y = new float[4];
        AvgPool2d.Forward(g, x, y);
        Assert.Equal(new[] { 1 / 4f, (2 + 3) / 4f, (4 + 7) / 4f, (5 + 6 + 8 + 9) / 4f }, y);
        var dx = new float[9];
        AvgPool2d.Backward(g, new float[] { 4, 8, 12, 16 }, dx);
        Assert.Equal(new float[] { 1, 2, 2, 3, 4, 4, 3, 4, 4 }, dx);
    }

    public static TheoryData<int, int, int, int, int, int, int> Shapes => new()
    {
        // batch, channels, H, W, kernel, stride, padding
        { 2, 3, 6, 6, 2, 2, 0 },
        { 2, 2, 7, 5, 3, 2, 1 },   // overlapping windows with padding, odd sizes
        { 1, 3, 5, 6, 3, 1, 1 },   // stride 1: every input is in up to 9 windows
        { 3, 2, 9, 9, 4, 3, 2 },
        { 2, 3, 21, 19, 2, 2, 0 }, // the 2×2 fast path: 9 outputs a row (two groups of four and a tail), odd sizes
    };

    /// <summary>
    /// The 2×2/stride-2 fast path and the general loop against the rule written out: window elements in row-major
    /// order, a larger value wins, a NaN wins over a number, ties keep the first. Values from {0, 1, 2, NaN} make ties
    /// and NaNs common; 3×3/stride-2 windows run the general loop on the same data.
    /// </summary>
    [Theory]
    [InlineData(2, 2, 0)]
    [InlineData(3, 2, 0)]
    [InlineData(2, 2, 1)]
    public void MaxPoolKeepsTheFirstTieAndLetsNaNWin(int k, int s, int p)
    {
        var g = new Pool2dGeometry(2, 3, 23, 22, k, s, p);
        var rng = new Random(17 + k + p);
        float[] values = { 0f, 1f, 2f, float.NaN };
        var x = Enumerable.Range(0, g.InputLength).Select(_ => values[rng.Next(values.Length)]).ToArray();
        var y = new float[g.OutputLength];
        var idx = new int[g.OutputLength];
        MaxPool2d.Forward(g, x, y, idx);
        int o = 0;
        for (int plane = 0; plane < g.Planes; plane++)
        {
            for (int oy = 0; oy < g.OutHeight; oy++)
            {
                for (int ox = 0; ox < g.OutWidth; ox++, o++)
                {
                    int best = -1;
                    float max = 0;
                    for (int iy = oy * s - p; iy < oy * s - p + k; iy++)
                    {
                        for (int ix = ox * s - p; ix < ox * s - p + k; ix++)
                        {
                            if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                            float v = x[plane * g.Height * g.Width + iy * g.Width + ix];
                            if (best < 0 || v > max || (float.IsNaN(v) && !float.IsNaN(max)))
                            {
                                max = v;
                                best = iy * g.Width + ix;
                            }
                        }
                    }
                    Assert.True(best == idx[o], $"window {o} (plane {plane}, {oy}, {ox}): index {idx[o]}, expected {best}");
                    Assert.Equal(max, y[o]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MaxPoolMatchesNaiveAndFiniteDifferences(int n, int c, int h, int w, int k, int s, int p)
    {
        var g = new Pool2dGeometry(n, c, h, w, k, s, p);
        var rng = new Random(n + c + h + k);
        // Distinct values 0.05 apart (5·eps): no ±eps perturbation changes a window's winner.
        var x = Enumerable.Range(0, g.InputLength).Select(i => i * 0.05f - g.InputLength * 0.025f).OrderBy(_ => rng.Next()).ToArray();
        var y = new float[g.OutputLength];
        var idx = new int[g.OutputLength];
        MaxPool2d.Forward(g, x, y, idx);
        var expected = NaivePool(g, x, max: true);
        GradCheck.Within(GradCheck.MaxDiff(y, expected), 1e-7, "max_pool2d forward");

        var r = GradCheck.Random(rng, g.OutputLength);
        var dx = new float[x.Length];
        MaxPool2d.Backward(g, r, idx, dx);
        double error = GradCheck.MaxError(x, dx, () =>
        {
            MaxPool2d.Forward(g, x, y, idx);
            return GradCheck.Dot(y, r);
        });
        _output.WriteLine($"{g}: max dx {error:E2}");
        GradCheck.Within(error, GradCheck.Tolerance, "max_pool2d dx");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AvgPoolMatchesNaiveAndFiniteDifferences(int n, int c, int h, int w, int k, int s, int p)
    {
        var g = new Pool2dGeometry(n, c, h, w, k, s, p);
        var rng = new Random(n * 3 + c + h + k);
        var x = GradCheck.Random(rng, g.InputLength);
        var y = new float[g.OutputLength];
        AvgPool2d.Forward(g, x, y);
        var expected = NaivePool(g, x, max: false);
        GradCheck.Within(GradCheck.MaxDiff(y, expected), 1e-6, "avg_pool2d forward");

        var r = GradCheck.Random(rng, g.OutputLength);
        var dx = new float[x.Length];
        AvgPool2d.Backward(g, r, dx);
        double error = GradCheck.MaxError(x, dx, () =>
        {
            AvgPool2d.Forward(g, x, y);
            return GradCheck.Dot(y, r);
        });
        _output.WriteLine($"{g}: avg dx {error:E2}");
        GradCheck.Within(error, GradCheck.Tolerance, "avg_pool2d dx");

        var acc = GradCheck.Random(rng, x.Length);
        var start = (float[])acc.Clone();
        AvgPool2d.Backward(g, r, acc, accumulate: true);
        for (int i = 0; i < acc.Length; i++) Assert.Equal(start[i] + dx[i], acc[i], 1e-5f);
    }

    [Fact]
    public void ManyPlanesRunInParallelWithTheSameResult()
    {
        // 64·32 planes of 28×28 (the Fashion CNN's first pool): several work items on the worker pool.
        var g = new Pool2dGeometry(8, 32, 28, 28, 2, 2);
        var rng = new Random(1);
        var x = GradCheck.Random(rng, g.InputLength);
        var y = new float[g.OutputLength];
        var idx = new int[g.OutputLength];
        MaxPool2d.Forward(g, x, y, idx);
        var expected = NaivePool(g, x, max: true);
        GradCheck.Within(GradCheck.MaxDiff(y, expected), 1e-7, "max_pool2d forward");
        var dx = new float[x.Length];
        MaxPool2d.Backward(g, y, idx, dx);
        Assert.Equal(y.Sum(v => (double)v), dx.Sum(v => (double)v), 2);
    }

    private static double[] NaivePool(in Pool2dGeometry g, float[] x, bool max)
    {
        var y = new double[g.OutputLength];
        for (int plane = 0; plane < g.Planes; plane++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    for (int ki = 0; ki < g.Kernel; ki++)
                        for (int kj = 0; kj < g.Kernel; kj++)
                        {
                            int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                            if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                            float v = x[(plane * g.Height + iy) * g.Width + ix];
                            acc = max ? Math.Max(acc, v) : acc + v;
                        }
                    y[(plane * g.OutHeight + oy) * g.OutWidth + ox] = max ? acc : acc / (g.Kernel * g.Kernel);
                }
        return y;
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Pool2dGeometry(1, 1, 8, 8, 2, 2, 2));
        Assert.Contains("Padding 2 is more than half the kernel (2)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pool2dGeometry(1, 1, 2, 2, 3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pool2dGeometry(1, 0, 2, 2, 1, 1));

        var g = new Pool2dGeometry(1, 2, 4, 4, 2, 2);
        var ex = Assert.Throws<ArgumentException>(() => MaxPool2d.Forward(g, new float[32], new float[8], new int[7]));
        Assert.Equal("indices", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => AvgPool2d.Forward(g, new float[31], new float[8]));
        Assert.Contains("[N, C, H, W] = [1, 2, 4, 4] needs 32", ex.Message);
        var bad = new int[8];
        bad[5] = 16;
        var oor = Assert.Throws<ArgumentOutOfRangeException>(() => MaxPool2d.Backward(g, new float[8], bad, new float[32]));
        Assert.Contains("index 16 at position 5 is outside the 4×4 input plane", oor.Message);
    }
}
