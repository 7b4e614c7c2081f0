using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// concat(x₀, x₁, …, axis) of row-major tensors equal in every dimension but axis:
//   input i viewed as [rows, widthᵢ] with rows = the product of the dims before axis and widthᵢ = dᵢ·inner (inner = the
//   product of the dims after it); the output as [rows, outputWidth], outputWidth = Σ widthᵢ. Input i fills the output's
//   columns [offsetᵢ, offsetᵢ + widthᵢ), offsetᵢ = Σ_{j<i} widthⱼ. One call per input.
// Backward: dxᵢ (+)= the same columns of dy (the copy passes the gradient through).
public static class Concat
{
    /// <summary><c>y[r, offset + c] = x[r, c]</c> for <c>c &lt; width</c>: input <paramref name="x"/>'s columns of <paramref name="y"/>.</summary>
    public static void Forward(int rows, int width, int outputWidth, int offset, ReadOnlySpan<float> x, Span<float> y)
    {
        Check(rows, width, outputWidth, offset, x.Length, nameof(x), y.Length, nameof(y));
        for (int r = 0; r < rows; r++)
            x.Slice(r * width, width).CopyTo(y.Slice(r * outputWidth + offset, width));
    }

    /// <summary><c>dx[r, c] (+)= dy[r, offset + c]</c> for <c>c &lt; width</c>: the gradient of one input, read from its columns of <paramref name="dy"/>.</summary>
    public static void Backward(int rows, int width, int outputWidth, int offset, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        Check(rows, width, outputWidth, offset, dx.Length, nameof(dx), dy.Length, nameof(dy));
        for (int r = 0; r < rows; r++)
        {
            var g = dy.Slice(r * outputWidth + offset, width);
            var d = dx.Slice(r * width, width);
            if (accumulate) TensorPrimitives.Add(d, g, d);
            else g.CopyTo(d);
        }
    }

    private static void Check(int rows, int width, int outputWidth, int offset, int partLength, string partName, int wholeLength, string wholeName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        LayerArgs.Positive(width, nameof(width));
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((long)offset + width > outputWidth)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"columns [{offset}, {(long)offset + width}) do not fit in rows of {outputWidth}.");
        LayerArgs.Length(partLength, partName, "[rows, width]", rows, width);
        LayerArgs.Length(wholeLength, wholeName, "[rows, outputWidth]", rows, outputWidth);
    }
}
