using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime;

/// <summary>
/// The vectorised passes behind the non-finite checks: "is everything finite?" and "sum of squares and largest
/// magnitude" over a span. One read of the data, no allocation; the exact position is looked for only on failure.
/// </summary>
/// <remarks>
/// Finiteness is tested as <c>acc = x · 0 + acc</c> (one fused multiply-add): a finite x adds ±0, while NaN·0 and ±∞·0 are NaN and stay NaN, so one
/// multiply-add per element decides it (IEEE forbids folding <c>x · 0</c> to 0, so the JIT keeps it). Vector512 where the
/// machine has it, else Vector256, else a scalar loop; four independent accumulators hide the add latency. Measured on the
/// MLP step (bench/TrainStepBench --nonfinite), the pass over all 269,322 gradients costs tens of microseconds; splitting
/// it across threads did not pay at that size (the data is in cache right after the backward pass).
/// </remarks>
public static class FiniteScan
{
    /// <summary>The index of the first NaN or ±∞ in <paramref name="values"/>, or -1 when every element is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (AllFinite(values)) return -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return i;
        }
        return -1;
    }

    /// <summary>Whether every element is finite (no NaN, no ±∞).</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int n = values.Length;
        int i = 0;
        float tail = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 4 * Vector512<float>.Count)
        {
            var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            int step = Vector512<float>.Count;
            for (; i <= n - 4 * step; i += 4 * step)
            {
                a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref x, (nuint)i), Vector512<float>.Zero, a0);
                a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref x, (nuint)(i + step)), Vector512<float>.Zero, a1);
                a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref x, (nuint)(i + 2 * step)), Vector512<float>.Zero, a2);
                a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref x, (nuint)(i + 3 * step)), Vector512<float>.Zero, a3);
            }
            if (!Vector512.EqualsAll((a0 + a1) + (a2 + a3), Vector512<float>.Zero)) return false;
        }
        else if (Vector256.IsHardwareAccelerated && n >= 4 * Vector256<float>.Count)
        {
            var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            int step = Vector256<float>.Count;
            for (; i <= n - 4 * step; i += 4 * step)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256<float>.Zero, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref x, (nuint)(i + step)), Vector256<float>.Zero, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref x, (nuint)(i + 2 * step)), Vector256<float>.Zero, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref x, (nuint)(i + 3 * step)), Vector256<float>.Zero, a3);
            }
            if (!Vector256.EqualsAll((a0 + a1) + (a2 + a3), Vector256<float>.Zero)) return false;
        }
        for (; i < n; i++) tail += Unsafe.Add(ref x, i) * 0f;
        return tail == 0f;
    }

    /// <summary>
    /// Σ x², accumulated in float lanes (four independent vector accumulators, a fused multiply-add where the machine has
    /// one) and summed in double. A NaN or ±∞ element makes the sum non-finite; the sum can also overflow to +∞ from finite
    /// elements above about 1.8e19, so callers that see a non-finite sum look for the element with
    /// <see cref="IndexOfNonFinite"/> before blaming one. √sum bounds every |x|, which is all the update check needs.
    /// </summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int n = values.Length;
        int i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 4 * Vector512<float>.Count)
        {
            var s0 = Vector512<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            int step = Vector512<float>.Count;
            for (; i <= n - 4 * step; i += 4 * step)
            {
                var v0 = Vector512.LoadUnsafe(ref x, (nuint)i);
                var v1 = Vector512.LoadUnsafe(ref x, (nuint)(i + step));
                var v2 = Vector512.LoadUnsafe(ref x, (nuint)(i + 2 * step));
                var v3 = Vector512.LoadUnsafe(ref x, (nuint)(i + 3 * step));
                s0 = Vector512.MultiplyAddEstimate(v0, v0, s0);
                s1 = Vector512.MultiplyAddEstimate(v1, v1, s1);
                s2 = Vector512.MultiplyAddEstimate(v2, v2, s2);
                s3 = Vector512.MultiplyAddEstimate(v3, v3, s3);
            }
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 4 * Vector256<float>.Count)
        {
            var s0 = Vector256<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            int step = Vector256<float>.Count;
            for (; i <= n - 4 * step; i += 4 * step)
            {
                var v0 = Vector256.LoadUnsafe(ref x, (nuint)i);
                var v1 = Vector256.LoadUnsafe(ref x, (nuint)(i + step));
                var v2 = Vector256.LoadUnsafe(ref x, (nuint)(i + 2 * step));
                var v3 = Vector256.LoadUnsafe(ref x, (nuint)(i + 3 * step));
                s0 = Vector256.MultiplyAddEstimate(v0, v0, s0);
                s1 = Vector256.MultiplyAddEstimate(v1, v1, s1);
                s2 = Vector256.MultiplyAddEstimate(v2, v2, s2);
                s3 = Vector256.MultiplyAddEstimate(v3, v3, s3);
            }
            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref x, i);
            sum += v * v;
        }
        return sum;
    }

    /// <summary>
    /// <c>row 3, column 17</c> for flat index 2369 of a tensor of shape [B, 784]: the batch row, then the position within
    /// the row (one index for rank 2, a bracketed index for higher ranks: <c>row 3, position [0, 5, 17]</c>).
    /// </summary>
    public static string Position(ReadOnlySpan<int> shape, long index)
    {
        if (shape.Length == 0) return "the scalar";
        if (shape.Length == 1) return $"row {index}";
        long rowLength = 1;
        for (int d = 1; d < shape.Length; d++) rowLength *= shape[d];
        long row = index / rowLength, rest = index % rowLength;
        if (shape.Length == 2) return $"row {row}, column {rest}";
        var position = new long[shape.Length - 1];
        for (int d = shape.Length - 1; d >= 1; d--)
        {
            position[d - 1] = rest % shape[d];
            rest /= shape[d];
        }
        return $"row {row}, position [{string.Join(", ", position)}]";
    }

    /// <summary><c>NaN</c>, <c>+Infinity</c> or <c>-Infinity</c>.</summary>
    public static string Describe(float value) => float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
}
