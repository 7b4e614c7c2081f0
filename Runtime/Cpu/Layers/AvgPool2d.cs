using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// avg_pool2d(kernel=k, stride=s, padding=p), NCHW, PyTorch defaults (count_include_pad=True, ceil_mode off):
//   x [N, C, H, W] → y [N, C, H', W'], y = (Σ of the window's elements inside the image) / k²
//   (padding counts as zeros in the divisor; with padding ≤ k/2 every window lies inside the padded input).
// Backward: dx[window] += dy / k² for every output; overlapping windows (s < k) add up.
// Parallel over groups of planes.
public static unsafe class AvgPool2d
{
    /// <summary><c>y = avg_pool2d(x)</c>.</summary>
    public static void Forward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        g.ThrowIfDefault();
        LayerArgs.Length(x.Length, nameof(x), "[N, C, H, W]", g.Batch, g.Channels, g.Height, g.Width);
        LayerArgs.Length(y.Length, nameof(y), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        fixed (float* px = x)
        fixed (float* py = y)
        {
            int per = g.PlanesPerItem();
            var job = new Job { G = g, X = px, Y = py, PlanesPerItem = per, Backward = false };
            CpuWorkers.Run(in job, (g.Planes + per - 1) / per);
        }
    }

    /// <summary><c>dx (+)= avg_pool2dᵀ(dy)</c>: each output gradient spread evenly (1/k²) over its window.</summary>
    public static void Backward(in Pool2dGeometry g, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        g.ThrowIfDefault();
        LayerArgs.Length(dy.Length, nameof(dy), "[N, C, H', W']", g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        LayerArgs.Length(dx.Length, nameof(dx), "[N, C, H, W]", g.Batch, g.Channels, g.Height, g.Width);
        fixed (float* pdy = dy)
        fixed (float* pdx = dx)
        {
            int per = g.PlanesPerItem();
            var job = new Job { G = g, X = pdx, Y = pdy, PlanesPerItem = per, Backward = true, Accumulate = accumulate };
            CpuWorkers.Run(in job, (g.Planes + per - 1) / per);
        }
    }

    /// <summary>Forward reads X and writes Y; backward reads Y (= dy) and writes X (= dx). Same windows either way.</summary>
    private struct Job : IParallelJob
    {
        public Pool2dGeometry G;
        public float* X, Y;
        public int PlanesPerItem;
        public bool Backward, Accumulate;

        public void Run(int item)
        {
            int h = G.Height, w = G.Width, oh = G.OutHeight, ow = G.OutWidth, k = G.Kernel, s = G.Stride, p = G.Padding;
            float scale = 1f / (k * k);
            int end = Math.Min(G.Planes, (item + 1) * PlanesPerItem);
            for (int plane = item * PlanesPerItem; plane < end; plane++)
            {
                float* x = X + (long)plane * h * w;
                float* y = Y + (long)plane * oh * ow;
                if (Backward && !Accumulate) new Span<float>(x, h * w).Clear();
                for (int oy = 0; oy < oh; oy++)
                {
                    int y0 = Math.Max(oy * s - p, 0), y1 = Math.Min(oy * s - p + k, h);
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int x0 = Math.Max(ox * s - p, 0), x1 = Math.Min(ox * s - p + k, w);
                        if (Backward)
                        {
                            float d = y[oy * ow + ox] * scale;
                            for (int iy = y0; iy < y1; iy++)
                                for (int ix = x0; ix < x1; ix++) x[iy * w + ix] += d;
                        }
                        else
                        {
                            float sum = 0f;
                            for (int iy = y0; iy < y1; iy++)
                                for (int ix = x0; ix < x1; ix++) sum += x[iy * w + ix];
                            y[oy * ow + ox] = sum * scale;
                        }
                    }
                }
            }
        }
    }
}
