using System;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// Scaled dot-product attention on tensor cores for heads of exactly 64 columns (flashattention.cuh: mma.sync
/// m16n8k16 with BF16 inputs and FP32 accumulation, FlashAttention-2 tiling), with the parameters of
/// <see cref="Attention"/> and the same working memory (row max, row log-sum, D: <see cref="WorkspaceLength"/> floats).
/// </summary>
/// <remarks>
/// Inputs and outputs are FP32 buffers; q, k, v, dout, P and dS are rounded to BF16 for the products, so the results
/// differ from the FP32 <see cref="Attention"/> by BF16 rounding (docs/cuda.md, "Flash attention", states the
/// tolerance). The backward takes the forward's <c>output</c> as well: D = rowsum(dout ⊙ out) is one pass over the
/// head's 64 columns instead of one over every key. Needs sm_80 or newer.
/// </remarks>
public static class FlashAttention
{
    /// <summary>The one head width the kernels take (flashattention.cuh's <c>MD_FLASHATTENTION_HEAD_DIM</c>).</summary>
    public const int HeadDim = 64;

    /// <summary>Floats of working memory: row max, row log-sum, then delta, (B, heads, T) each (as <see cref="Attention"/>).</summary>
    public static long WorkspaceLength(int batch, int steps, int heads) => Attention.WorkspaceLength(batch, steps, heads);

    /// <summary>
    /// <c>md_flashattention_forward</c>: output (B, T, heads·64) = softmax(q·kᵀ/8 + key padding bias, causal if asked)·v
    /// per head; the row max and log-sum saved in the working memory. The optional mask (B, T) is <paramref name="mask"/>
    /// (f32) or <paramref name="maskIds"/> (i32), the other a null pointer.
    /// </summary>
    public static void Forward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer output, DevicePointer workspace,
        DevicePointer mask = default, DevicePointer maskIds = default)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        var kernel = gpu.Kernel("md_flashattention_forward");
        var a = kernel.Arguments();
        Attention.Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.ReadsActivation("q", q);
        a.ReadsActivation("k", k);
        a.ReadsActivation("v", v);
        a.WritesActivation("out", output);
        a.Writes("row_max", workspace);
        a.Writes("row_log_sum", workspace.Plus((long)batch * heads * steps));
        a.ReadsActivation("mask", mask);
        a.ReadsInts("mask_i32", maskIds);
        kernel.Launch(Grid.FlashRows(steps, heads, batch), Grid.FlashBlock, ref a);
    }

    /// <summary>
    /// dq, dk, dv (+)= the gradients from <paramref name="dOutput"/>, recomputing P from q, k and the forward's row
    /// statistics: <c>md_flashattention_backward_query</c> (each row's D = rowsum(dout ⊙ <paramref name="output"/>) into
    /// the working memory, and dq), then <c>md_flashattention_backward_key</c> (dk, dv). No atomics.
    /// </summary>
    public static void Backward(LayerContext gpu, int batch, int steps, int heads, int headDim, bool causal,
        DevicePointer q, DevicePointer k, DevicePointer v, int stride, DevicePointer output, DevicePointer dOutput,
        DevicePointer workspace, DevicePointer dq, DevicePointer dk, DevicePointer dv, bool accumulate = false,
        DevicePointer mask = default, DevicePointer maskIds = default)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        CheckHeadDim(headDim);
        long stats = (long)batch * heads * steps;
        DevicePointer rowMax = workspace, rowLogSum = workspace.Plus(stats), delta = workspace.Plus(2 * stats);
        var query = gpu.Kernel("md_flashattention_backward_query");
        var a = query.Arguments();
        Attention.Sizes(ref a, batch, steps, heads, headDim, stride, causal);
        a.ReadsActivation("q", q);
        a.ReadsActivation("k", k);
        a.ReadsActivation("v", v);
        a.ReadsActivation("out", output);
        a.Reads("dout", dOutput);
        a.Reads("row_max", rowMax);
        a.Reads("row_log_sum", rowLogSum);
        a.Writes("delta", delta);
        a.Writes("dq", dq);
        a.Flag("accumulate", accumulate);
        a.ReadsActivation("mask", mask);
        a.ReadsInts("mask_i32", maskIds);
        query.Launch(Grid.FlashRows(steps, heads, batch), Grid.FlashBlock, ref a);
        var key = gpu.Kernel("md_flashattention_backward_key");
        var b = key.Arguments();
        Attention.Sizes(ref b, batch, steps, heads, headDim, stride, causal);
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
        key.Launch(Grid.FlashRows(steps, heads, batch), Grid.FlashBlock, ref b);
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim != HeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"tensor-core attention takes heads of exactly {HeadDim} columns; use Attention for others");
    }
}
