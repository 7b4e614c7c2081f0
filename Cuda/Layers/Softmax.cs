using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// softmax over the last axis on the GPU (softmax.cuh: one warp per row), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Softmax</c> after the <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
public static class Softmax
{
    /// <summary><c>md_softmax_forward</c>: y (rows, cols) = softmax(x) per row.</summary>
    public static void Forward(LayerContext gpu, int rows, int cols, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_softmax_forward");
        var a = kernel.Arguments();
        a.Int("rows", rows);
        a.Int("cols", cols);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.WarpRows(rows), Grid.Block, ref a);
    }

    /// <summary><c>md_softmax_backward</c>: dx (+)= y ⊙ (dy − Σ_row dy·y).</summary>
    public static void Backward(LayerContext gpu, int rows, int cols, DevicePointer y, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_softmax_backward");
        var a = kernel.Arguments();
        a.Int("rows", rows);
        a.Int("cols", cols);
        a.ReadsActivation("y", y);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.WarpRows(rows), Grid.Block, ref a);
    }
}
