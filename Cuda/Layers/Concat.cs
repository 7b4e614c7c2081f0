using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// concat on the GPU (concat.cuh: one launch per input), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.Concat</c>
/// after the <see cref="LayerContext"/> (device pointers for spans): every tensor seen as rows (the dims before the axis)
/// of columns; input i (rows, width) fills the output's (rows, outputWidth) columns [offset, offset + width).
/// </summary>
public static class Concat
{
    /// <summary><c>md_concat_forward</c>: y[r, offset + c] = x[r, c] for c &lt; width.</summary>
    public static void Forward(LayerContext gpu, int rows, int width, int outputWidth, int offset, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        Check(width, outputWidth, offset);
        var kernel = gpu.Kernel("md_concat_forward");
        var a = kernel.Arguments();
        a.Int("rows", rows);
        a.Int("width", width);
        a.Int("output_width", outputWidth);
        a.Int("offset", offset);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)rows * width), Grid.Block, ref a);
    }

    /// <summary><c>md_concat_backward</c>: dx[r, c] (+)= dy[r, offset + c] for c &lt; width.</summary>
    public static void Backward(LayerContext gpu, int rows, int width, int outputWidth, int offset, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        Check(width, outputWidth, offset);
        var kernel = gpu.Kernel("md_concat_backward");
        var a = kernel.Arguments();
        a.Int("rows", rows);
        a.Int("width", width);
        a.Int("output_width", outputWidth);
        a.Int("offset", offset);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)rows * width), Grid.Block, ref a);
    }

    /// <summary>The CPU kernel's check of the columns (a part outside the row would write past it on the device).</summary>
    private static void Check(int width, int outputWidth, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((long)offset + width > outputWidth)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"columns [{offset}, {(long)offset + width}) do not fit in rows of {outputWidth}.");
    }
}
