using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// conv2d on the GPU: the host side of conv2d.cuh (im2col / col2im and the bias kernels around cuBLAS products), with
/// the parameters of <c>ModelDsl.Runtime.Cpu.Layers.Conv2d</c> after the <see cref="LayerContext"/>: device pointers
/// where the CPU takes spans, a null pointer where it takes an empty span (no bias, no input gradient).
/// </summary>
/// <remarks>
/// The working memory differs from the CPU's (per-thread column slots): here it holds every image's columns, so each
/// product is one strided-batched GEMM over the whole batch (the weight shared, stride 0). See
/// <see cref="WorkspaceLength"/>.
/// </remarks>
public static class Conv2d
{
    /// <summary>
    /// Floats of working memory a forward and backward need: every image's im2col columns <c>(N, C·k·k, H'·W')</c>, then
    /// each image's weight-gradient product <c>(N, K, C·k·k)</c>, then N ones, which the caller writes once (at
    /// <see cref="OnesOffset"/>) when it allocates the memory. A forward-only caller may allocate just the columns.
    /// </summary>
    public static long WorkspaceLength(in Conv2dGeometry g) => OnesOffset(g) + g.Batch;

    /// <summary>Where the ones start in the working memory, in floats: after the columns and the products.</summary>
    public static long OnesOffset(in Conv2dGeometry g) => Columns(g) + Products(g);

    /// <summary>
    /// <c>y = conv2d(x, weight) + bias</c>, x (N, C, H, W), weight (K, C, k, k), bias (K) or null, y (N, K, H', W'):
    /// <c>md_conv2d_im2col</c> over the batch into <paramref name="workspace"/>, one strided-batched GEMM
    /// <c>y[n] = W·col[n]</c>, then <c>md_conv2d_bias_forward</c> (without a bias, not launched). With BF16 activations
    /// (<see cref="LayerContext.Bf16Activations"/>) <c>md_conv2d_forward_product</c> computes y and its bias instead (cuBLAS
    /// writes no BF16 from FP32 operands). The columns stay in the working memory for the backward.
    /// </summary>
    public static void Forward(LayerContext gpu, in Conv2dGeometry g, DevicePointer x, DevicePointer weight, DevicePointer bias,
        DevicePointer y, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        int patch = g.PatchSize, plane = g.OutPlane, channels = g.OutChannels;
        Im2Col(gpu, g, x, workspace);
        if (gpu.Bf16Activations)
        {
            var product = gpu.Kernel("md_conv2d_forward_product");
            var p = product.Arguments();
            p.Int("images", g.Batch);
            p.Int("channels", channels);
            p.Int("patch", patch);
            p.Int("plane", plane);
            p.Reads("weight", weight);
            p.Reads("col", workspace);
            p.Reads("bias", bias);
            p.WritesActivation("y", y);
            product.Launch(Grid.Elements((long)g.Batch * channels * plane), Grid.Block, ref p);
            return;
        }
        gpu.Context.SgemmStridedBatched(false, false, channels, plane, patch, 1f, weight, patch, 0L,
            workspace, plane, g.ColumnLength, 0f, y, plane, (long)channels * plane, g.Batch);
        if (bias.IsNull) return;
        var kernel = gpu.Kernel("md_conv2d_bias_forward");
        var a = kernel.Arguments();
        a.Int("images", g.Batch);
        a.Int("channels", channels);
        a.Int("plane", plane);
        a.Reads("bias", bias);
        a.WritesActivation("y", y);
        kernel.Launch(Grid.Elements((long)g.Batch * channels * plane), Grid.Block, ref a);
    }

