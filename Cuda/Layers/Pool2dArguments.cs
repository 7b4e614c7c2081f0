using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>The geometry arguments the md_pool2d_* kernels share.</summary>
internal static class Pool2dArguments
{
    /// <summary>The leading arguments of every md_pool2d_* kernel: the N·C planes pooled independently, then the sizes.</summary>
    public static void Geometry(ref LayerArguments a, in Pool2dGeometry g)
    {
        a.Int("planes", g.Planes);
        a.Int("height", g.Height);
        a.Int("width", g.Width);
        a.Int("out_height", g.OutHeight);
        a.Int("out_width", g.OutWidth);
        a.Int("kernel", g.Kernel);
        a.Int("stride", g.Stride);
        a.Int("padding", g.Padding);
    }
}
