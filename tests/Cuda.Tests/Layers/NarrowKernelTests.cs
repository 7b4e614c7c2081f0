using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>ModelDsl.Cuda.Layers.Narrow (md_narrow_*) against Runtime.Cpu.Layers.Narrow on the emulator; the bounds checks of both.</summary>
public sealed class NarrowKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // [outer, length, inner], start (negative from the end), count.
    [Theory]
    [InlineData(3, 5, 4, 0, 1, false)]  // select index 0 (the [CLS] row)
    [InlineData(3, 5, 4, -1, 1, true)]  // select index -1, accumulated
    [InlineData(2, 7, 3, 2, 4, false)]  // slice 2..5
    [InlineData(1, 6, 1, -3, 3, true)]  // slice -3.. of a vector
    [InlineData(4, 3, 2, 0, 3, false)]  // the whole axis
    public void Forward_and_backward_match_the_cpu(int outer, int length, int inner, int start, int count, bool accumulate)
    {
        int n = outer * length * inner, m = outer * count * inner;
        var random = new Random(n + start);
        float[] x = LayerAssert.Uniform(random, n), dy = LayerAssert.Uniform(random, m), dx0 = LayerAssert.Uniform(random, n);
        float[] y = new float[m], dx = (float[])dx0.Clone();
        Narrow.Forward(outer, length, inner, start, count, x, y);
        Narrow.Backward(outer, length, inner, start, count, dy, dx, accumulate);
        // The CPU kernel itself: a row it takes, and (without accumulate) a zero outside the range.
        int begin = start < 0 ? start + length : start;
        Assert.Equal(x[begin * inner], y[0]);
        if (!accumulate && count < length) Assert.Equal(0f, dx[(begin == 0 ? count : 0) * inner]);

        var layers = gpu.Layers(LayerFamily.Narrow);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(m), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        GpuLayers.Narrow.Forward(layers, outer, length, inner, start, count, dX.Pointer, dY.Pointer);
        LayerAssert.Close(output, "narrow y", y, gpu.Download(dY), 0f, 0f);
        GpuLayers.Narrow.Backward(layers, outer, length, inner, start, count, dDy.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "narrow dx", dx, gpu.Download(dDx), 0f, 0f);
    }

    [Theory]
    [InlineData(5, 2)]   // rows 5..6 of 5
    [InlineData(-6, 1)]  // before the first row
    [InlineData(3, 3)]   // rows 3..5 of 5
    public void Rows_outside_the_axis_throw_on_both_backends(int start, int count)
    {
        float[] x = new float[2 * 5 * 3], y = new float[2 * count * 3];
        var cpu = Assert.Throws<ArgumentOutOfRangeException>(() => Narrow.Forward(2, 5, 3, start, count, x, y));
        Assert.Contains("outside an axis of length 5", cpu.Message);
        var layers = gpu.Layers(LayerFamily.Narrow);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(y.Length);
        var device = Assert.Throws<ArgumentOutOfRangeException>(() => GpuLayers.Narrow.Forward(layers, 2, 5, 3, start, count, dX.Pointer, dY.Pointer));
        Assert.Equal(cpu.Message, device.Message);
    }
}
