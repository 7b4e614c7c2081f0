using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// mean and sum over an axis on the GPU (reduce.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.ReduceSum</c>
/// after the <see cref="LayerContext"/> (device pointers for spans; a mask not given is a null pointer): x [outer,
/// length, inner], the optional mask [outer, length] as float (<paramref name="mask"/>) or int (<paramref name="intMask"/>).
/// </summary>
public static class ReduceSum
{
    /// <summary><c>md_reduce_sum_forward</c>: y [outer, inner] = Σ_t x·w, over the mask total (or the length) when <paramref name="mean"/>.</summary>
    public static void Forward(LayerContext gpu, int outer, int length, int inner, bool mean, DevicePointer mask, DevicePointer intMask, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_reduce_sum_forward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.Flag("mean", mean);
        a.ReadsActivation("mask", mask);
        a.ReadsInts("int_mask", intMask);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)outer * inner), Grid.Block, ref a);
    }

    /// <summary><c>md_reduce_sum_backward</c>: dx [outer, length, inner] (+)= dy·w (divided as the forward).</summary>
    public static void Backward(LayerContext gpu, int outer, int length, int inner, bool mean, DevicePointer mask, DevicePointer intMask, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_reduce_sum_backward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.Flag("mean", mean);
        a.ReadsActivation("mask", mask);
        a.ReadsInts("int_mask", intMask);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)outer * inner), Grid.Block, ref a);
    }
}

/// <summary>max over an axis on the GPU (reduce.cuh), as <see cref="ReduceSum"/>; the winners (int, −1 when all are masked) in indices.</summary>
public static class ReduceMax
{
    /// <summary><c>md_reduce_max_forward</c>: y [outer, inner] = max over the unmasked positions; indices = the winners.</summary>
    public static void Forward(LayerContext gpu, int outer, int length, int inner, DevicePointer mask, DevicePointer intMask, DevicePointer x, DevicePointer y, DevicePointer indices)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_reduce_max_forward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.ReadsActivation("mask", mask);
        a.ReadsInts("int_mask", intMask);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        a.WritesInts("indices", indices);
        kernel.Launch(Grid.Elements((long)outer * inner), Grid.Block, ref a);
    }

    /// <summary><c>md_reduce_max_backward</c>: dx [outer, length, inner] (+)= dy at each saved winner, 0 elsewhere.</summary>
    public static void Backward(LayerContext gpu, int outer, int length, int inner, DevicePointer dy, DevicePointer indices, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_reduce_max_backward");
        var a = kernel.Arguments();
        a.Int("outer", outer);
        a.Int("length", length);
        a.Int("inner", inner);
        a.Reads("dy", dy);
        a.ReadsInts("indices", indices);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)outer * inner), Grid.Block, ref a);
    }
}
