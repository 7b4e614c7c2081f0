using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>ModelDsl.Cuda.Layers.Permute (md_permute_forward, md_permute_backward) against Runtime.Cpu.Layers.Permute on the emulator.</summary>
public sealed class PermuteKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // A source [2, 3, 4, 5] permuted (0, 3, 1, 2): destination [2, 5, 3, 4], source strides 60, 1, 20, 5; and its inverse
    // (0, 2, 3, 1) over the destination: [2, 3, 4, 5] with strides 60, 4, 1, 12.
    [Theory]
    [InlineData(2, 5, 3, 4, 60, 1, 20, 5, false)]
    [InlineData(2, 3, 4, 5, 60, 4, 1, 12, true)]
    [InlineData(1, 1, 7, 3, 0, 0, 1, 7, false)]
    public void Forward_and_backward_match_the_cpu(int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3, bool accumulate)
    {
        int count = n0 * n1 * n2 * n3;
        var random = new Random(count + t1);
        float[] x = LayerAssert.Uniform(random, count), y0 = LayerAssert.Uniform(random, count);
        float[] y = new float[count], dx = (float[])y0.Clone();
        Permute.Forward(n0, n1, n2, n3, t0, t1, t2, t3, x, y);
        Permute.Backward(n0, n1, n2, n3, t0, t1, t2, t3, x, dx, accumulate);

        var layers = gpu.Layers(LayerFamily.Permute);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(count), dDx = gpu.Upload(y0);
        GpuLayers.Permute.Forward(layers, n0, n1, n2, n3, t0, t1, t2, t3, dX.Pointer, dY.Pointer);
        LayerAssert.Close(output, "permute y", y, gpu.Download(dY), 0f, 0f);
        GpuLayers.Permute.Backward(layers, n0, n1, n2, n3, t0, t1, t2, t3, dX.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "permute dx", dx, gpu.Download(dDx), 0f, 0f);
    }
}
