using System;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>LayerNorm and Softmax: row-wise kernels over the last axis.</summary>
public class NormalizationTests
{
    private readonly ITestOutputHelper _output;

    public NormalizationTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]    // scalar tail only
    [InlineData(4, 19)]   // two vectors and a tail
    [InlineData(6, 64)]
    public void LayerNormMatchesNaiveAndFiniteDifferences(int rows, int dim)
    {
        var rng = new Random(rows * 100 + dim);
        var x = GradCheck.Random(rng, rows * dim, 2f);
        for (int i = 0; i < x.Length; i++) x[i] += 3f; // an offset: the mean must really be subtracted
        var w = GradCheck.Random(rng, dim);
        var b = GradCheck.Random(rng, dim);
        var y = new float[rows * dim];
        var mean = new float[rows];
        var rstd = new float[rows];
        LayerNorm.Forward(rows, dim, x, w, b, y, mean, rstd);

        var expected = new double[rows * dim];
        for (int r = 0; r < rows; r++)
        {
            double m = 0, v = 0;
            for (int j = 0; j < dim; j++) m += x[r * dim + j];
            m /= dim;
            for (int j = 0; j < dim; j++) v += (x[r * dim + j] - m) * (x[r * dim + j] - m);
            double s = 1 / Math.Sqrt(v / dim + 1e-5);
            for (int j = 0; j < dim; j++) expected[r * dim + j] = (x[r * dim + j] - m) * s * w[j] + b[j];
            Assert.Equal(m, mean[r], 5);
            Assert.True(Math.Abs(rstd[r] - s) < 1e-5 * s, $"rstd row {r}");
        }
        GradCheck.Within(GradCheck.MaxDiff(y, expected), 1e-5, "layer_norm forward");

        if (dim == 1) return; // the output is the bias alone: x has no gradient
        var r0 = GradCheck.Random(rng, rows * dim);
        var dx = new float[x.Length];
        var dw = new float[dim];
        var db = new float[dim];
        LayerNorm.Backward(rows, dim, x, w, mean, rstd, r0, dx, dw, db);
        double Loss()
        {
            LayerNorm.Forward(rows, dim, x, w, b, y, mean, rstd);
            return GradCheck.Dot(y, r0);
        }
        double ex = GradCheck.MaxError(x, dx, Loss), ew = GradCheck.MaxError(w, dw, Loss), eb = GradCheck.MaxError(b, db, Loss);
        _output.WriteLine($"layer_norm [{rows}, {dim}]: dx {ex:E2}  dW {ew:E2}  db {eb:E2}");
        GradCheck.Within(ex, GradCheck.Tolerance, "layer_norm dx");
        GradCheck.Within(ew, GradCheck.Tolerance, "layer_norm dW");
        GradCheck.Within(eb, GradCheck.Tolerance, "layer_norm db");

        // Accumulating adds exactly the same gradients; an empty dx is skipped.
        LayerNorm.Forward(rows, dim, x, w, b, y, mean, rstd);
        var (dx2, dw2, db2) = ((float[])dx.Clone(), (float[])dw.Clone(), (float[])db.Clone());
        LayerNorm.Backward(rows, dim, x, w, mean, rstd, r0, dx2, dw2, db2, accumulateInputGradient: true, accumulateParameterGradients: true);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(2 * dx[i], dx2[i], 1e-5f);
        for (int j = 0; j < dim; j++) Assert.Equal(2 * dw[j], dw2[j], 1e-4f);
        LayerNorm.Backward(rows, dim, x, w, mean, rstd, r0, Span<float>.Empty, dw2, db2);
        for (int j = 0; j < dim; j++) Assert.Equal(db[j], db2[j], 1e-5f);
    }

    [Fact]
    public void LayerNormValidatesItsArguments()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            LayerNorm.Forward(2, 4, new float[8], new float[3], new float[4], new float[8], new float[2], new float[2]));
        Assert.Contains("Span 'weight' has 3 elements; [d] = [4] needs 4.", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            LayerNorm.Forward(2, 4, new float[8], new float[4], new float[4], new float[8], new float[1], new float[2]));
        Assert.Equal("mean", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LayerNorm.Forward(2, 4, new float[8], new float[4], new float[4], new float[8], new float[2], new float[2], eps: float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LayerNorm.Forward(2, 0, new float[8], new float[4], new float[4], new float[8], new float[2], new float[2]));
    }

    [Theory]
    [InlineData(1, 1, 1f)]
    [InlineData(3, 7, 2f)]
    [InlineData(5, 33, 3f)]
    [InlineData(2, 10, 200f)] // large inputs: needs the max shift
    public void SoftmaxMatchesNaiveAndFiniteDifferences(int rows, int cols, float spread)
    {
        var rng = new Random(rows * 10 + cols);
        var x = GradCheck.Random(rng, rows * cols, spread);
        var y = new float[x.Length];
        Softmax.Forward(rows, cols, x, y);
        var expected = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < cols; j++) max = Math.Max(max, x[r * cols + j]);
            for (int j = 0; j < cols; j++) sum += Math.Exp(x[r * cols + j] - max);
            for (int j = 0; j < cols; j++) expected[r * cols + j] = Math.Exp(x[r * cols + j] - max) / sum;
        }
        GradCheck.Within(GradCheck.MaxDiff(y, expected), 1e-6, "softmax forward");

        var r0 = GradCheck.Random(rng, x.Length);
        var dx = new float[x.Length];
        Softmax.Backward(rows, cols, y, r0, dx);
        if (spread <= 3f)
        {
            double error = GradCheck.MaxError(x, dx, () =>
            {
                Softmax.Forward(rows, cols, x, y);
                return GradCheck.Dot(y, r0);
            });
            _output.WriteLine($"softmax [{rows}, {cols}]: dx {error:E2}");
            GradCheck.Within(error, GradCheck.Tolerance, "softmax dx");
        }

        // In place (dx = dy) and accumulating agree with the plain backward.
        Softmax.Forward(rows, cols, x, y);
        var inPlace = (float[])r0.Clone();
        Softmax.Backward(rows, cols, y, inPlace, inPlace);
        var acc = (float[])dx.Clone();
        Softmax.Backward(rows, cols, y, r0, acc, accumulate: true);
        for (int i = 0; i < dx.Length; i++)
        {
            Assert.Equal(dx[i], inPlace[i], 1e-6f);
            Assert.Equal(2 * dx[i], acc[i], 1e-5f);
        }
    }

    /// <summary>
    /// The fused three-pass row (Softmax.Row) against the five TensorPrimitives calls it replaced, at every length from
    /// 1 to 300 (below a vector, whole vectors, and a last vector overlapping the previous one), out of place and in
    /// place: the same exponentials, only the order of the sum differs, so within a few float ulps.
    /// </summary>
    [Fact]
    public void SoftmaxRowMatchesTheTensorPrimitivesForm()
    {
        var rng = new Random(11);
        double worst = 0;
        for (int n = 1; n <= 300; n++)
        {
            var x = GradCheck.Random(rng, n, 4f);
            var reference = new float[n];
            float max = System.Numerics.Tensors.TensorPrimitives.Max<float>(x);
            System.Numerics.Tensors.TensorPrimitives.Subtract(x, max, reference);
            System.Numerics.Tensors.TensorPrimitives.Exp<float>(reference, reference);
            System.Numerics.Tensors.TensorPrimitives.Multiply(reference, 1f / System.Numerics.Tensors.TensorPrimitives.Sum<float>(reference), reference);
            var y = new float[n];
            Softmax.Forward(1, n, x, y);
            var inPlace = (float[])x.Clone();
            Softmax.Forward(1, n, inPlace, inPlace);
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(y[j], inPlace[j]);
                double relative = Math.Abs(y[j] - reference[j]) / reference[j];
                worst = Math.Max(worst, relative);
                Assert.True(relative <= 4e-7, $"n = {n}, j = {j}: {y[j]:R} against {reference[j]:R}");
            }
            Assert.Equal(1.0, System.Linq.Enumerable.Sum(y, v => (double)v), 1e-5);
        }
        _output.WriteLine($"softmax row: worst relative difference to the TensorPrimitives form {worst:E2}");
    }

    /// <summary>
    /// Attention's per-row softmax backward (Softmax.BackwardRowInPlace) against the TensorPrimitives calls it replaced
    /// (Dot, Subtract, Multiply), bit for bit, at every length from 1 to 300.
    /// </summary>
    [Fact]
    public void SoftmaxBackwardRowMatchesTheTensorPrimitivesFormBitForBit()
    {
        var rng = new Random(12);
        for (int n = 1; n <= 300; n++)
        {
            var y = GradCheck.Random(rng, n);
            var g = GradCheck.Random(rng, n, 3f);
            var reference = (float[])g.Clone();
            float dot = System.Numerics.Tensors.TensorPrimitives.Dot<float>(y, reference);
            System.Numerics.Tensors.TensorPrimitives.Subtract(reference, dot, reference);
            System.Numerics.Tensors.TensorPrimitives.Multiply<float>(reference, y, reference);
            Softmax.BackwardRowInPlace(y, g);
            Assert.Equal(reference, g);
        }
    }

    [Fact]
    public void SoftmaxValidatesItsArguments()
    {
        var e = Assert.Throws<ArgumentException>(() => Softmax.Forward(2, 3, new float[6], new float[5]));
        Assert.Contains("Span 'y' has 5 elements; [rows, n] = [2, 3] needs 6.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Softmax.Backward(2, 3, new float[6], new float[4], new float[6]));
        Assert.Equal("dy", e.ParamName);
    }
}
