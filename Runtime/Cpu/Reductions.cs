using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// Allocation-free reductions the generated training code calls: bias gradients (column sums) and the fused
/// softmax-cross-entropy loss and gradient. Matrices are row-major and contiguous ([rows, cols]).
/// </summary>
public static class Reductions
{
    /// <summary>
    /// Column sums of a [rows, cols] matrix: <c>destination[j] (+)= Σ_i source[i, j]</c>, the bias gradient of a
    /// dense layer from its output gradient. With <paramref name="accumulate"/> false the destination is overwritten.
    /// </summary>
    public static void ColumnSum(ReadOnlySpan<float> source, int rows, int cols, Span<float> destination, bool accumulate = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (source.Length < (long)rows * cols)
            throw new ArgumentException($"Source has {source.Length} elements; [{rows}, {cols}] needs {(long)rows * cols}.", nameof(source));
        if (destination.Length < cols)
            throw new ArgumentException($"Destination has {destination.Length} elements; {cols} columns need {cols}.", nameof(destination));
        var dst = destination.Slice(0, cols);
        if (!accumulate) dst.Clear();
        if (cols == 0) return;
        int i = 0;
        // Two rows per pass halves the read-modify-write traffic on the destination.
        for (; i + 1 < rows; i += 2)
        {
            var r0 = source.Slice(i * cols, cols);
            var r1 = source.Slice((i + 1) * cols, cols);
            TensorPrimitives.Add(dst, r0, dst);
            TensorPrimitives.Add(dst, r1, dst);
        }
        if (i < rows) TensorPrimitives.Add(dst, source.Slice(i * cols, cols), dst);
    }

    /// <summary>
    /// Softmax cross-entropy over rows of <paramref name="logits"/> [rows, classes] with integer class
    /// <paramref name="labels"/> [rows]: returns the mean loss and writes
    /// <c>dLogits = (softmax(logits) − onehot(labels)) · <paramref name="gradScale"/></c>
    /// (gradScale defaults to 1/rows, the gradient of the mean loss). Numerically stable (the row max is
    /// subtracted before exponentiating). <paramref name="dLogits"/> may be the same span as <paramref name="logits"/>.
    /// With <paramref name="labelSmoothing"/> ε (PyTorch's <c>label_smoothing</c>, in [0, 1]) the target row is
    /// q = (1 − ε)·onehot + ε/classes: the row's loss is (1 − ε)·(lse − x[label]) + ε·mean_k(lse − x[k]) =
    /// lse − (1 − ε)·x[label] − ε·mean(x), and <c>dLogits = (softmax − q) · gradScale</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes); the message names the row and label. Nothing is written.</exception>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes,
        Span<float> dLogits, float gradScale = float.NaN, float labelSmoothing = 0f)
    {
        CheckArguments(logits, labels, rows, classes, labelSmoothing);
        if (dLogits.Length < (long)rows * classes)
            throw new ArgumentException($"dLogits has {dLogits.Length} elements; [{rows}, {classes}] needs {(long)rows * classes}.", nameof(dLogits));
        if (rows == 0) return 0f;
        float scale = float.IsNaN(gradScale) ? 1f / rows : gradScale;
        double total = 0;
        for (int i = 0; i < rows; i++)
        {
            var x = logits.Slice(i * classes, classes);
            var d = dLogits.Slice(i * classes, classes);
            int label = labels[i];
            float max = TensorPrimitives.Max(x);
            float shiftedLabel = x[label] - max; // read before d (possibly x itself) is overwritten
            if (labelSmoothing != 0f)
            {
                float shiftedMean = TensorPrimitives.Sum(x) / classes - max;
                total -= labelSmoothing * (double)(shiftedMean - shiftedLabel); // lse − (1 − ε)·x[label] − ε·mean(x), max subtracted
            }
            TensorPrimitives.Subtract(x, max, d);
            TensorPrimitives.Exp(d, d);
            float sum = TensorPrimitives.Sum(d);
            total += Math.Log(sum) - shiftedLabel;
            TensorPrimitives.Multiply(d, scale / sum, d);
            if (labelSmoothing != 0f)
            {
                TensorPrimitives.Subtract(d, scale * labelSmoothing / classes, d);
                d[label] -= scale * (1f - labelSmoothing);
            }
            else d[label] -= scale;
        }
        return (float)(total / rows);
    }

    /// <summary>
    /// Mean softmax cross-entropy loss only (no gradient), for evaluation; <paramref name="labelSmoothing"/> as in
    /// <see cref="SoftmaxCrossEntropy"/>. Same checks as <see cref="SoftmaxCrossEntropy"/>.
    /// </summary>
    public static float SoftmaxCrossEntropyLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes, float labelSmoothing = 0f)
    {
        CheckArguments(logits, labels, rows, classes, labelSmoothing);
        if (rows == 0) return 0f;
        double total = 0;
        for (int i = 0; i < rows; i++)
        {
            var x = logits.Slice(i * classes, classes);
            float max = TensorPrimitives.Max(x);
            double sum = 0;
            for (int j = 0; j < x.Length; j++) sum += MathF.Exp(x[j] - max);
            total += Math.Log(sum) - (x[labels[i]] - max);
            if (labelSmoothing != 0f) total -= labelSmoothing * (double)(TensorPrimitives.Sum(x) / classes - x[labels[i]]);
        }
        return (float)(total / rows);
    }

    private static void CheckArguments(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes, float labelSmoothing)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if (logits.Length < (long)rows * classes)
            throw new ArgumentException($"Logits have {logits.Length} elements; [{rows}, {classes}] needs {(long)rows * classes}.", nameof(logits));
        if (labels.Length < rows)
            throw new ArgumentException($"Labels have {labels.Length} elements; {rows} rows need {rows}.", nameof(labels));
        for (int i = 0; i < rows; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classes)
                ThrowLabel(i, label, classes);
        }
    }

    private static void ThrowLabel(int row, int label, int classes) =>
        throw new ArgumentOutOfRangeException("labels", label,
            $"Label {label} at row {row} is outside the class range [0, {classes}).");
}
