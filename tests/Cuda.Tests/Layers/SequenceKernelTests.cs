using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Sequence.Copy (md_sequence_copy) against Runtime.Cpu.Layers.Sequence.Copy on the emulator: the
/// column blocks and time reversal a bidirectional lstm or gru runs around its two directions.
/// </summary>
public sealed class SequenceKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // (B, T, width, x row, x offset, y row, y offset): x reversed as is, a join into the second half, a split out of it,
    // one step (the last states), widths past a 256-thread block.
    [Theory]
    [InlineData(3, 7, 5, 5, 0, 5, 0, true, false)]
    [InlineData(3, 7, 4, 4, 0, 8, 4, true, false)]
    [InlineData(2, 5, 3, 6, 3, 3, 0, true, true)]
    [InlineData(4, 1, 6, 6, 0, 12, 0, false, false)]
    [InlineData(2, 9, 70, 140, 70, 70, 0, false, true)]
    public void Copy_matches_the_cpu(int batch, int steps, int width, int xWidth, int xOffset, int yWidth, int yOffset, bool reverse, bool accumulate)
    {
        var random = new Random(batch * 100 + steps * 10 + width);
        float[] x = LayerAssert.Uniform(random, (long)batch * steps * xWidth);
        float[] y0 = LayerAssert.Uniform(random, (long)batch * steps * yWidth);
        float[] y = (float[])y0.Clone();
        Sequence.Copy(batch, steps, width, xWidth, xOffset, yWidth, yOffset, x, y, reverse, accumulate);
        // The CPU kernel itself against the definition, element by element.
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                for (int c = 0; c < width; c++)
                {
                    int target = ((b * steps + (reverse ? steps - 1 - t : t)) * yWidth) + yOffset + c;
                    float v = x[(b * steps + t) * xWidth + xOffset + c];
                    Assert.Equal(accumulate ? y0[target] + v : v, y[target]);
                }

        // md_sequence_copy (activations) and md_sequence_copy_gradient (gradients): the same copy.
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Upload(y0), dG = gpu.Upload(y0);
        GpuLayers.Sequence.Copy(gpu.Layers(LayerFamily.Sequence), batch, steps, width, xWidth, xOffset, yWidth, yOffset, dX.Pointer, dY.Pointer, reverse, accumulate);
        LayerAssert.Close(output, "sequence copy", y, gpu.Download(dY));
        GpuLayers.Sequence.CopyGradient(gpu.Layers(LayerFamily.Sequence), batch, steps, width, xWidth, xOffset, yWidth, yOffset, dX.Pointer, dG.Pointer, reverse, accumulate);
        LayerAssert.Close(output, "sequence copy of gradients", y, gpu.Download(dG));
    }

    [Fact]
    public void A_block_outside_the_row_is_refused_before_launch()
    {
        using DeviceVariable dX = gpu.Zeros(12), dY = gpu.Zeros(12);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            GpuLayers.Sequence.Copy(gpu.Layers(LayerFamily.Sequence), 1, 2, 4, 6, 0, 6, 3, dX.Pointer, dY.Pointer));
        Assert.Contains("columns [3, 7) do not fit in rows of 6", error.Message);
    }
}
