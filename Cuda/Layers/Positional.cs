using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// The learned positional table on the GPU (positional.cuh), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Positional</c> after the <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
public static class Positional
{
    /// <summary><c>md_positional_forward</c>: y[b, t] = x[b, t] + table[t], x and y (batch, steps, dim), table (maxLength, dim).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is above <paramref name="maxLength"/> (the table has no row for them).</exception>
    public static void Forward(LayerContext gpu, int batch, int steps, int maxLength, int dim, DevicePointer x, DevicePointer table, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckSteps(steps, maxLength);
        var kernel = gpu.Kernel("md_positional_forward");
        var a = kernel.Arguments();
        a.Int("batch", batch);
        a.Int("steps", steps);
        a.Int("dim", dim);
        a.ReadsActivation("x", x);
        a.Reads("table", table);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)batch * steps * dim), Grid.Block, ref a);
    }

    /// <summary>
    /// <c>md_positional_backward</c>, one thread per table element: dTable[t] (+)= Σ_b dy[b, t] (rows t ≥ steps get 0, or
    /// keep their value when accumulating), and dx (+)= dy when <paramref name="dx"/> is not null.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int maxLength, int dim, DevicePointer dy, DevicePointer dx, DevicePointer dTable,
        bool accumulateInputGradient = false, bool accumulateTableGradient = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckSteps(steps, maxLength);
        var kernel = gpu.Kernel("md_positional_backward");
        var a = kernel.Arguments();
        a.Int("batch", batch);
        a.Int("steps", steps);
        a.Int("context", maxLength);
        a.Int("dim", dim);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Writes("dtable", dTable);
        a.Flag("accumulate_input", accumulateInputGradient);
        a.Flag("accumulate_table", accumulateTableGradient);
        kernel.Launch(Grid.Elements((long)maxLength * dim), Grid.Block, ref a);
    }

    private static void CheckSteps(int steps, int maxLength)
    {
        if (steps > maxLength)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"The sequence has {steps} steps; the positional table holds {maxLength}.");
    }
}
