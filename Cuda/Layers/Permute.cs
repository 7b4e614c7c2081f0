using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// permute on the GPU (permute.cuh), with the parameters of <c>ModelDsl.Runtime.Cpu.Layers.Permute</c> after the
/// <see cref="LayerContext"/> (device pointers for spans): destination sizes n0..n3, source strides t0..t3.
/// </summary>
public static class Permute
{
    /// <summary><c>md_permute_forward</c>: y = x with its axes permuted (activations, md_act).</summary>
    public static void Forward(LayerContext gpu, int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, DevicePointer x, DevicePointer y)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_permute_forward");
        var a = kernel.Arguments();
        Sizes(ref a, n0, n1, n2, n3, t0, t1, t2, t3);
        a.ReadsActivation("x", x);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)n0 * n1 * n2 * n3), Grid.Block, ref a);
    }

    /// <summary><c>md_permute_backward</c>: dx (+)= dy permuted back (the inverse permutation's sizes and strides; float gradients).</summary>
    public static void Backward(LayerContext gpu, int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, DevicePointer dy, DevicePointer dx, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_permute_backward");
        var a = kernel.Arguments();
        Sizes(ref a, n0, n1, n2, n3, t0, t1, t2, t3);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements((long)n0 * n1 * n2 * n3), Grid.Block, ref a);
    }

    private static void Sizes(ref LayerArguments a, int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3)
    {
        a.Int("n0", n0);
        a.Int("n1", n1);
        a.Int("n2", n2);
        a.Int("n3", n3);
        a.Int("t0", t0);
        a.Int("t1", t1);
        a.Int("t2", t2);
        a.Int("t3", t3);
    }
}
