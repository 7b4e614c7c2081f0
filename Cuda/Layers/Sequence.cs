using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// Column blocks of (B, T, ·) sequences on the GPU (sequence.cuh), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Sequence</c> after the <see cref="LayerContext"/> (device pointers for spans): what a
/// bidirectional lstm or gru runs around its two single-direction passes, and what every lstm and gru shares (the time
/// shift of h, x's products when activations are BF16).
/// </summary>
public static class Sequence
{
    /// <summary>
    /// <c>md_sequence_copy</c>: y[b, t', yOffset + c] (+)= x[b, t, xOffset + c] for c &lt; width, t' = reverse ? T−1−t : t,
    /// activations (md_act).
    /// </summary>
    public static void Copy(LayerContext gpu, int batch, int steps, int width, int xWidth, int xOffset, int yWidth, int yOffset,
        DevicePointer x, DevicePointer y, bool reverse = false, bool accumulate = false) =>
        Launch(gpu, "md_sequence_copy", true, batch, steps, width, xWidth, xOffset, yWidth, yOffset, x, y, reverse, accumulate);

    /// <summary><c>md_sequence_copy_gradient</c>: <see cref="Copy"/> of float gradients.</summary>
    public static void CopyGradient(LayerContext gpu, int batch, int steps, int width, int xWidth, int xOffset, int yWidth, int yOffset,
        DevicePointer x, DevicePointer y, bool reverse = false, bool accumulate = false) =>
        Launch(gpu, "md_sequence_copy_gradient", false, batch, steps, width, xWidth, xOffset, yWidth, yOffset, x, y, reverse, accumulate);

    /// <summary><c>md_sequence_shift_hidden</c>: hPrev (B, T, H)[b, t] = h[b, t−1], 0 at t = 0 (h an md_act activation, hPrev float).</summary>
    public static void ShiftHidden(LayerContext gpu, int batch, int steps, int hidden, DevicePointer h, DevicePointer hPrev)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var shift = gpu.Kernel("md_sequence_shift_hidden");
        var s = shift.Arguments();
        s.Int("batch", batch);
        s.Int("steps", steps);
        s.Int("hidden", hidden);
        s.ReadsActivation("h", h);
        s.Writes("h_prev", hPrev);
        shift.Launch(Grid.Elements((long)batch * steps * hidden), Grid.Block, ref s);
    }

    /// <summary><c>md_sequence_input_product</c>: y (rows, cols) = x (rows, inner)·weightᵀ, x an md_act activation; a recurrent layer's input product with BF16 activations.</summary>
    public static void InputProduct(LayerContext gpu, int rows, int cols, int inner, DevicePointer x, DevicePointer weight, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var product = gpu.Kernel("md_sequence_input_product");
        var a = product.Arguments();
        a.Int("rows", rows);
        a.Int("cols", cols);
        a.Int("inner", inner);
        a.ReadsActivation("x", x);
        a.Reads("weight", weight);
        a.Writes("y", y);
        product.Launch(Grid.Elements((long)rows * cols), Grid.Block, ref a);
    }

    /// <summary><c>md_sequence_input_weight_gradient</c>: dWeight (cols, inner) (+)= dyᵀ·x, x an md_act activation: <see cref="InputProduct"/>'s weight gradient.</summary>
    public static void InputWeightGradient(LayerContext gpu, int rows, int cols, int inner, DevicePointer dy, DevicePointer x,
        DevicePointer dWeight, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var gradient = gpu.Kernel("md_sequence_input_weight_gradient");
        var w = gradient.Arguments();
        w.Int("rows", rows);
        w.Int("cols", cols);
        w.Int("inner", inner);
        w.Reads("dy", dy);
        w.ReadsActivation("x", x);
        w.Writes("dweight", dWeight);
        w.Flag("accumulate", accumulate);
        gradient.Launch(Grid.Elements((long)cols * inner), Grid.Block, ref w);
    }

    private static void Launch(LayerContext gpu, string name, bool activations, int batch, int steps, int width, int xWidth, int xOffset,
        int yWidth, int yOffset, DevicePointer x, DevicePointer y, bool reverse, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Fits(width, xWidth, xOffset, nameof(xOffset));
        Fits(width, yWidth, yOffset, nameof(yOffset));
        var kernel = gpu.Kernel(name);
        var a = kernel.Arguments();
        a.Int("batch", batch);
        a.Int("steps", steps);
        a.Int("width", width);
        a.Int("x_width", xWidth);
        a.Int("x_offset", xOffset);
        a.Int("y_width", yWidth);
        a.Int("y_offset", yOffset);
        if (activations)
        {
            a.ReadsActivation("x", x);
            a.WritesActivation("y", y);
        }
        else
        {
            a.Reads("x", x);
            a.Writes("y", y);
        }
        a.Flag("reverse", reverse);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)batch * steps * width), Grid.Block, ref a);
    }

    /// <summary>The CPU kernel's check of the columns (a block outside the row would write past it on the device).</summary>
    private static void Fits(int width, int rowWidth, int offset, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset, name);
        if ((long)offset + width > rowWidth)
            throw new ArgumentOutOfRangeException(name, offset, $"columns [{offset}, {(long)offset + width}) do not fit in rows of {rowWidth}.");
    }
}
