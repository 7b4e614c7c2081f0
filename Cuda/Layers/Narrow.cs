using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// select and slice on the GPU (narrow.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.Narrow</c> after
/// the <see cref="LayerContext"/> (device pointers for spans): x [outer, length, inner], rows from start (negative:
/// from the end), count of them. The bounds are checked here, on the host, with the CPU kernel's message.
/// </summary>
public static class Narrow
{
    /// <summary><c>md_narrow_forward</c>: y [outer, count, inner] = x's rows begin .. begin + count − 1.</summary>
    public static void Forward(LayerContext gpu, int outer, int length, int inner, int start, int count, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        int begin = global::ModelDsl.Runtime.Cpu.Layers.Narrow.Begin(outer, length, inner, start, count);
        var kernel = gpu.Kernel("md_narrow_forward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.Int("begin", begin);
        a.Int("count", count);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)outer * count * inner), Grid.Block, ref a);
    }

    /// <summary><c>md_narrow_backward</c>: dx [outer, length, inner] (+)= dy on rows begin .., 0 elsewhere.</summary>
    public static void Backward(LayerContext gpu, int outer, int length, int inner, int start, int count, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        int begin = global::ModelDsl.Runtime.Cpu.Layers.Narrow.Begin(outer, length, inner, start, count);
        var kernel = gpu.Kernel("md_narrow_backward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.Int("begin", begin);
        a.Int("count", count);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)outer * length * inner), Grid.Block, ref a);
    }
}
