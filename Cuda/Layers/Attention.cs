using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// Scaled dot-product attention on the GPU (attention.cuh: fused, flash-style), with the parameters of
/// <c>ModelDsl.Runtime.Cpu.Layers.Attention</c> after the <see cref="LayerContext"/> (device pointers for spans).
/// </summary>
/// <remarks>
/// The working memory differs from the CPU's, which keeps the probabilities P (B·heads·T² floats): here P is never
/// stored, and the memory holds each row's max and log-sum (the softmax's statistics, apart: see attention.cuh), then
/// the backward's D, <see cref="WorkspaceLength"/> floats.
/// Head width at most <see cref="MaxHeadDim"/>; batch and heads at most 65,535 (<see cref="Grid.HeadRows"/>).
/// </remarks>
public static class Attention
{
    /// <summary>The largest head width the kernels take (attention.cuh's <c>MD_ATTENTION_MAX_HEAD_DIM</c>).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Floats of working memory: row max, row log-sum, then delta, (B, heads, T) each.</summary>
    public static long WorkspaceLength(int batch, int steps, int heads) => 3L * batch * heads * steps;

    /// <summary>
    /// <c>md_attention_forward</c>: output (B, T, heads·dh) = softmax(q·kᵀ/√dh + key padding bias, causal if asked)·v
    /// per head; the row max and log-sum saved in the working memory. The optional mask (B, T) is <paramref name="mask"/> (f32) or
    /// <paramref name="maskIds"/> (i32), the other a null pointer. With <paramref name="dropout"/> p &gt; 0 the probabilities
    /// are dropped before the product with v, the mask drawn exactly as the CPU's from the seed that
    /// <paramref name="dropoutSeed"/> points at (one <c>unsigned int</c> in device memory, read by the kernel when it runs, so
    /// a captured CUDA graph replays with whatever seed the host wrote there for the step).
    /// </summary>
    public static void Forward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer output, DevicePointer workspace,
        DevicePointer mask = default, DevicePointer maskIds = default, float dropout = 0f, DevicePointer dropoutSeed = default)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        CheckDropout(dropout, dropoutSeed);
        var kernel = gpu.Kernel("md_attention_forward");
        var a = kernel.Arguments();
        Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.ReadsActivation("q", q);
        a.ReadsActivation("k", k);
        a.ReadsActivation("v", v);
        a.WritesActivation("out", output);
        a.Writes("row_max", workspace);
        a.Writes("row_log_sum", workspace.Plus((long)batch * heads * steps));
        a.ReadsActivation("mask", mask);
        a.ReadsInts("mask_i32", maskIds);
        a.Float("dropout", dropout);
        a.ReadsUInts("dropout_seed", dropoutSeed);
        kernel.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref a);
    }

    /// <summary>
    /// dq, dk, dv (+)= the gradients from <paramref name="dOutput"/>, recomputing P from q, k and the forward's row statistics:
    /// <c>md_attention_backward_query</c> (dq, and each row's D into the working memory), then
    /// <c>md_attention_backward_key</c> (dk, dv). No atomics. The mask is the forward's: P is recomputed with its bias.
    /// <paramref name="dropout"/> and <paramref name="dropoutSeed"/> (the same device memory, holding the same seed) are the
    /// forward's: the dropout mask is drawn again.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer dOutput,
        DevicePointer workspace, DevicePointer dq, DevicePointer dk, DevicePointer dv, bool accumulate = false,
        DevicePointer mask = default, DevicePointer maskIds = default, float dropout = 0f, DevicePointer dropoutSeed = default)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        CheckDropout(dropout, dropoutSeed);
        long stats = (long)batch * heads * steps;
        DevicePointer rowMax = workspace, rowLogSum = workspace.Plus(stats), delta = workspace.Plus(2 * stats);
        var query = gpu.Kernel("md_attention_backward_query");
        var a = query.Arguments();
        Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.ReadsActivation("q", q);
        a.ReadsActivation("k", k);
        a.ReadsActivation("v", v);
        a.Reads("dout", dOutput);
        a.Reads("row_max", rowMax);
        a.Reads("row_log_sum", rowLogSum);
        a.Writes("delta", delta);
        a.Writes("dq", dq);
        a.Flag("accumulate", accumulate);
        a.ReadsActivation("mask", mask);
        a.ReadsInts("mask_i32", maskIds);
        a.Float("dropout", dropout);
        a.ReadsUInts("dropout_seed", dropoutSeed);
        query.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref a);
        var key = gpu.Kernel("md_attention_backward_key");
        var b = key.Arguments();
        Sizes(ref b, batch, steps, heads, headDim, stride, causal);
        b.ReadsActivation("q", q);
        b.ReadsActivation("k", k);
        b.ReadsActivation("v", v);
        b.Reads("dout", dOutput);
        b.Reads("row_max", rowMax);
        b.Reads("row_log_sum", rowLogSum);
        b.Reads("delta", delta);
        b.Writes("dk", dk);
        b.Writes("dv", dv);
        b.Flag("accumulate", accumulate);
        b.ReadsActivation("mask", mask);
        b.ReadsInts("mask_i32", maskIds);
        b.Float("dropout", dropout);
        b.ReadsUInts("dropout_seed", dropoutSeed);
        key.Launch(Grid.HeadRows(steps, heads, batch), Grid.Block, ref b);
    }

    /// <summary>The size arguments every attention kernel takes first (md_attention_* and md_flashattention_* alike).</summary>
    internal static void Sizes(ref LayerArguments a, int batch, int steps, int heads, int headDim, int stride, bool causal)
    {
        a.Int("batch", batch);
        a.Int("steps", steps);
        a.Int("heads", heads);
        a.Int("head_dim", headDim);
        a.Int("stride", stride);
        a.Flag("causal", causal);
    }

    private static void CheckDropout(float dropout, DevicePointer dropoutSeed)
    {
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "The attention dropout probability must lie in [0, 1).");
        if (dropout > 0f && dropoutSeed.IsNull)
            throw new ArgumentException($"attention dropout {dropout} needs its seed in device memory (dropoutSeed points at one unsigned int), but the pointer is null", nameof(dropoutSeed));
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim is < 1 or > MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"attention on the GPU takes heads of 1 to {MaxHeadDim} columns");
    }
}
