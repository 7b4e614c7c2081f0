using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// One row: <c>y = exp(x − max x) / Σ exp(x − max x)</c>. <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    /// <remarks>
    /// Three passes of Vector256 (max; exp(x − max) stored and summed; scaled by 1/Σ) instead of five
    /// TensorPrimitives calls: attention calls this once per row of T keys (B·heads·T rows of 128 in a BERT layer),
    /// where the calls' fixed cost outweighed the work (bench/compare.sh --kernels, bert.k.attention-fwd). The
    /// exponentials are <see cref="Vector256.Exp(Vector256{float})"/>, the function TensorPrimitives.Exp applies per
    /// lane; only the order of the sum differs (SoftmaxTests checks the two against each other). Rows shorter than a
    /// vector take the TensorPrimitives form.
    /// </remarks>
    internal static void Row(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, width = Vector256<float>.Count;
        if (n < width)
        {
            float max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, y);
            TensorPrimitives.Exp(y, y);
            TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
            return;
        }
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int full = n - n % width; // the lanes [full, n) are covered by one last vector ending at n
        // Read before anything is written: when y is x, the overlapping last vector must still see x.
        var tail = Vector256.LoadUnsafe(ref xs, (nuint)(n - width));
        var vmax = tail;
        for (int j = 0; j < full; j += width) vmax = Vector256.Max(vmax, Vector256.LoadUnsafe(ref xs, (nuint)j));
        var m = Vector256.Create(MaxAcross(vmax));
        var vsum = Vector256<float>.Zero;
        for (int j = 0; j < full; j += width)
        {
            var e = Vector256.Exp(Vector256.LoadUnsafe(ref xs, (nuint)j) - m);
            vsum += e;
            e.StoreUnsafe(ref ys, (nuint)j);
        }
        if (full < n)
        {
            // Lanes below width − (n − full) were done by the loop: count only the new ones, store all (same values).
            var e = Vector256.Exp(tail - m);
            var fresh = Vector256.GreaterThanOrEqual(Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f), Vector256.Create((float)(width - (n - full))));
            vsum += e & fresh;
            e.StoreUnsafe(ref ys, (nuint)(n - width));
        }
        var scale = Vector256.Create(1f / Vector256.Sum(vsum));
        for (int j = 0; j < full; j += width) (Vector256.LoadUnsafe(ref ys, (nuint)j) * scale).StoreUnsafe(ref ys, (nuint)j);
        if (full < n)
        {
            // The overlapping lanes were scaled above: rescale only the fresh ones from their stored exponentials.
            for (int j = full; j < n; j++) Unsafe.Add(ref ys, j) *= scale.ToScalar();
        }
    }

    /// <summary>
    /// One row of the softmax backward in place: <c>g = (g − Σ g·y) ⊙ y</c>, the dot as <see cref="TensorPrimitives.Dot"/>
    /// and then one Vector256 pass (subtract, multiply: the same float operations per element as the two
    /// TensorPrimitives calls attention's backward made per row of T, minus a call and a pass).
    /// </summary>
    internal static void BackwardRowInPlace(ReadOnlySpan<float> y, Span<float> g)
    {
        int n = y.Length;
        float dot = TensorPrimitives.Dot(y, g);
        ref float ys = ref MemoryMarshal.GetReference(y);
        ref float gs = ref MemoryMarshal.GetReference(g);
        var vdot = Vector256.Create(dot);
        int j = 0;
        for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            ((Vector256.LoadUnsafe(ref gs, (nuint)j) - vdot) * Vector256.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref gs, (nuint)j);
        for (; j < n; j++) Unsafe.Add(ref gs, j) = (Unsafe.Add(ref gs, j) - dot) * Unsafe.Add(ref ys, j);
    }

    private static float MaxAcross(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
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
