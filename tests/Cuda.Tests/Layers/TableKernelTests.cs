using System;
using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Embedding and Positional (md_embedding_*, md_positional_*) against Runtime.Cpu.Layers.Embedding
/// and Positional, on the emulator: the same calls with the same arguments, device pointers for spans.
/// </summary>
public sealed class TableKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // Repeated ids (13 rows for 45 positions), dim not a multiple of 32. The scatter uses float atomics: on a GPU their
    // order varies, so a repeated id's gradient may differ from the CPU's position-order sum by a few ulps of the sum;
    // the default tolerance (1e-5 + 1e-4·|cpu|) covers that for these sizes. The emulator runs blocks in order, so here
    // the sums happen in position order and match exactly.
    // paddingIdx (padding_idx; -1 none): ids equal to it add nothing, on both sides.
    [Theory]
    [InlineData(45, 13, 70, false, -1)]
    [InlineData(45, 13, 70, true, -1)]
    [InlineData(300, 7, 33, false, -1)]
    [InlineData(1, 1, 1, false, -1)]
    [InlineData(45, 13, 70, false, 0)]
    [InlineData(300, 7, 33, true, 6)]
    public void Embedding_forward_and_backward_match_the_cpu(int count, int num, int dim, bool accumulate, int paddingIdx)
    {
        var random = new Random(count * 100 + dim);
        int[] ids = Enumerable.Range(0, count).Select(_ => random.Next(num)).ToArray();
        float[] weight = LayerAssert.Uniform(random, (long)num * dim), dy = LayerAssert.Uniform(random, (long)count * dim);
        float[] dw0 = LayerAssert.Uniform(random, (long)num * dim);
        float[] y = new float[count * dim], dw = (float[])dw0.Clone();
        Embedding.Forward(count, num, dim, ids, weight, y);
        Embedding.Backward(count, num, dim, paddingIdx, ids, dy, dw, accumulate);
        if (paddingIdx >= 0)
        {
            Assert.Contains(paddingIdx, ids); // the skip is exercised
            Assert.Equal(dw0.AsSpan(paddingIdx * dim, dim).ToArray().Select(v => accumulate ? v : 0f), dw.AsSpan(paddingIdx * dim, dim).ToArray());
        }

        using DeviceVariable dIds = gpu.Upload(ids), dW = gpu.Upload(weight), dY = gpu.Zeros(count * dim);
        var layers = gpu.Layers(LayerFamily.Embedding);
        GpuLayers.Embedding.Forward(layers, count, num, dim, dIds.Pointer, dW.Pointer, dY.Pointer);
        LayerAssert.Close(output, "embedding y", y, gpu.Download(dY));

        using DeviceVariable dDy = gpu.Upload(dy), dDw = gpu.Upload(dw0);
        GpuLayers.Embedding.Backward(layers, count, num, dim, paddingIdx, dIds.Pointer, dDy.Pointer, dDw.Pointer, accumulate);
        LayerAssert.Close(output, "embedding dweight", dw, gpu.Download(dDw));
    }

    [Fact]
    public void Embedding_ids_outside_the_table_read_zero_and_add_nothing()
    {
        const int num = 4, dim = 3;
        int[] ids = [1, -1, 4, 3];
        float[] weight = Enumerable.Range(0, num * dim).Select(i => (float)i + 1).ToArray();
        float[] dy = Enumerable.Repeat(1f, ids.Length * dim).ToArray();
        using DeviceVariable dIds = gpu.Upload(ids), dW = gpu.Upload(weight), dY = gpu.Zeros(ids.Length * dim), dDy = gpu.Upload(dy), dDw = gpu.Zeros(num * dim);
        var layers = gpu.Layers(LayerFamily.Embedding);
        GpuLayers.Embedding.Forward(layers, ids.Length, num, dim, dIds.Pointer, dW.Pointer, dY.Pointer);
        Assert.Equal([4f, 5f, 6f, 0f, 0f, 0f, 0f, 0f, 0f, 10f, 11f, 12f], gpu.Download(dY));
        GpuLayers.Embedding.Backward(layers, ids.Length, num, dim, -1, dIds.Pointer, dDy.Pointer, dDw.Pointer);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f, 0f, 0f, 0f, 1f, 1f, 1f], gpu.Download(dDw));
    }

    // T below the table's context (rows t ≥ T of dtable: zeroed or kept), d not a multiple of 32.
    [Theory]
    [InlineData(3, 11, 16, 37, false, false, true)]
    [InlineData(3, 11, 16, 37, true, true, true)]
    [InlineData(2, 16, 16, 5, false, true, false)]
    [InlineData(1, 1, 3, 1, true, false, true)]
    public void Positional_forward_and_backward_match_the_cpu(int batch, int steps, int context, int dim,
        bool accumulateInput, bool accumulateTable, bool withDx)
    {
        var random = new Random(batch * 1000 + steps * 10 + dim);
        float[] x = LayerAssert.Uniform(random, (long)batch * steps * dim), table = LayerAssert.Uniform(random, (long)context * dim);
        float[] dy = LayerAssert.Uniform(random, (long)batch * steps * dim);
        float[] dx0 = LayerAssert.Uniform(random, (long)batch * steps * dim), dt0 = LayerAssert.Uniform(random, (long)context * dim);
        float[] y = new float[x.Length], dx = (float[])dx0.Clone(), dt = (float[])dt0.Clone();
        Positional.Forward(batch, steps, context, dim, x, table, y);
        Positional.Backward(batch, steps, context, dim, dy, withDx ? dx : Span<float>.Empty, dt, accumulateInput, accumulateTable);

        using DeviceVariable dX = gpu.Upload(x), dT = gpu.Upload(table), dY = gpu.Zeros(y.Length);
        var layers = gpu.Layers(LayerFamily.Positional);
        GpuLayers.Positional.Forward(layers, batch, steps, context, dim, dX.Pointer, dT.Pointer, dY.Pointer);
        LayerAssert.Close(output, "positional y", y, gpu.Download(dY));

        using DeviceVariable dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0), dDt = gpu.Upload(dt0);
        GpuLayers.Positional.Backward(layers, batch, steps, context, dim, dDy.Pointer, withDx ? dDx.Pointer : default, dDt.Pointer, accumulateInput, accumulateTable);
        LayerAssert.Close(output, "positional dtable", dt, gpu.Download(dDt));
        LayerAssert.Close(output, "positional dx", withDx ? dx : dx0, gpu.Download(dDx)); // untouched without dx
    }

    [Fact]
    public void Positional_refuses_more_steps_than_the_table_holds_as_the_cpu_does()
    {
        using DeviceVariable x = gpu.Zeros(2 * 5 * 3), table = gpu.Zeros(4 * 3), y = gpu.Zeros(2 * 5 * 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => Positional.Forward(2, 5, 4, 3, new float[30], new float[12], new float[30]));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            GpuLayers.Positional.Forward(gpu.Layers(LayerFamily.Positional), 2, 5, 4, 3, x.Pointer, table.Pointer, y.Pointer));
        Assert.Equal("steps", error.ParamName);
    }
}
