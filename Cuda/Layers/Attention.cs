using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// Scaled dot-product attention on the GPU (attention.cuh: fused, flash-style), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Attention</c> after the <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
/// <remarks>
/// The working memory differs from the CPU's, which keeps the probabilities P (B·heads·T² floats): here P is never
/// stored, and the memory holds each row's log-sum-exp, then the backward's D, <see cref="WorkspaceLength"/> floats.
/// Head width at most <see cref="MaxHeadDim"/>; batch and heads at most 65,535 (<see cref="Grid.HeadRows"/>).
/// </remarks>
public static class Attention
{
    /// <summary>The largest head width the kernels take (attention.cuh's <c>MD_ATTENTION_MAX_HEAD_DIM</c>).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Floats of working memory: lse (B, heads, T), then delta (B, heads, T).</summary>
    public static long WorkspaceLength(int batch, int steps, int heads) => 2L * batch * heads * steps;

    /// <summary><c>md_attention_forward</c>: output (B, T, heads·dh) = softmax(q·kᵀ/√dh, causal if asked)·v per head; lse saved in the working memory.</summary>
    public static void Forward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer output, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        var kernel = gpu.Kernel("md_attention_forward");
        var a = kernel.Arguments();
        Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.Reads("q", q);
        a.Reads("k", k);
        a.Reads("v", v);
        a.Writes("out", output);
        a.Writes("lse", workspace);
        kernel.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref a);
    }

    /// <summary>
    /// dq, dk, dv (+)= the gradients from <paramref name="dOutput"/>, recomputing P from q, k and the forward's lse:
    /// <c>md_attention_backward_query</c> (dq, and each row's D into the working memory), then
    /// <c>md_attention_backward_key</c> (dk, dv). No atomics.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer dOutput,
        DevicePointer workspace, DevicePointer dq, DevicePointer dk, DevicePointer dv, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        DevicePointer lse = workspace, delta = workspace.Plus((long)batch * heads * steps);
        var query = gpu.Kernel("md_attention_backward_query");
        var a = query.Arguments();
        Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.Reads("q", q);
        a.Reads("k", k);
        a.Reads("v", v);
        a.Reads("dout", dOutput);
        a.Reads("lse", lse);
        a.Writes("delta", delta);
        a.Writes("dq", dq);
        a.Flag("accumulate", accumulate);
        query.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref a);
        var key = gpu.Kernel("md_attention_backward_key");
        var b = key.Arguments();
        Sizes(ref b, batch, steps, heads, headDim, stride, causal);
        b.Reads("q", q);
        b.Reads("k", k);
        b.Reads("v", v);
        b.Reads("dout", dOutput);
        b.Reads("lse", lse);
        b.Reads("delta", delta);
        b.Writes("dk", dk);
        b.Writes("dv", dv);
        b.Flag("accumulate", accumulate);
        key.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref b);
    }

    private static void Sizes(ref LayerArguments a, int batch, int steps, int heads, int headDim, int stride, bool causal)
    {
        a.Int("batch", batch);
        a.Int("steps", steps);
        a.Int("heads", heads);
        a.Int("head_dim", headDim);
        a.Int("stride", stride);
        a.Flag("causal", causal);
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim is < 1 or > MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"attention on the GPU takes heads of 1 to {MaxHeadDim} columns");
    }
}
