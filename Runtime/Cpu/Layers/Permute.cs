using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// permute(d0, d1, ...), rank ≤ 4, padded in front with size-1 axes: a copy of a source tensor into a permutation of its
// axes. The destination [n0, n1, n2, n3] is written in row-major order; destination element (i0, i1, i2, i3) reads
// the source at i0·t0 + i1·t1 + i2·t2 + i3·t3, t_k the source's stride along the axis that becomes axis k.
//   forward:  y = x permuted;   backward: dx (+)= dy permuted back (the same copy with the inverse permutation).
// One pass, destination in order; no allocation.
public static class Permute
{
    /// <summary><c>y = x</c> with its axes permuted: y[i0, i1, i2, i3] = x[i0·t0 + i1·t1 + i2·t2 + i3·t3].</summary>
    public static void Forward(int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, ReadOnlySpan<float> x, Span<float> y) =>
        Copy(n0, n1, n2, n3, t0, t1, t2, t3, x, y, accumulate: false);

    /// <summary><c>dx (+)= dy</c> permuted back; the sizes and strides are the inverse permutation's (over dy).</summary>
    public static void Backward(int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false) =>
        Copy(n0, n1, n2, n3, t0, t1, t2, t3, dy, dx, accumulate);

    private static void Copy(int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, ReadOnlySpan<float> source, Span<float> destination, bool accumulate)
    {
        LayerArgs.Positive(n0, nameof(n0));
        LayerArgs.Positive(n1, nameof(n1));
        LayerArgs.Positive(n2, nameof(n2));
        LayerArgs.Positive(n3, nameof(n3));
        LayerArgs.Length(destination.Length, nameof(destination), "[n0, n1, n2, n3]", n0, n1, n2, n3);
        long last = (long)(n0 - 1) * t0 + (long)(n1 - 1) * t1 + (long)(n2 - 1) * t2 + (long)(n3 - 1) * t3;
        LayerArgs.Length(source.Length, last + 1, nameof(source), "the permuted source");
        int o = 0;
        for (int i0 = 0; i0 < n0; i0++)
            for (int i1 = 0; i1 < n1; i1++)
                for (int i2 = 0; i2 < n2; i2++)
                {
                    int at = i0 * t0 + i1 * t1 + i2 * t2;
                    if (accumulate) for (int i3 = 0; i3 < n3; i3++, o++) destination[o] += source[at + i3 * t3];
                    else for (int i3 = 0; i3 < n3; i3++, o++) destination[o] = source[at + i3 * t3];
                }
    }
}
