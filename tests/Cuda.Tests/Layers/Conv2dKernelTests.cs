using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Conv2d against Runtime.Cpu.Layers.Conv2d on the emulator: the same calls with the same geometry,
/// device pointers for spans. The launcher runs the host-side sequence conv2d.cuh documents (im2col,
/// GpuContext.SgemmStridedBatched and Sgemm, col2im, the bias kernels), so the sequence is checked with the kernels.
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

        // The working memory: the columns, each image's weight-gradient product, then the ones the caller writes once.
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dB = gpu.Upload(bias), dY = gpu.Zeros(g.OutputLength);
        using DeviceVariable work = gpu.Zeros(GpuLayers.Conv2d.WorkspaceLength(g));
        float[] ones = new float[n];
        Array.Fill(ones, 1f);
        work.CopyFrom<float>(ones, GpuLayers.Conv2d.OnesOffset(g));
        var layers = gpu.Layers(LayerFamily.Conv2d);
        GpuLayers.Conv2d.Forward(layers, g, dX.Pointer, dW.Pointer, dB.Pointer, dY.Pointer, work.Pointer);
        LayerAssert.Close(output, $"conv y {g}", y, gpu.Download(dY));

        // Backward on the forward's columns.
        using DeviceVariable dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0), dDw = gpu.Upload(dw0), dDb = gpu.Upload(db0);
        GpuLayers.Conv2d.Backward(layers, g, dX.Pointer, dW.Pointer, dDy.Pointer, dDx.Pointer, dDw.Pointer, dDb.Pointer, work.Pointer, accumulate, accumulate);
        LayerAssert.Close(output, "conv dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "conv dweight", dw, gpu.Download(dDw));
        LayerAssert.Close(output, "conv dbias", db, gpu.Download(dDb));
    }

    [Fact]
    public void Without_a_bias_or_an_input_gradient_neither_is_touched()
    {
        var g = new Conv2dGeometry(2, 3, 6, 5, 4, 3, 1, 1);
        var random = new Random(21);
        float[] x = LayerAssert.Uniform(random, g.InputLength), weight = LayerAssert.Uniform(random, g.WeightLength), dy = LayerAssert.Uniform(random, g.OutputLength);
        float[] y = new float[g.OutputLength], dw = new float[g.WeightLength], workspace = new float[Conv2d.WorkspaceSize(g)];
        Conv2d.Forward(g, x, weight, Span<float>.Empty, y, workspace);
        Conv2d.Backward(g, x, weight, dy, Span<float>.Empty, dw, Span<float>.Empty, workspace);

        float[] ones = new float[g.Batch];
        Array.Fill(ones, 1f);
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dY = gpu.Zeros(g.OutputLength), work = gpu.Zeros(GpuLayers.Conv2d.WorkspaceLength(g));
        using DeviceVariable dDy = gpu.Upload(dy), dDw = gpu.Zeros(g.WeightLength);
        work.CopyFrom<float>(ones, GpuLayers.Conv2d.OnesOffset(g));
        var layers = gpu.Layers(LayerFamily.Conv2d);
        GpuLayers.Conv2d.Forward(layers, g, dX.Pointer, dW.Pointer, default, dY.Pointer, work.Pointer);
        GpuLayers.Conv2d.Backward(layers, g, dX.Pointer, dW.Pointer, dDy.Pointer, default, dDw.Pointer, default, work.Pointer);
        LayerAssert.Close(output, "conv y (no bias)", y, gpu.Download(dY));
        LayerAssert.Close(output, "conv dweight (no dx, no bias)", dw, gpu.Download(dDw));
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
        var layers = gpu.Layers(LayerFamily.Conv2d);
        GpuLayers.Conv2d.Im2Col(layers, g, dX.Pointer, col.Pointer);
        GpuLayers.Conv2d.Col2Im(layers, g, dCols.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, $"im2col {g}", expectedCol, gpu.Download(col), 0f, 0f);
        LayerAssert.Close(output, "col2im", expectedDx, gpu.Download(dDx), 0f, 0f);
    }
}
