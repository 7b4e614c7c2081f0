using System;

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
                                float v = x[iy * w + ix];
                                if (v > max || (float.IsNaN(v) && !float.IsNaN(max)))
                                {
                                    max = v;
                                    best = iy * w + ix;
                                }
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
