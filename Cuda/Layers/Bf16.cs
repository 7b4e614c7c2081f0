using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// BF16 conversions on the GPU (bf16.cuh): the BF16 operands of mixed-precision GEMMs (docs/cuda.md "Precision").
/// A BF16 buffer holds 2 bytes per element; the rounding is <see cref="BFloat16.Round"/>'s.
/// </summary>
public static class Bf16
{
    /// <summary><c>md_bf16_round</c>: y[i] = bf16(x[i]) for i &lt; <paramref name="count"/> (x float, y BF16).</summary>
    public static void Round(LayerContext gpu, int count, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var kernel = gpu.Kernel("md_bf16_round");
        var a = kernel.Arguments();
        a.Int("n", count);
        a.Reads("x", x);
        a.WritesBf16("y", y);
        kernel.Launch(Grid.Elements(count), Grid.Block, ref a);
    }

    /// <summary><c>md_bf16_widen</c>: y[i] = float(x[i]) for i &lt; <paramref name="count"/> (x BF16, y float; exact).</summary>
    public static void Widen(LayerContext gpu, int count, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var kernel = gpu.Kernel("md_bf16_widen");
        var a = kernel.Arguments();
        a.Int("n", count);
        a.ReadsBf16("x", x);
        a.Writes("y", y);
        kernel.Launch(Grid.Elements(count), Grid.Block, ref a);
    }
}
