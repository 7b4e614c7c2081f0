using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime.Cpu.Layers;

// max_pool2d(kernel=k, stride=s, padding=p), NCHW, PyTorch semantics:
//   x [N, C, H, W] → y [N, C, H', W'], y = max over the window's elements inside the image (padding never wins);
//   ties keep the first element in row-major window order; a NaN in the window wins (propagates).
//   indices [N, C, H', W'] (int): the winner's position inside its input plane, ih·W + iw (PyTorch's return_indices).
// Backward: dx[plane, indices[o]] += dy[o] for every output o; overlapping windows (s < k) add up.
// Parallel over groups of planes.
public static unsafe class MaxPool2d
{
    /// <summary><c>y = max_pool2d(x)</c>, writing each winner's in-plane index to <paramref name="indices"/> for <see cref="Backward"/>.</summary>
    public static void Forward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> indices)
    {
        g.ThrowIfDefault();
        LayerArgs.Length(x.Length, nameof(x), "[N, C, H, W]", g.Batch, g.Channels, g.Height, g.Width);
        LayerArgs.Length(y.Length, nameof(y), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        LayerArgs.Length(indices.Length, nameof(indices), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (int* pi = indices)
        {
            int per = g.PlanesPerItem();
            var job = new ForwardJob { G = g, X = px, Y = py, Indices = pi, PlanesPerItem = per };
            CpuWorkers.Run(in job, (g.Planes + per - 1) / per);
        }
    }

    private struct ForwardJob : IParallelJob
    {
        public Pool2dGeometry G;
        public float* X, Y;
        public int* Indices;
        public int PlanesPerItem;

        public void Run(int item)
        {
            int h = G.Height, w = G.Width, oh = G.OutHeight, ow = G.OutWidth, k = G.Kernel, s = G.Stride, p = G.Padding;
            int end = Math.Min(G.Planes, (item + 1) * PlanesPerItem);
            for (int plane = item * PlanesPerItem; plane < end; plane++)
            {
                float* x = X + (long)plane * h * w;
                float* y = Y + (long)plane * oh * ow;
                int* index = Indices + (long)plane * oh * ow;
                if (k == 2 && s == 2 && p == 0 && Sse.IsSupported)
                {
                    Plane2x2(x, y, index, w, oh, ow);
                    continue;
                }
                for (int oy = 0; oy < oh; oy++)
                {
                    int y0 = Math.Max(oy * s - p, 0), y1 = Math.Min(oy * s - p + k, h);
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int x0 = Math.Max(ox * s - p, 0), x1 = Math.Min(ox * s - p + k, w);
                        int best = y0 * w + x0;
                        float max = x[best];
                        for (int iy = y0; iy < y1; iy++)
                        {
                            for (int ix = x0; ix < x1; ix++)
                            {
                                int at = iy * w + ix;
                                Take(ref max, ref best, x[at], at);
                            }
                        }
                        y[oy * ow + ox] = max;
                        index[oy * ow + ox] = best;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The common 2×2 window with stride 2 and no padding (every window inside the plane), four outputs at a time: each
    /// input row pair is split into its even and odd columns, and the four window elements are compared in row-major
    /// order with the scalar loop's rule (larger wins, NaN wins over a number, ties keep the first), as masks.
    /// </summary>
    private static void Plane2x2(float* x, float* y, int* index, int w, int oh, int ow)
    {
        for (int oy = 0; oy < oh; oy++)
        {
            float* r0 = x + (long)(2 * oy) * w;
            float* r1 = r0 + w;
            int ox = 0;
            for (; ox + 4 <= ow; ox += 4)
            {
                var a0 = Vector128.Load(r0 + 2 * ox);
                var a1 = Vector128.Load(r0 + 2 * ox + 4);
                var b0 = Vector128.Load(r1 + 2 * ox);
                var b1 = Vector128.Load(r1 + 2 * ox + 4);
                var first = 2 * oy * w + 2 * ox;
                var at = Vector128.Create(first, first + 2, first + 4, first + 6);
                var max = Sse.Shuffle(a0, a1, 0b10_00_10_00); // (2oy, 2ox + 2j)
                var best = at;
                Take(ref max, ref best, Sse.Shuffle(a0, a1, 0b11_01_11_01), at + Vector128<int>.One);
                Take(ref max, ref best, Sse.Shuffle(b0, b1, 0b10_00_10_00), at + Vector128.Create(w));
                Take(ref max, ref best, Sse.Shuffle(b0, b1, 0b11_01_11_01), at + Vector128.Create(w + 1));
                max.Store(y + oy * ow + ox);
                best.Store(index + oy * ow + ox);
            }
            for (; ox < ow; ox++)
            {
                int first = 2 * oy * w + 2 * ox, best = first;
                float max = x[first];
                Take(ref max, ref best, x[first + 1], first + 1);
                Take(ref max, ref best, x[first + w], first + w);
                Take(ref max, ref best, x[first + w + 1], first + w + 1);
                y[oy * ow + ox] = max;
                index[oy * ow + ox] = best;
            }
        }
    }

    /// <summary>
    /// One window element against the best so far: a larger value wins, a NaN wins over a number, ties keep the first.
    /// Which element wins depends on the data (after a ReLU, close to a coin toss), so a branch here mispredicts about
    /// half the time; this selects with masks instead (the non-short-circuit &amp; and | keep each comparison a flag).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref float max, ref int best, float v, int at)
    {
        bool take = (v > max) | (float.IsNaN(v) & !float.IsNaN(max));
        int mask = -(int)Unsafe.BitCast<bool, byte>(take);
        max = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(v) & mask) | (BitConverter.SingleToInt32Bits(max) & ~mask));
        best = (at & mask) | (best & ~mask);
    }

    /// <summary>The same rule as the scalar <see cref="Take(ref float, ref int, float, int)"/>, four windows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector128<float> max, ref Vector128<int> best, Vector128<float> v, Vector128<int> at)
    {
        // x == x is false only for NaN.
        var take = Vector128.GreaterThan(v, max) | (~Vector128.Equals(v, v) & Vector128.Equals(max, max));
        max = Vector128.ConditionalSelect(take, v, max);
        best = Vector128.ConditionalSelect(take.AsInt32(), at, best);
    }

    /// <summary>
    /// <c>dx (+)= scatter(dy, indices)</c>: each output gradient goes to the input element that won its window.
    /// Indices outside the plane (not written by <see cref="Forward"/>) throw.
    /// </summary>
    public static void Backward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, Span<float> dx,
        bool accumulate = false)
    {
        g.ThrowIfDefault();
        LayerArgs.Length(dy.Length, nameof(dy), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        LayerArgs.Length(indices.Length, nameof(indices), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        LayerArgs.Length(dx.Length, nameof(dx), "[N, C, H, W]", g.Batch, g.Channels, g.Height, g.Width);
        uint planeSize = (uint)(g.Height * g.Width);
        for (int i = 0; i < g.OutputLength; i++)
            if ((uint)indices[i] >= planeSize) ThrowIndex(i, indices[i], g);
        fixed (float* pdy = dy)
        fixed (int* pi = indices)
        fixed (float* pdx = dx)
        {
            int per = g.PlanesPerItem();
            var job = new BackwardJob { G = g, DY = pdy, Indices = pi, DX = pdx, PlanesPerItem = per, Accumulate = accumulate };
            CpuWorkers.Run(in job, (g.Planes + per - 1) / per);
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public Pool2dGeometry G;
        public float* DY, DX;
        public int* Indices;
        public int PlanesPerItem;
        public bool Accumulate;

        public void Run(int item)
        {
            int inPlane = G.Height * G.Width, outPlane = G.OutHeight * G.OutWidth;
            int end = Math.Min(G.Planes, (item + 1) * PlanesPerItem);
            for (int plane = item * PlanesPerItem; plane < end; plane++)
            {
                float* dx = DX + (long)plane * inPlane;
                float* dy = DY + (long)plane * outPlane;
                int* index = Indices + (long)plane * outPlane;
                if (!Accumulate) new Span<float>(dx, inPlane).Clear();
                for (int o = 0; o < outPlane; o++) dx[index[o]] += dy[o];
            }
        }
    }

    private static void ThrowIndex(int position, int index, in Pool2dGeometry g) =>
        throw new ArgumentOutOfRangeException("indices", index,
            $"Max-pool index {index} at position {position} is outside the {g.Height}×{g.Width} input plane; pass the indices MaxPool2d.Forward wrote.");
}