    /// <summary>
    /// The gradients of <see cref="Forward"/>, on the columns the forward left in <paramref name="workspace"/>:
    /// <c>P[n] = dy[n]·col[n]ᵀ</c> (one strided-batched GEMM), <c>dWeight (+)= onesᵀ·P</c> (one GEMM, so the sum over the
    /// images has a fixed order), then, when <paramref name="dx"/> is not null, <c>dcol[n] = Wᵀ·dy[n]</c> over the columns
    /// and <c>md_conv2d_col2im</c>, and <c>md_conv2d_bias_backward</c> when <paramref name="dBias"/> is not null.
    /// </summary>
    /// <remarks>
    /// <paramref name="x"/> is not read: unlike the CPU kernel, which unfolds the input again, this one reuses the
    /// forward's columns (so every backward needs the forward of the same batch before it). It is taken so that the
    /// parameters are the CPU's. The ones at <see cref="OnesOffset"/> must have been written.
    /// </remarks>
    public static void Backward(LayerContext gpu, in Conv2dGeometry g, DevicePointer x, DevicePointer weight, DevicePointer dy,
        DevicePointer dx, DevicePointer dWeight, DevicePointer dBias, DevicePointer workspace,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        _ = x;
        int patch = g.PatchSize, plane = g.OutPlane, channels = g.OutChannels, images = g.Batch, weights = g.WeightLength;
        long outputStride = (long)channels * plane;
        DevicePointer columns = workspace, products = workspace.Plus(Columns(g)), ones = workspace.Plus(OnesOffset(g));
        var context = gpu.Context;
        context.SgemmStridedBatched(false, true, channels, patch, plane, 1f, dy, plane, outputStride,
            columns, plane, g.ColumnLength, 0f, products, patch, weights, images);                          // P[n] = dy[n]·col[n]ᵀ
        context.Sgemm(false, false, 1, weights, images, 1f, ones, images, products, weights,
            accumulateParameterGradients ? 1f : 0f, dWeight, weights);                                        // dW (+)= onesᵀ·P
        if (!dx.IsNull)
        {
            context.SgemmStridedBatched(true, false, patch, plane, channels, 1f, weight, patch, 0L,
                dy, plane, outputStride, 0f, columns, plane, g.ColumnLength, images);                       // dcol[n] = Wᵀ·dy[n]
            var col2im = gpu.Kernel("md_conv2d_col2im");
            var a = col2im.Arguments();
            Geometry(ref a, g);
            a.Reads("col", columns);
            a.Writes("dx", dx);
            a.Flag("accumulate", accumulateInputGradient);
            col2im.Launch(Grid.Elements(g.InputLength), Grid.Block, ref a);
        }
        if (!dBias.IsNull)
        {
            var bias = gpu.Kernel("md_conv2d_bias_backward");
            var a = bias.Arguments();
            a.Int("images", images);
            a.Int("channels", channels);
            a.Int("plane", plane);
            a.Reads("dy", dy);
            a.Writes("dbias", dBias);
            a.Flag("accumulate", accumulateParameterGradients);
            bias.Launch(Grid.Blocks(channels), Grid.Block, ref a);
        }
    }

    /// <summary><c>md_conv2d_im2col</c>: every image's columns, image n at <c>col + n·C·k·k·H'·W'</c>.</summary>
    public static void Im2Col(LayerContext gpu, in Conv2dGeometry g, DevicePointer x, DevicePointer col)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_conv2d_im2col");
        var a = kernel.Arguments();
        Geometry(ref a, g);
        a.ReadsActivation("x", x);
        a.Writes("col", col);
        kernel.Launch(Grid.Elements(Columns(g)), Grid.Block, ref a);
    }

    /// <summary><c>md_conv2d_col2im</c>: dx (+)= the fold of every image's columns, the adjoint of <see cref="Im2Col"/>.</summary>
    public static void Col2Im(LayerContext gpu, in Conv2dGeometry g, DevicePointer col, DevicePointer dx, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var kernel = gpu.Kernel("md_conv2d_col2im");
        var a = kernel.Arguments();
        Geometry(ref a, g);
        a.Reads("col", col);
        a.Writes("dx", dx);
        a.Flag("accumulate", accumulate);
        kernel.Launch(Grid.Elements(g.InputLength), Grid.Block, ref a);
    }

    private static long Columns(in Conv2dGeometry g) => (long)g.Batch * g.ColumnLength;

    private static long Products(in Conv2dGeometry g) => (long)g.Batch * g.WeightLength;

    /// <summary>The leading arguments of md_conv2d_im2col and md_conv2d_col2im: the whole batch in one launch.</summary>
    private static void Geometry(ref LayerArguments a, in Conv2dGeometry g)
    {
        a.Int("images", g.Batch);
        a.Int("channels", g.InChannels);
        a.Int("height", g.Height);
        a.Int("width", g.Width);
        a.Int("out_height", g.OutHeight);
        a.Int("out_width", g.OutWidth);
        a.Int("kernel", g.Kernel);
        a.Int("stride", g.Stride);
        a.Int("padding", g.Padding);
    }
}
