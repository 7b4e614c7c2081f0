using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// md_conv2d_* against Runtime.Cpu.Layers.Conv2d on the emulator. The forward and backward run the host-side sequence
/// CudaLayerLibrary documents (im2col, GpuContext.SgemmStridedBatched and Sgemm, col2im, the bias kernels), so the
/// sequence is checked too.
/// </summary>
public sealed class Conv2dKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // (N, C, H, W, K, k, s, p, accumulate): stride 2 with padding, a 1×1 kernel, padding beyond k/2, odd sizes.
    public static TheoryData<int, int, int, int, int, int, int, int, bool> Geometries() => new()
    {
        { 2, 3, 9, 11, 5, 3, 2, 1, false },
        { 2, 3, 9, 11, 5, 3, 2, 1, true },
        { 3, 2, 7, 6, 4, 3, 1, 0, false },
        { 2, 4, 8, 8, 6, 5, 1, 2, true },
        { 1, 1, 5, 5, 2, 1, 1, 0, false },
        { 2, 2, 10, 7, 3, 4, 3, 2, false },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_and_backward_sequence_matches_the_cpu(int n, int c, int h, int w, int k, int kernel, int s, int p, bool accumulate)
    {
        var g = new Conv2dGeometry(n, c, h, w, k, kernel, s, p);
        var random = new Random(g.InputLength + g.WeightLength);
        float[] x = LayerAssert.Uniform(random, g.InputLength), weight = LayerAssert.Uniform(random, g.WeightLength, -0.5f, 0.5f);
        float[] bias = LayerAssert.Uniform(random, k), dy = LayerAssert.Uniform(random, g.OutputLength);
        float[] dx0 = LayerAssert.Uniform(random, g.InputLength), dw0 = LayerAssert.Uniform(random, g.WeightLength), db0 = LayerAssert.Uniform(random, k);

        float[] workspace = new float[Conv2d.WorkspaceSize(g)];
        float[] y = new float[g.OutputLength], dx = (float[])dx0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        Conv2d.Forward(g, x, weight, bias, y, workspace);
        Conv2d.Backward(g, x, weight, dy, dx, dw, db, workspace, accumulate, accumulate);

        int patch = g.PatchSize, plane = g.OutPlane, outImage = k * plane;
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dB = gpu.Upload(bias), dY = gpu.Zeros(g.OutputLength);
        using DeviceVariable col = gpu.Zeros((long)n * g.ColumnLength);

        // Forward: im2col of the whole batch → one strided batch of y[i] = W · col[i] (W shared); then the bias.
        Im2Col(g, n, dX.Pointer, col.Pointer);
        gpu.Context.SgemmStridedBatched(false, false, k, plane, patch, 1f, dW.Pointer, patch, 0, col.Pointer, plane, g.ColumnLength,
            0f, dY.Pointer, plane, outImage, n);
        var args = new KernelArguments();
        args.Add(n); args.Add(k); args.Add(plane); args.Add(dB); args.Add(dY);
        gpu.Launch(LayerFamily.Conv2d, "md_conv2d_bias_forward", Grid.Elements(g.OutputLength), Grid.Block, ref args);
        LayerAssert.Close(output, $"conv y {g}", y, gpu.Download(dY));

        // Backward on the forward's columns: P[i] = dy[i]·col[i]ᵀ → dW (+)= onesᵀ·P → dcol[i] = Wᵀ·dy[i] over col → col2im
        // of the whole batch; then the bias gradient.
        float[] ones = new float[n];
        Array.Fill(ones, 1f);
        using DeviceVariable dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0), dDw = gpu.Upload(dw0), dDb = gpu.Upload(db0);
        using DeviceVariable products = gpu.Zeros((long)n * g.WeightLength), dOnes = gpu.Upload(ones);
        gpu.Context.SgemmStridedBatched(false, true, k, patch, plane, 1f, dDy.Pointer, plane, outImage, col.Pointer, plane, g.ColumnLength,
            0f, products.Pointer, patch, g.WeightLength, n);
        gpu.Context.Sgemm(false, false, 1, g.WeightLength, n, 1f, dOnes.Pointer, n, products.Pointer, g.WeightLength, accumulate ? 1f : 0f, dDw.Pointer, g.WeightLength);
        gpu.Context.SgemmStridedBatched(true, false, patch, plane, k, 1f, dW.Pointer, patch, 0, dDy.Pointer, plane, outImage,
            0f, col.Pointer, plane, g.ColumnLength, n);
        Col2Im(g, n, col.Pointer, dDx.Pointer, accumulate);
        args = new KernelArguments();
        args.Add(n); args.Add(k); args.Add(plane); args.Add(dDy); args.Add(dDb); args.Add(accumulate ? 1 : 0);
        gpu.Launch(LayerFamily.Conv2d, "md_conv2d_bias_backward", new Dim3((uint)k), Grid.Block, ref args);
        LayerAssert.Close(output, "conv dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "conv dweight", dw, gpu.Download(dDw));
        LayerAssert.Close(output, "conv dbias", db, gpu.Download(dDb));
    }

    // The whole batch in one launch: image i's column matrix at col + i·patch·plane, exactly Conv2d.Im2Col's per image;
    // col2im over the batch is exactly Conv2d.Col2ImAdd's per image (same additions in the same order).
    [Theory]
    [MemberData(nameof(Geometries))]
    public void Batched_im2col_and_col2im_match_the_cpu_per_image(int n, int c, int h, int w, int k, int kernel, int s, int p, bool accumulate)
    {
        var g = new Conv2dGeometry(n, c, h, w, k, kernel, s, p);
        var random = new Random(g.ColumnLength + n);
        int image = c * h * w;
        float[] x = LayerAssert.Uniform(random, g.InputLength), cols = LayerAssert.Uniform(random, (long)n * g.ColumnLength);
        float[] dx0 = LayerAssert.Uniform(random, g.InputLength);
        float[] expectedCol = new float[n * g.ColumnLength], expectedDx = (float[])dx0.Clone();
        for (int i = 0; i < n; i++)
        {
            Conv2d.Im2Col(g, x.AsSpan(i * image, image), expectedCol.AsSpan(i * g.ColumnLength, g.ColumnLength), g.OutPlane);
            if (!accumulate) expectedDx.AsSpan(i * image, image).Clear();
            Conv2d.Col2ImAdd(g, cols.AsSpan(i * g.ColumnLength, g.ColumnLength), g.OutPlane, expectedDx.AsSpan(i * image, image));
        }

        using DeviceVariable dX = gpu.Upload(x), col = gpu.Zeros((long)n * g.ColumnLength), dCols = gpu.Upload(cols), dDx = gpu.Upload(dx0);
        Im2Col(g, n, dX.Pointer, col.Pointer);
        Col2Im(g, n, dCols.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, $"im2col {g}", expectedCol, gpu.Download(col), 0f, 0f);
        LayerAssert.Close(output, "col2im", expectedDx, gpu.Download(dDx), 0f, 0f);
    }

    private void Im2Col(in Conv2dGeometry g, int images, DevicePointer x, DevicePointer col)
    {
        var args = Geometry(g, images);
        args.Add(x); args.Add(col);
        gpu.Launch(LayerFamily.Conv2d, "md_conv2d_im2col", Grid.Elements((long)images * g.ColumnLength), Grid.Block, ref args);
    }

    private void Col2Im(in Conv2dGeometry g, int images, DevicePointer col, DevicePointer dx, bool accumulate)
    {
        var args = Geometry(g, images);
        args.Add(col); args.Add(dx); args.Add(accumulate ? 1 : 0);
        gpu.Launch(LayerFamily.Conv2d, "md_conv2d_col2im", Grid.Elements((long)images * g.InChannels * g.Height * g.Width), Grid.Block, ref args);
    }

    /// <summary>The leading arguments of md_conv2d_im2col and md_conv2d_col2im.</summary>
    private static KernelArguments Geometry(in Conv2dGeometry g, int images)
    {
        var args = new KernelArguments();
        args.Add(images); args.Add(g.InChannels); args.Add(g.Height); args.Add(g.Width); args.Add(g.OutHeight); args.Add(g.OutWidth);
        args.Add(g.Kernel); args.Add(g.Stride); args.Add(g.Padding);
        return args;
    }
}
