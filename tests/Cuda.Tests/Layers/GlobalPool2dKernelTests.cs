using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.GlobalPool2d (md_globalpool2d_*) against Runtime.Cpu.Layers.GlobalPool2d on the emulator: the
/// same calls with the same sizes, device pointers for spans.
/// </summary>
public sealed class GlobalPool2dKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // (planes, area, accumulate): more planes than one block holds, a 1×1 plane, odd sizes.
    [Theory]
    [InlineData(6, 35, false)]
    [InlineData(300, 9, true)]
    [InlineData(4, 1, false)]
    public void Average_and_max_forward_and_backward_match_the_cpu(int planes, int area, bool accumulate)
    {
        var random = new Random(planes * 31 + area);
        // Few distinct values, so planes hold ties (the first must win), and one NaN (it wins its plane).
        float[] x = new float[planes * area];
        for (int i = 0; i < x.Length; i++) x[i] = random.Next(-3, 4) * 0.5f;
        if (x.Length > 5) x[x.Length / 2 + 1] = float.NaN;
        float[] dy = LayerAssert.Uniform(random, planes), dx0 = LayerAssert.Uniform(random, planes * area);
        var layers = gpu.Layers(LayerFamily.GlobalPool2d);

        float[] y = new float[planes], dx = (float[])dx0.Clone();
        int[] indices = new int[planes];
        GlobalMaxPool2d.Forward(planes, area, x, y, indices);
        GlobalMaxPool2d.Backward(planes, area, dy, indices, dx, accumulate);
        using (DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(planes), dIndices = gpu.Zeros(planes), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0))
        {
            GpuLayers.GlobalMaxPool2d.Forward(layers, planes, area, dX.Pointer, dY.Pointer, dIndices.Pointer);
            LayerAssert.Close(output, "global max y", y, gpu.Download(dY), 0f, 0f);
            LayerAssert.Equal(output, "global max indices", indices, gpu.Download<int>(dIndices));
            GpuLayers.GlobalMaxPool2d.Backward(layers, planes, area, dDy.Pointer, dIndices.Pointer, dDx.Pointer, accumulate);
            LayerAssert.Close(output, "global max dx", dx, gpu.Download(dDx));
        }

        for (int i = 0; i < x.Length; i++) if (float.IsNaN(x[i])) x[i] = 0.25f;
        dx = (float[])dx0.Clone();
        GlobalAvgPool2d.Forward(planes, area, x, y);
        GlobalAvgPool2d.Backward(planes, area, dy, dx, accumulate);
        using (DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(planes), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0))
        {
            GpuLayers.GlobalAvgPool2d.Forward(layers, planes, area, dX.Pointer, dY.Pointer);
            LayerAssert.Close(output, "global avg y", y, gpu.Download(dY));
            GpuLayers.GlobalAvgPool2d.Backward(layers, planes, area, dDy.Pointer, dDx.Pointer, accumulate);
            LayerAssert.Close(output, "global avg dx", dx, gpu.Download(dDx));
        }
    }
}
