using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// select(axis, index) and slice(axis, start, end): x viewed as [outer, length, inner] (length: the axis; outer and
// inner: the dims before and after it) → y [outer, count, inner], rows begin .. begin + count − 1 of the axis, where
// begin = start, or start + length for a negative start (counted from the end, as PyTorch's x[:, -1]). select is a
// slice of count 1 whose axis the generated code drops from y's shape.
//   forward:  y[o, r, i] = x[o, begin + r, i];   backward: dx[o, begin + r, i] (+)= dy[o, r, i], the other rows (+)= 0.
// The bounds are checked at run time, where the axis may be symbolic (a length T shorter than the slice's end throws).
// One pass over the destination; no allocation.
public static class Narrow
{
    /// <summary><c>y = x[.., begin : begin + count, ..]</c> along the middle axis of x [outer, length, inner].</summary>
    public static void Forward(int outer, int length, int inner, int start, int count, ReadOnlySpan<float> x, Span<float> y)
    {
        int begin = Begin(outer, length, inner, start, count);
        LayerArgs.Length(x.Length, nameof(x), "[outer, length, inner]", outer, length, inner);
        LayerArgs.Length(y.Length, nameof(y), "[outer, count, inner]", outer, count, inner);
        int rows = count * inner, stride = length * inner;
        for (int o = 0; o < outer; o++) x.Slice(o * stride + begin * inner, rows).CopyTo(y.Slice(o * rows, rows));
    }

    /// <summary><c>dx[.., begin : begin + count, ..] (+)= dy</c>; without <paramref name="accumulate"/> the other rows of dx are zeroed.</summary>
    public static void Backward(int outer, int length, int inner, int start, int count, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        int begin = Begin(outer, length, inner, start, count);
        LayerArgs.Length(dx.Length, nameof(dx), "[outer, length, inner]", outer, length, inner);
        LayerArgs.Length(dy.Length, nameof(dy), "[outer, count, inner]", outer, count, inner);
        int rows = count * inner, stride = length * inner;
        if (!accumulate) dx.Slice(0, outer * stride).Clear();
        for (int o = 0; o < outer; o++)
        {
            var source = dy.Slice(o * rows, rows);
            var destination = dx.Slice(o * stride + begin * inner, rows);
            for (int i = 0; i < rows; i++) destination[i] += source[i];
        }
    }

    /// <summary>The first row taken, after checking the sizes and that rows begin .. begin + count − 1 lie on the axis.</summary>
    public static int Begin(int outer, int length, int inner, int start, int count)
    {
        LayerArgs.Positive(outer, nameof(outer));
        LayerArgs.Positive(length, nameof(length));
        LayerArgs.Positive(inner, nameof(inner));
        LayerArgs.Positive(count, nameof(count));
        long begin = start < 0 ? (long)start + length : start;
        if (begin < 0 || begin + count > length)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"rows {begin}..{begin + count - 1} (start {start}, count {count}) are outside an axis of length {length}");
        return (int)begin;
    }
}
