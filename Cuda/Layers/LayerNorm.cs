using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// layer_norm on the GPU (layernorm.cuh: one warp per row), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.LayerNorm</c> after the <see cref="LayerContext"/> (device pointers for spans; a null
/// pointer where the CPU takes an empty span).
/// </summary>
public static class LayerNorm
{
    /// <summary><c>md_layernorm_forward</c>: y (rows, dim) = (x − mean)·rstd·weight + bias; mean and rstd (rows) saved when not null.</summary>
    public static void Forward(LayerContext gpu, int rows, int dim, DevicePointer x, DevicePointer weight, DevicePointer bias,
        DevicePointer y, DevicePointer mean, DevicePointer rstd, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_layernorm_forward");
        var a = kernel.Arguments();
        a.Int("rows", rows);
        a.Int("dim", dim);
        a.Float("eps", eps);
        a.ReadsActivation("x", x);
        a.Reads("weight", weight);
        a.Reads("bias", bias);
        a.WritesActivation("y", y);
        a.Writes("mean", mean);
        a.Writes("rstd", rstd);
        kernel.Launch(Grid.WarpRows(rows), Grid.Block, ref a);
    }

    /// <summary>
    /// <c>md_layernorm_backward_dx</c> (one warp per row; not launched when <paramref name="dx"/> is null), then
    /// <c>md_layernorm_backward_params</c> (32×8 column blocks): dWeight (+)= Σ dy·x̂, dBias (+)= Σ dy.
    /// </summary>
    public static void Backward(LayerContext gpu, int rows, int dim, DevicePointer x, DevicePointer weight,
        DevicePointer mean, DevicePointer rstd, DevicePointer dy,
        DevicePointer dx, DevicePointer dWeight, DevicePointer dBias,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        if (!dx.IsNull)
        {
            var input = gpu.Kernel("md_layernorm_backward_dx");
            var a = input.Arguments();
            a.Int("rows", rows);
            a.Int("dim", dim);
            a.ReadsActivation("x", x);
            a.Reads("weight", weight);
            a.Reads("mean", mean);
            a.Reads("rstd", rstd);
            a.Reads("dy", dy);
            a.Writes("dx", dx);
            a.Flag("accumulate", accumulateInputGradient);
            input.Launch(Grid.WarpRows(rows), Grid.Block, ref a);
        }
        var parameters = gpu.Kernel("md_layernorm_backward_params");
        var p = parameters.Arguments();
        p.Int("rows", rows);
        p.Int("dim", dim);
        p.ReadsActivation("x", x);
        p.Reads("mean", mean);
        p.Reads("rstd", rstd);
        p.Reads("dy", dy);
        p.Writes("dweight", dWeight);
        p.Writes("dbias", dBias);
        p.Flag("accumulate", accumulateParameterGradients);
        parameters.Launch(Grid.Columns(dim), Grid.ColumnBlock, ref p);
    }
}
