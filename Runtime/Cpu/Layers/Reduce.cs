using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// mean / sum (ReduceSum) and max (ReduceMax) over one axis: x viewed as [outer, length, inner] (length: the axis;
// outer and inner: the dims before and after it) → y [outer, inner]. An optional mask w [outer, length] (f32, or i32
// in intMask; at most one is non-empty) weighs the positions of the axis, as sentence-transformers' mean pooling:
//   sum:  y[o, i] = Σ_t x[o, t, i]·w[o, t]                 (w = 1 without a mask)
//   mean: y[o, i] = Σ_t x[o, t, i]·w[o, t] / max(Σ_t w[o, t], 1e-9)   (without a mask: / length)
//         backward: dx[o, t, i] (+)= dy[o, i]·w[o, t] (/ the same denominator)
//   max:  y[o, i] = max over the positions t with w[o, t] ≠ 0 (all of them without a mask); the first winner on ties,
//         a NaN wins (propagates), as PyTorch; indices[o, i] = the winner's t, or -1 (y = 0, no gradient) when every
//         position is masked;   backward: dx[o, indices[o, i], i] (+)= dy[o, i], the other positions (+)= 0.
// Sums run over t in order in float (the CUDA kernels use the same order). The mask gets no gradient: it is data,
// like PyTorch's integer attention_mask. No allocation.
public static class ReduceSum
{
    /// <summary>The smallest mask total mean divides by (sentence-transformers' <c>torch.clamp(sum_mask, min=1e-9)</c>).</summary>
    public const float MinMaskTotal = 1e-9f;

    /// <summary><c>y[o, i] = Σ_t x[o, t, i]·w[o, t]</c>, divided by the mask total (or the length) when <paramref name="mean"/>.</summary>
    public static void Forward(int outer, int length, int inner, bool mean, ReadOnlySpan<float> mask, ReadOnlySpan<int> intMask, ReadOnlySpan<float> x, Span<float> y)
    {
        ReduceArgs.Check(outer, length, inner, mask.Length, intMask.Length, x.Length, y.Length, "x", "y");
        int stride = length * inner;
        for (int o = 0; o < outer; o++)
        {
            // Rows in order, each added to the whole output row: every y[o, i] still sums over t in order (the CUDA
            // kernel's order), while x is read contiguously.
            var output = y.Slice(o * inner, inner);
            output.Clear();
            for (int t = 0; t < length; t++)
            {
                float w = ReduceArgs.Weight(o, t, length, mask, intMask);
                var row = x.Slice(o * stride + t * inner, inner);
                for (int i = 0; i < inner; i++) output[i] += row[i] * w;
            }
            float scale = Scale(o, length, mean, mask, intMask);
            for (int i = 0; i < inner; i++) output[i] *= scale;
        }
    }

    /// <summary><c>dx[o, t, i] (+)= dy[o, i]·w[o, t]</c>, divided as the forward divides.</summary>
    public static void Backward(int outer, int length, int inner, bool mean, ReadOnlySpan<float> mask, ReadOnlySpan<int> intMask, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        ReduceArgs.Check(outer, length, inner, mask.Length, intMask.Length, dx.Length, dy.Length, "dx", "dy");
        int stride = length * inner;
        for (int o = 0; o < outer; o++)
        {
            float scale = Scale(o, length, mean, mask, intMask);
            var gradient = dy.Slice(o * inner, inner);
            for (int t = 0; t < length; t++)
            {
                float w = ReduceArgs.Weight(o, t, length, mask, intMask) * scale;
                var row = dx.Slice(o * stride + t * inner, inner);
                if (accumulate) for (int i = 0; i < inner; i++) row[i] += gradient[i] * w;
                else for (int i = 0; i < inner; i++) row[i] = gradient[i] * w;
            }
        }
    }

    /// <summary>1 for sum; for mean 1/length, or 1/max(Σ_t w[o, t], 1e-9) with a mask.</summary>
    private static float Scale(int o, int length, bool mean, ReadOnlySpan<float> mask, ReadOnlySpan<int> intMask)
    {
        if (!mean) return 1f;
        if (mask.IsEmpty && intMask.IsEmpty) return 1f / length;
        float total = 0f;
        for (int t = 0; t < length; t++) total += ReduceArgs.Weight(o, t, length, mask, intMask);
        return 1f / MathF.Max(total, MinMaskTotal);
    }
}

