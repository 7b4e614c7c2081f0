using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.MaxPool2d and AvgPool2d (md_pool2d_*) against Runtime.Cpu.Layers.MaxPool2d and AvgPool2d, on
/// the emulator: the same calls with the same geometry, device pointers for spans.
/// </summary>
public sealed class Pool2dKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // (N, C, H, W, k, s, p): stride 2 with padding, non-overlapping, overlapping (s < k), padding k/2 with an even
    // kernel, stride larger than the kernel (elements in no window), odd sizes throughout.
    public static TheoryData<int, int, int, int, int, int, int, bool> Geometries() => new()
    {
        { 2, 3, 11, 9, 3, 2, 1, false },
        { 2, 3, 11, 9, 3, 2, 1, true },
        { 2, 2, 7, 7, 2, 2, 0, false },
        { 1, 3, 10, 13, 3, 1, 1, true },
        { 1, 2, 9, 9, 4, 3, 2, false },
        { 3, 1, 8, 11, 2, 3, 0, true },
        { 1, 1, 1, 1, 1, 1, 0, false },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void MaxPool_forward_indices_and_backward_match_the_cpu(int n, int c, int h, int w, int k, int s, int p, bool accumulate)
    {
        var g = new Pool2dGeometry(n, c, h, w, k, s, p);
        var random = new Random(g.InputLength + k * 7 + s);
        // Few distinct values, so windows hold ties (the first in row-major window order must win), and one NaN.
        float[] x = new float[g.InputLength];
        for (int i = 0; i < x.Length; i++) x[i] = random.Next(-3, 4) * 0.5f;
        if (x.Length > 5) x[x.Length / 2 + 1] = float.NaN;
        float[] dy = LayerAssert.Uniform(random, g.OutputLength), dx0 = LayerAssert.Uniform(random, g.InputLength);
        float[] y = new float[g.OutputLength], dx = (float[])dx0.Clone();
        int[] indices = new int[g.OutputLength];
        MaxPool2d.Forward(g, x, y, indices);
        MaxPool2d.Backward(g, dy, indices, dx, accumulate);

        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(g.OutputLength), dIndices = gpu.Zeros(g.OutputLength);
        var layers = gpu.Layers(LayerFamily.Pool2d);
        GpuLayers.MaxPool2d.Forward(layers, g, dX.Pointer, dY.Pointer, dIndices.Pointer);
        LayerAssert.Close(output, $"max pool y {g}", y, gpu.Download(dY), 0f, 0f);
        LayerAssert.Equal(output, "max pool indices", indices, gpu.Download<int>(dIndices));

        using DeviceVariable dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        GpuLayers.MaxPool2d.Backward(layers, g, dDy.Pointer, dIndices.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "max pool dx", dx, gpu.Download(dDx));
    }

    [Fact]
    public void MaxPool_forward_without_indices_for_inference()
    {
        var g = new Pool2dGeometry(2, 2, 6, 5, 3, 2, 1);
        float[] x = LayerAssert.Uniform(new Random(3), g.InputLength), y = new float[g.OutputLength];
        MaxPool2d.Forward(g, x, y, new int[g.OutputLength]);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(g.OutputLength);
        GpuLayers.MaxPool2d.Forward(gpu.Layers(LayerFamily.Pool2d), g, dX.Pointer, dY.Pointer, default);
        LayerAssert.Close(output, "max pool y (no indices)", y, gpu.Download(dY), 0f, 0f);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void AvgPool_forward_and_backward_match_the_cpu(int n, int c, int h, int w, int k, int s, int p, bool accumulate)
    {
        var g = new Pool2dGeometry(n, c, h, w, k, s, p);
        var random = new Random(g.InputLength * 3 + k);
        float[] x = LayerAssert.Uniform(random, g.InputLength), dy = LayerAssert.Uniform(random, g.OutputLength);
        float[] dx0 = LayerAssert.Uniform(random, g.InputLength);
        float[] y = new float[g.OutputLength], dx = (float[])dx0.Clone();
        AvgPool2d.Forward(g, x, y);
        AvgPool2d.Backward(g, dy, dx, accumulate);

        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(g.OutputLength);
        var layers = gpu.Layers(LayerFamily.Pool2d);
        GpuLayers.AvgPool2d.Forward(layers, g, dX.Pointer, dY.Pointer);
        LayerAssert.Close(output, $"avg pool y {g}", y, gpu.Download(dY));

        using DeviceVariable dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        GpuLayers.AvgPool2d.Backward(layers, g, dDy.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "avg pool dx", dx, gpu.Download(dDx));
    }
}
