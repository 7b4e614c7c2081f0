using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime;

/// <summary>Accuracy counts for a batch; allocation-free so the training loop can call them every step.</summary>
public static class Metrics
{
    /// <summary>
    /// Rows of <paramref name="logits"/> [rows, classes] whose argmax equals the label. Ties go to the lowest
    /// index (as torch.argmax); a row containing NaN predicts its first NaN, so it is almost never counted correct.
    /// </summary>
    public static int CountCorrect(ReadOnlySpan<float> logits, int rows, int classes, ReadOnlySpan<int> labels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length < (long)rows * classes)
            throw new ArgumentException($"logits has {logits.Length} elements; [{rows}, {classes}] needs {(long)rows * classes}.", nameof(logits));
        if (labels.Length < rows)
            throw new ArgumentException($"labels has {labels.Length} elements; {rows} rows need {rows}.", nameof(labels));
        int correct = 0;
        for (int r = 0; r < rows; r++)
        {
            if (TensorPrimitives.IndexOfMax(logits.Slice(r * classes, classes)) == labels[r]) correct++;
        }
        return correct;
    }

    /// <summary>The argmax of each row of <paramref name="logits"/> [rows, classes] (ties to the lowest index), into <paramref name="classesOut"/>.</summary>
    public static void ArgMax(ReadOnlySpan<float> logits, int rows, int classes, Span<int> classesOut)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length < (long)rows * classes)
            throw new ArgumentException($"logits has {logits.Length} elements; [{rows}, {classes}] needs {(long)rows * classes}.", nameof(logits));
        if (classesOut.Length < rows)
            throw new ArgumentException($"the output has {classesOut.Length} elements; {rows} rows need {rows}.", nameof(classesOut));
        for (int r = 0; r < rows; r++) classesOut[r] = TensorPrimitives.IndexOfMax(logits.Slice(r * classes, classes));
    }

    /// <summary>
    /// Binary predictions: <c>value &gt; threshold</c> is class 1 (use 0.5 for probabilities, 0 for logits);
    /// a target counts as class 1 when it is at least 0.5 (so soft 0/1 targets work).
    /// </summary>
    public static int CountCorrectBinary(ReadOnlySpan<float> probabilityOrLogit, ReadOnlySpan<float> targets, float threshold)
    {
        if (targets.Length != probabilityOrLogit.Length)
            throw new ArgumentException($"targets has {targets.Length} elements but there are {probabilityOrLogit.Length} predictions.", nameof(targets));
        int correct = 0;
        for (int i = 0; i < probabilityOrLogit.Length; i++)
        {
            if ((probabilityOrLogit[i] > threshold) == (targets[i] >= 0.5f)) correct++;
        }
        return correct;
    }
}