public static class ReduceMax
{
    /// <summary><c>y[o, i] = max_t x[o, t, i]</c> over the unmasked positions; <paramref name="indices"/>[o, i] = the winner's t (−1 and y = 0 when all are masked).</summary>
    public static void Forward(int outer, int length, int inner, ReadOnlySpan<float> mask, ReadOnlySpan<int> intMask, ReadOnlySpan<float> x, Span<float> y, Span<int> indices)
    {
        ReduceArgs.Check(outer, length, inner, mask.Length, intMask.Length, x.Length, y.Length, "x", "y");
        LayerArgs.Length(indices.Length, nameof(indices), "[outer, inner]", outer, inner);
        int stride = length * inner;
        for (int o = 0; o < outer; o++)
        {
            // Rows in order, each compared with the running winners (x read contiguously); per (o, i) the scan over t
            // is the same in-order scan as the CUDA kernel's, so ties and NaNs resolve alike.
            var value = y.Slice(o * inner, inner);
            var best = indices.Slice(o * inner, inner);
            value.Clear();
            best.Fill(-1);
            for (int t = 0; t < length; t++)
            {
                if (ReduceArgs.Weight(o, t, length, mask, intMask) == 0f) continue;
                var row = x.Slice(o * stride + t * inner, inner);
                for (int i = 0; i < inner; i++)
                {
                    float v = row[i];
                    if (best[i] < 0 || v > value[i] || (float.IsNaN(v) && !float.IsNaN(value[i])))
                    {
                        value[i] = v;
                        best[i] = t;
                    }
                }
            }
        }
    }

    /// <summary><c>dx[o, indices[o, i], i] (+)= dy[o, i]</c>; without <paramref name="accumulate"/> the other positions are zeroed.</summary>
    public static void Backward(int outer, int length, int inner, ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, Span<float> dx, bool accumulate = false)
    {
        ReduceArgs.Check(outer, length, inner, 0, 0, dx.Length, dy.Length, "dx", "dy");
        LayerArgs.Length(indices.Length, nameof(indices), "[outer, inner]", outer, inner);
        int stride = length * inner;
        if (!accumulate) dx.Slice(0, outer * stride).Clear();
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int winner = indices[o * inner + i];
                if (winner == -1) continue;
                if ((uint)winner >= (uint)length) throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{o * inner + i}] = {winner} is outside an axis of length {length}");
                dx[o * stride + winner * inner + i] += dy[o * inner + i];
            }
        }
    }
}

/// <summary>The checks and the mask read both reductions share.</summary>
internal static class ReduceArgs
{
    public static void Check(int outer, int length, int inner, int maskLength, int intMaskLength, int fullLength, int reducedLength, string fullName, string reducedName)
    {
        LayerArgs.Positive(outer, nameof(outer));
        LayerArgs.Positive(length, nameof(length));
        LayerArgs.Positive(inner, nameof(inner));
        LayerArgs.Length(fullLength, fullName, "[outer, length, inner]", outer, length, inner);
        LayerArgs.Length(reducedLength, reducedName, "[outer, inner]", outer, inner);
        if (maskLength != 0 && intMaskLength != 0) throw new ArgumentException("give the mask as f32 (mask) or as i32 (intMask), not both", "intMask");
        if (maskLength != 0) LayerArgs.Length(maskLength, "mask", "[outer, length]", outer, length);
        if (intMaskLength != 0) LayerArgs.Length(intMaskLength, "intMask", "[outer, length]", outer, length);
    }

    /// <summary>w[o, t]: the mask's value (an i32 mask converted), or 1 without a mask.</summary>
    public static float Weight(int o, int t, int length, ReadOnlySpan<float> mask, ReadOnlySpan<int> intMask) =>
        !mask.IsEmpty ? mask[o * length + t] : !intMask.IsEmpty ? intMask[o * length + t] : 1f;
}
