using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// avg_pool2d on the GPU (pool2d.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.AvgPool2d</c> after the
/// <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
public static class AvgPool2d
{
    /// <summary><c>md_pool2d_avg_forward</c>: y (N, C, H', W') = each window's sum / k² (count_include_pad).</summary>
    public static void Forward(LayerContext gpu, in Pool2dGeometry g, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_pool2d_avg_forward");
        var a = kernel.Arguments();
        Pool2dArguments.Geometry(ref a, g);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements(g.OutputLength), Grid.Block, ref a);
    }

    /// <summary><c>md_pool2d_avg_backward</c>: dx (+)= dy / k² from every window holding the element (gathered, no atomics).</summary>
    public static void Backward(LayerContext gpu, in Pool2dGeometry g, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_pool2d_avg_backward");
        var a = kernel.Arguments();
        Pool2dArguments.Geometry(ref a, g);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements(g.InputLength), Grid.Block, ref a);
    }
}
