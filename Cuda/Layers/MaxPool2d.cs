using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// max_pool2d on the GPU (pool2d.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.MaxPool2d</c> after the
/// <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
public static class MaxPool2d
{
    /// <summary><c>md_pool2d_max_forward</c>: y (N, C, H', W') = each window's max; indices (int) = the winners' positions in their planes.</summary>
    public static void Forward(LayerContext gpu, in Pool2dGeometry g, DevicePointer x, DevicePointer y, DevicePointer indices)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_pool2d_max_forward");
        var a = kernel.Arguments();
        Pool2dArguments.Geometry(ref a, g);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        a.WritesInts("indices", indices);
        kernel.Launch(Grid.Elements(g.OutputLength), Grid.Block, ref a);
    }

    /// <summary><c>md_pool2d_max_backward</c>: dx (+)= dy gathered from the outputs whose winner is the element (no atomics).</summary>
    public static void Backward(LayerContext gpu, in Pool2dGeometry g, DevicePointer dy, DevicePointer indices, DevicePointer dx,
        bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_pool2d_max_backward");
        var a = kernel.Arguments();
        Pool2dArguments.Geometry(ref a, g);
        a.Reads("dy", dy);
        a.ReadsInts("indices", indices);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements(g.InputLength), Grid.Block, ref a);
    }
}
