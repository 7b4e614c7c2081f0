using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// softmax over the last axis:
//   x [rows, n] (rows = product of the leading dims)  →  y [rows, n],  y = exp(x − max) / Σ exp(x − max)  (stable)
// Backward from the saved output: dx = y ⊙ (dy − Σⱼ dy·y)   (per row)
// A softmax over another axis is a transpose away; the generator only emits the last axis.
public static class Softmax
{
    /// <summary><c>y = softmax(x)</c> per row. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static void Forward(int rows, int cols, ReadOnlySpan<float> x, Span<float> y)
    {
        Check(rows, cols, x.Length, nameof(x), y.Length, nameof(y));
        for (int r = 0; r < rows; r++)
            Row(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    /// <summary>One row: <c>y = exp(x − max x) / Σ exp(x − max x)</c>. <paramref name="y"/> may be <paramref name="x"/>.</summary>
    internal static void Row(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
    }

    /// <summary>
    /// <c>dx (+)= y ⊙ (dy − Σ dy·y)</c> per row from the forward's output <paramref name="y"/>. Without
    /// <paramref name="accumulate"/>, <paramref name="dx"/> may be <paramref name="dy"/> itself.
    /// </summary>
    public static void Backward(int rows, int cols, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        Check(rows, cols, y.Length, nameof(y), dx.Length, nameof(dx));
        LayerArgs.Length(dy.Length, nameof(dy), "[rows, n]", rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * cols, cols);
            var gr = dy.Slice(r * cols, cols);
            var dr = dx.Slice(r * cols, cols);
            float dot = TensorPrimitives.Dot(gr, yr);
            if (accumulate)
            {
                for (int j = 0; j < cols; j++) dr[j] += yr[j] * (gr[j] - dot);
            }
            else
            {
                TensorPrimitives.Subtract(gr, dot, dr);
                TensorPrimitives.Multiply(dr, yr, dr);
            }
        }
    }

    private static void Check(int rows, int cols, int inLength, string inName, int outLength, string outName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        LayerArgs.Positive(cols, nameof(cols));
        LayerArgs.Length(inLength, inName, "[rows, n]", rows, cols);
        LayerArgs.Length(outLength, outName, "[rows, n]", rows, cols);
    }
}
