using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// im2col and its adjoint col2im for one image.
//   image  [C, H, W]
//   col    [C·k·k, H'·W'] row-major with row stride ldCol ≥ H'·W';
//          col[(c·k + ki)·k + kj, oh·W' + ow] = image[c, oh·s − p + ki, ow·s − p + kj], 0 outside the image.
// Row r of col lines up with column r of a weight row [C, k, k], so W [K, C·k·k] · col = the image's output [K, H'·W'].
public static unsafe partial class Conv2d
{
    /// <summary>Unfolds one image [C, H, W] into its column matrix [C·k·k, H'·W'] (row stride <paramref name="ldCol"/>).</summary>
    public static void Im2Col(in Conv2dGeometry g, ReadOnlySpan<float> image, Span<float> col, int ldCol)
    {
        g.ThrowIfDefault();
        ArgumentOutOfRangeException.ThrowIfLessThan(ldCol, g.OutPlane);
        LayerArgs.Length(image.Length, nameof(image), "[C, H, W]", g.InChannels, g.Height, g.Width);
        LayerArgs.Length(col.Length, (long)(g.PatchSize - 1) * ldCol + g.OutPlane, nameof(col), "[C·k·k, H'·W'] with its row stride");
        fixed (float* x = image)
        fixed (float* c = col)
            Im2Col(in g, x, c, ldCol);
    }

    /// <summary>Adds a column matrix [C·k·k, H'·W'] back into an image gradient [C, H, W]: the adjoint of <see cref="Im2Col(in Conv2dGeometry, ReadOnlySpan{float}, Span{float}, int)"/>.</summary>
    public static void Col2ImAdd(in Conv2dGeometry g, ReadOnlySpan<float> col, int ldCol, Span<float> image)
    {
        g.ThrowIfDefault();
        ArgumentOutOfRangeException.ThrowIfLessThan(ldCol, g.OutPlane);
        LayerArgs.Length(col.Length, (long)(g.PatchSize - 1) * ldCol + g.OutPlane, nameof(col), "[C·k·k, H'·W'] with its row stride");
        LayerArgs.Length(image.Length, nameof(image), "[C, H, W]", g.InChannels, g.Height, g.Width);
        fixed (float* c = col)
        fixed (float* x = image)
            Col2ImAdd(in g, c, ldCol, x);
    }

    internal static void Im2Col(in Conv2dGeometry g, float* image, float* col, int ldCol)
    {
        int k = g.Kernel, s = g.Stride, p = g.Padding, h = g.Height, w = g.Width, oh = g.OutHeight, ow = g.OutWidth;
        for (int c = 0; c < g.InChannels; c++)
        {
            float* plane = image + (long)c * h * w;
            for (int ki = 0; ki < k; ki++)
            {
                for (int kj = 0; kj < k; kj++)
                {
                    float* row = col + (long)((c * k + ki) * k + kj) * ldCol;
                    ValidColumns(kj - p, s, w, ow, out int first, out int end);
                    for (int y = 0; y < oh; y++)
                    {
                        float* dst = row + y * ow;
                        int iy = y * s - p + ki;
                        if ((uint)iy >= (uint)h)
                        {
                            new Span<float>(dst, ow).Clear();
                            continue;
                        }
                        float* src = plane + (long)iy * w + (kj - p); // src[x·s] is input column x·s − p + kj
                        for (int x = 0; x < first; x++) dst[x] = 0f;
                        if (s == 1)
                            new ReadOnlySpan<float>(src + first, end - first).CopyTo(new Span<float>(dst + first, end - first));
                        else
                            for (int x = first; x < end; x++) dst[x] = src[x * s];
                        for (int x = end; x < ow; x++) dst[x] = 0f;
                    }
                }
            }
        }
    }

    internal static void Col2ImAdd(in Conv2dGeometry g, float* col, int ldCol, float* image)
    {
        int k = g.Kernel, s = g.Stride, p = g.Padding, h = g.Height, w = g.Width, oh = g.OutHeight, ow = g.OutWidth;
        for (int c = 0; c < g.InChannels; c++)
        {
            float* plane = image + (long)c * h * w;
            for (int ki = 0; ki < k; ki++)
            {
                for (int kj = 0; kj < k; kj++)
                {
                    float* row = col + (long)((c * k + ki) * k + kj) * ldCol;
                    ValidColumns(kj - p, s, w, ow, out int first, out int end);
                    if (end <= first) continue;
                    for (int y = 0; y < oh; y++)
                    {
                        int iy = y * s - p + ki;
                        if ((uint)iy >= (uint)h) continue;
                        float* src = row + y * ow;
                        float* dst = plane + (long)iy * w + (kj - p);
                        if (s == 1)
                        {
                            var d = new Span<float>(dst + first, end - first);
                            TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + first, end - first), d);
                        }
                        else
                        {
                            for (int x = first; x < end; x++) dst[x * s] += src[x];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The output columns [first, end) whose input column <c>x·s + offset</c> lies inside [0, width); the others
    /// read padding.
    /// </summary>
    private static void ValidColumns(int offset, int s, int width, int outWidth, out int first, out int end)
    {
        first = offset >= 0 ? 0 : (-offset + s - 1) / s;
        end = offset > width - 1 ? 0 : Math.Min(outWidth, (width - 1 - offset) / s + 1);
        if (first > outWidth) first = outWidth;
        if (end < first) end = first;
    }
}
