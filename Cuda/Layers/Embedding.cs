using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// embedding on the GPU (embedding.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.Embedding</c> after the
/// <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
/// <remarks>
/// The ids are not checked here (the CPU kernel checks them as it reads them; device memory is not read back for it): a
/// caller checks them on the host, as the generated code does when it copies them in. An id outside [0, num) reads as a
/// zero row and adds no gradient.
/// </remarks>
public static class Embedding
{
    /// <summary><c>md_embedding_forward</c>: y (count, dim) = the rows of weight (num, dim) picked by ids (count, int).</summary>
    public static void Forward(LayerContext gpu, int count, int num, int dim, DevicePointer ids, DevicePointer weight, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_embedding_forward");
        var a = kernel.Arguments();
        a.Int("count", count);
        a.Int("num", num);
        a.Int("dim", dim);
        a.ReadsInts("ids", ids);
        a.Reads("weight", weight);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)count * dim), Grid.Block, ref a);
    }

    /// <summary>
    /// dWeight[ids[i]] += dy[i]: <c>md_embedding_backward_clear</c> first unless <paramref name="accumulate"/>, then
    /// <c>md_embedding_backward</c>'s float atomics (the order of a repeated id's adds varies on a GPU, so the sum is not
    /// bitwise repeatable there; the emulator runs blocks in order). Ids equal to <paramref name="paddingIdx"/> (-1: none)
    /// add nothing.
    /// </summary>
    public static void Backward(LayerContext gpu, int count, int num, int dim, int paddingIdx, DevicePointer ids, DevicePointer dy, DevicePointer dWeight,
        bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        if (!accumulate)
        {
            var clear = gpu.Kernel("md_embedding_backward_clear");
            var c = clear.Arguments();
            c.Int("num", num);
            c.Int("dim", dim);
            c.Writes("dweight", dWeight);
            clear.Launch(Grid.Elements((long)num * dim), Grid.Block, ref c);
        }
        var kernel = gpu.Kernel("md_embedding_backward");
        var a = kernel.Arguments();
        a.Int("count", count);
        a.Int("num", num);
        a.Int("dim", dim);
        a.Int("padding_idx", paddingIdx);
        a.ReadsInts("ids", ids);
        a.Reads("dy", dy);
        a.Writes("dweight", dWeight);
        kernel.Launch(Grid.Elements((long)count * dim), Grid.Block, ref a);
    }
}
