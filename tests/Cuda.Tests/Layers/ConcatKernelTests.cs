using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Concat (md_concat_*) against Runtime.Cpu.Layers.Concat, on the emulator: every part of a concat,
/// forward and backward, through the same calls with the same arguments.
/// </summary>
public sealed class ConcatKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // Parts narrower and wider than a warp, rows·width past one block; one part alone (offset 0, the whole row).
    [Theory]
    [InlineData(37, new[] { 3, 40, 1 }, false)]
    [InlineData(37, new[] { 3, 40, 1 }, true)]
    [InlineData(2, new[] { 300, 5 }, false)]
    [InlineData(1, new[] { 7 }, true)]
    public void Concat_forward_and_backward_match_the_cpu(int rows, int[] widths, bool accumulate)
    {
        var random = new Random(rows * 100 + widths.Length);
        int outputWidth = 0;
        foreach (int width in widths) outputWidth += width;
        float[] dy = LayerAssert.Uniform(random, (long)rows * outputWidth);
        float[] y = new float[rows * outputWidth];
        using DeviceVariable dY = gpu.Zeros(rows * outputWidth), dDy = gpu.Upload(dy);
        int offset = 0;
        foreach (int width in widths)
        {
            float[] x = LayerAssert.Uniform(random, (long)rows * width), dx0 = LayerAssert.Uniform(random, (long)rows * width);
            Concat.Forward(rows, width, outputWidth, offset, x, y);
            float[] dx = (float[])dx0.Clone();
            Concat.Backward(rows, width, outputWidth, offset, dy, dx, accumulate);

            using DeviceVariable dX = gpu.Upload(x), dDx = gpu.Upload(dx0);
            var layers = gpu.Layers(LayerFamily.Concat);
            GpuLayers.Concat.Forward(layers, rows, width, outputWidth, offset, dX.Pointer, dY.Pointer);
            GpuLayers.Concat.Backward(layers, rows, width, outputWidth, offset, dDy.Pointer, dDx.Pointer, accumulate);
            LayerAssert.Close(output, $"concat dx (columns {offset}..{offset + width})", dx, gpu.Download(dDx));
            offset += width;
        }
        // Every column of y written once by some part: the CPU's y has no zero left where the GPU's could differ.
        LayerAssert.Close(output, "concat y", y, gpu.Download(dY));
        Assert.DoesNotContain(0f, y);
    }

    [Fact]
    public void The_cpu_and_gpu_kernels_reject_a_part_outside_the_row()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Concat.Forward(2, 3, 5, 3, new float[6], new float[10]));
        Assert.Contains("columns [3, 6) do not fit in rows of 5", e.Message, StringComparison.Ordinal);
        using DeviceVariable buffer = gpu.Zeros(10);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => GpuLayers.Concat.Forward(gpu.Layers(LayerFamily.Concat), 2, 3, 5, 3, buffer.Pointer, buffer.Pointer));
        Assert.Contains("columns [3, 6) do not fit in rows of 5", e.Message, StringComparison.Ordinal);
    }
}
