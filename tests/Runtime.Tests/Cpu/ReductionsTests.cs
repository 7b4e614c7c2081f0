using System;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

public class ReductionsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(128, 256)]
    [InlineData(129, 10)]
    public void ColumnSumMatchesNaive(int rows, int cols)
    {
        var rng = new Random(rows * 31 + cols);
        var src = new float[rows * cols];
        for (int i = 0; i < src.Length; i++) src[i] = (float)(rng.NextDouble() * 2 - 1);
        var acc = new float[cols];
        for (int j = 0; j < cols; j++) acc[j] = j;
        var over = new float[cols];
        Array.Fill(over, float.NaN);
        Reductions.ColumnSum(src, rows, cols, acc);
        Reductions.ColumnSum(src, rows, cols, over, accumulate: false);
        for (int j = 0; j < cols; j++)
        {
            double s = 0;
            for (int i = 0; i < rows; i++) s += src[i * cols + j];
            Assert.True(Math.Abs(acc[j] - (s + j)) < 1e-4 * (rows + 1), $"col {j}");
            Assert.True(Math.Abs(over[j] - s) < 1e-4 * (rows + 1), $"col {j}");
        }
    }

    private static (double Loss, double[] Grad) Naive(float[] logits, int[] labels, int rows, int classes)
    {
        var grad = new double[rows * classes];
        double loss = 0;
        for (int i = 0; i < rows; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < classes; j++) max = Math.Max(max, logits[i * classes + j]);
            double sum = 0;
            for (int j = 0; j < classes; j++) sum += Math.Exp(logits[i * classes + j] - max);
            loss += Math.Log(sum) - (logits[i * classes + labels[i]] - max);
            for (int j = 0; j < classes; j++)
                grad[i * classes + j] = (Math.Exp(logits[i * classes + j] - max) / sum - (j == labels[i] ? 1 : 0)) / rows;
        }
        return (loss / rows, grad);
    }

    [Theory]
    [InlineData(1, 1, 1f)]
    [InlineData(4, 10, 1f)]
    [InlineData(128, 10, 3f)]
    [InlineData(33, 37, 5f)]
    [InlineData(16, 10, 1000f)]   // large logits: exp would overflow without the max shift
    public void SoftmaxCrossEntropyMatchesNaive(int rows, int classes, float spread)
    {
        var rng = new Random(rows + classes);
        var logits = new float[rows * classes];
        var labels = new int[rows];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)((rng.NextDouble() * 2 - 1) * spread);
        if (spread > 100) for (int i = 0; i < logits.Length; i += 3) logits[i] += 80000f;
        for (int i = 0; i < rows; i++) labels[i] = rng.Next(classes);
        var (loss, grad) = Naive(logits, labels, rows, classes);
        var d = new float[rows * classes];
        float got = Reductions.SoftmaxCrossEntropy(logits, labels, rows, classes, d);
        Assert.False(float.IsNaN(got) || float.IsInfinity(got));
        Assert.True(Math.Abs(got - loss) <= 1e-4 * Math.Max(1, Math.Abs(loss)), $"loss {got} vs {loss}");
        Assert.True(Math.Abs(Reductions.SoftmaxCrossEntropyLoss(logits, labels, rows, classes) - loss) <= 1e-4 * Math.Max(1, Math.Abs(loss)));
        for (int i = 0; i < d.Length; i++)
            Assert.True(Math.Abs(d[i] - grad[i]) < 1e-5, $"grad[{i}] {d[i]} vs {grad[i]}");

        // In place: dLogits may alias logits.
        var inPlace = (float[])logits.Clone();
        float got2 = Reductions.SoftmaxCrossEntropy(inPlace, labels, rows, classes, inPlace);
        Assert.Equal(got, got2);
        Assert.Equal(d, inPlace);
    }

    /// <summary>
    /// label_smoothing as torch.nn.CrossEntropyLoss defines it, written out independently in doubles:
    /// (1 − ε)·(−log p[label]) + ε·mean_k(−log p[k]) per row, gradient softmax − ((1 − ε)·onehot + ε/C), both over rows.
    /// </summary>
    [Theory]
    [InlineData(1, 1, 1f, 0.1f)]
    [InlineData(4, 10, 1f, 0.1f)]
    [InlineData(33, 37, 5f, 0.25f)]
    [InlineData(8, 5, 2f, 1f)]        // ε = 1: the uniform target, the label no longer matters
    [InlineData(16, 10, 1000f, 0.1f)] // large logits: the mean logit too is taken relative to the row max
    public void LabelSmoothingMatchesPyTorchDefinition(int rows, int classes, float spread, float epsilon)
    {
        var rng = new Random(rows * 7 + classes);
        var logits = new float[rows * classes];
        var labels = new int[rows];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)((rng.NextDouble() * 2 - 1) * spread);
        if (spread > 100) for (int i = 0; i < logits.Length; i += 3) logits[i] += 80000f;
        for (int i = 0; i < rows; i++) labels[i] = rng.Next(classes);
        double loss = 0;
        var grad = new double[rows * classes];
        for (int i = 0; i < rows; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < classes; j++) max = Math.Max(max, logits[i * classes + j]);
            for (int j = 0; j < classes; j++) sum += Math.Exp(logits[i * classes + j] - max);
            double meanNll = 0;
            for (int j = 0; j < classes; j++) meanNll += (Math.Log(sum) - (logits[i * classes + j] - max)) / classes;
            double nll = Math.Log(sum) - (logits[i * classes + labels[i]] - max);
            loss += (1 - epsilon) * nll + epsilon * meanNll;
            for (int j = 0; j < classes; j++)
                grad[i * classes + j] = (Math.Exp(logits[i * classes + j] - max) / sum - ((j == labels[i] ? 1 - epsilon : 0) + epsilon / classes)) / rows;
        }
        loss /= rows;

        var d = new float[rows * classes];
        float got = Reductions.SoftmaxCrossEntropy(logits, labels, rows, classes, d, labelSmoothing: epsilon);
        Assert.True(Math.Abs(got - loss) <= 1e-4 * Math.Max(1, Math.Abs(loss)), $"loss {got} vs {loss}");
        float evaluated = Reductions.SoftmaxCrossEntropyLoss(logits, labels, rows, classes, labelSmoothing: epsilon);
        Assert.True(Math.Abs(evaluated - loss) <= 1e-4 * Math.Max(1, Math.Abs(loss)), $"evaluation loss {evaluated} vs {loss}");
        for (int i = 0; i < d.Length; i++)
            Assert.True(Math.Abs(d[i] - grad[i]) < 1e-5, $"grad[{i}] {d[i]} vs {grad[i]}");
        if (classes > 1) Assert.NotEqual(Reductions.SoftmaxCrossEntropyLoss(logits, labels, rows, classes), got); // the option changes the loss (one class: both 0)

        var inPlace = (float[])logits.Clone();
        Assert.Equal(got, Reductions.SoftmaxCrossEntropy(inPlace, labels, rows, classes, inPlace, labelSmoothing: epsilon));
        Assert.Equal(d, inPlace);
    }

    [Fact]
    public void LabelSmoothingWorkedExample()
    {
        // logits (1, 2, 3), label 0, ε = 0.1: −log p = (2.40760596, 1.40760596, 0.40760596), so
        // 0.9·2.40760596 + 0.1·mean = 2.166845 + 0.1·1.40760596 = 2.30760596, by the definition in torch.nn.CrossEntropyLoss's documentation.
        var d = new float[3];
        float loss = Reductions.SoftmaxCrossEntropy(new float[] { 1, 2, 3 }, new[] { 0 }, 1, 3, d, labelSmoothing: 0.1f);
        Assert.Equal(2.30760596, loss, 5);
        // softmax (0.09003057, 0.24472847, 0.66524096) − (0.9 + 0.1/3, 0.1/3, 0.1/3)
        Assert.Equal(0.09003057 - 0.93333333, d[0], 5);
        Assert.Equal(0.24472847 - 0.03333333, d[1], 5);
        Assert.Equal(0.66524096 - 0.03333333, d[2], 5);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void LabelSmoothingOutsideZeroOneIsRejected(float epsilon)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.SoftmaxCrossEntropy(new float[3], new[] { 0 }, 1, 3, new float[3], labelSmoothing: epsilon));
        Assert.Equal("labelSmoothing", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.SoftmaxCrossEntropyLoss(new float[3], new[] { 0 }, 1, 3, epsilon));
    }

    [Fact]
    public void GradientRowsSumToZero()
    {
        var logits = new float[] { 1, 2, 3, -1, 0, 1 };
        var d = new float[6];
        Reductions.SoftmaxCrossEntropy(logits, new[] { 2, 0 }, 2, 3, d);
        Assert.True(Math.Abs(d[0] + d[1] + d[2]) < 1e-6);
        Assert.True(Math.Abs(d[3] + d[4] + d[5]) < 1e-6);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10)]
    public void LabelOutOfRangeNamesRowAndLabel(int bad)
    {
        var logits = new float[3 * 10];
        var labels = new[] { 0, bad, 1 };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.SoftmaxCrossEntropy(logits, labels, 3, 10, new float[30]));
        Assert.Contains("row 1", ex.Message);
        Assert.Contains($"Label {bad}", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.SoftmaxCrossEntropyLoss(logits, labels, 3, 10));
    }
}
