using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// global_avg_pool2d and global_max_pool2d on the GPU (globalpool2d.cuh), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.GlobalAvgPool2d</c> / <c>GlobalMaxPool2d</c> after the <see cref="LayerContext"/> (device pointers for spans):
/// planes = N·C, each of area = H·W elements.
/// </summary>
public static class GlobalAvgPool2d
{
    /// <summary><c>md_globalpool2d_avg_forward</c>: y (planes) = the mean of each plane.</summary>
    public static void Forward(LayerContext gpu, int planes, int area, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_globalpool2d_avg_forward");
        var a = kernel.Arguments();
        a.Int("planes", planes);
        a.Int("area", area);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements(planes), Grid.Block, ref a);
    }

    /// <summary><c>md_globalpool2d_avg_backward</c>: dx (planes, area) (+)= dy / area.</summary>
    public static void Backward(LayerContext gpu, int planes, int area, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_globalpool2d_avg_backward");
        var a = kernel.Arguments();
        a.Int("planes", planes);
        a.Int("area", area);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)planes * area), Grid.Block, ref a);
    }
}

/// <summary>global_max_pool2d on the GPU (globalpool2d.cuh), as <see cref="GlobalAvgPool2d"/>.</summary>
public static class GlobalMaxPool2d
{
    /// <summary><c>md_globalpool2d_max_forward</c>: y (planes) = the max of each plane; indices (int) = the winners' positions.</summary>
    public static void Forward(LayerContext gpu, int planes, int area, DevicePointer x, DevicePointer y, DevicePointer indices)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_globalpool2d_max_forward");
        var a = kernel.Arguments();
        a.Int("planes", planes);
        a.Int("area", area);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        a.WritesInts("indices", indices);
        kernel.Launch(Grid.Elements(planes), Grid.Block, ref a);
    }

    /// <summary><c>md_globalpool2d_max_backward</c>: dx (planes, area) (+)= dy at each plane's winner, 0 elsewhere.</summary>
    public static void Backward(LayerContext gpu, int planes, int area, DevicePointer dy, DevicePointer indices, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_globalpool2d_max_backward");
        var a = kernel.Arguments();
        a.Int("planes", planes);
        a.Int("area", area);
        a.Reads("dy", dy);
        a.ReadsInts("indices", indices);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)planes * area), Grid.Block, ref a);
    }
}
