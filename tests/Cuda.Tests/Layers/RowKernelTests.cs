using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.LayerNorm and Softmax (md_layernorm_*, md_softmax_*) against Runtime.Cpu.Layers.LayerNorm and
/// Softmax, on the emulator: the same calls with the same arguments, device pointers for spans.
/// </summary>
public sealed class RowKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // Rows not a multiple of 8 (a partly empty last block), columns below, between and above multiples of 32.
    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(37, 70, true)]
    [InlineData(5, 300, false)]
    [InlineData(9, 13, true)]
    [InlineData(1, 1, false)]
    public void LayerNorm_forward_and_backward_match_the_cpu(int rows, int dim, bool accumulate)
    {
        var random = new Random(rows * 1000 + dim);
        float[] x = LayerAssert.Uniform(random, (long)rows * dim, 2f, 5f); // a large mean: the two-pass variance matters
        float[] weight = LayerAssert.Uniform(random, dim, 0.5f, 1.5f), bias = LayerAssert.Uniform(random, dim);
        float[] dy = LayerAssert.Uniform(random, (long)rows * dim);
        float[] dx0 = LayerAssert.Uniform(random, (long)rows * dim), dw0 = LayerAssert.Uniform(random, dim), db0 = LayerAssert.Uniform(random, dim);

        float[] y = new float[rows * dim], mean = new float[rows], rstd = new float[rows];
        LayerNorm.Forward(rows, dim, x, weight, bias, y, mean, rstd);
        float[] dx = (float[])dx0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        LayerNorm.Backward(rows, dim, x, weight, mean, rstd, dy, dx, dw, db, accumulate, accumulate);

        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dB = gpu.Upload(bias), dY = gpu.Zeros(rows * dim);
        using DeviceVariable dMean = gpu.Zeros(rows), dRstd = gpu.Zeros(rows);
        var layers = gpu.Layers(LayerFamily.LayerNorm);
        GpuLayers.LayerNorm.Forward(layers, rows, dim, dX.Pointer, dW.Pointer, dB.Pointer, dY.Pointer, dMean.Pointer, dRstd.Pointer);
        LayerAssert.Close(output, "layernorm y", y, gpu.Download(dY));
        LayerAssert.Close(output, "layernorm mean", mean, gpu.Download(dMean));
        LayerAssert.Close(output, "layernorm rstd", rstd, gpu.Download(dRstd));

        // The backward from the CPU's saved statistics, so the backward is checked on its own.
        using DeviceVariable dMeanCpu = gpu.Upload(mean), dRstdCpu = gpu.Upload(rstd), dDy = gpu.Upload(dy);
        using DeviceVariable dDx = gpu.Upload(dx0), dDw = gpu.Upload(dw0), dDb = gpu.Upload(db0);
        GpuLayers.LayerNorm.Backward(layers, rows, dim, dX.Pointer, dW.Pointer, dMeanCpu.Pointer, dRstdCpu.Pointer, dDy.Pointer,
            dDx.Pointer, dDw.Pointer, dDb.Pointer, accumulate, accumulate);
        LayerAssert.Close(output, "layernorm dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "layernorm dweight", dw, gpu.Download(dDw));
        LayerAssert.Close(output, "layernorm dbias", db, gpu.Download(dDb));
    }

    [Fact]
    public void LayerNorm_forward_without_statistics_for_inference()
    {
        const int rows = 11, dim = 40;
        var random = new Random(5);
        float[] x = LayerAssert.Uniform(random, rows * dim), weight = LayerAssert.Uniform(random, dim), bias = LayerAssert.Uniform(random, dim);
        float[] y = new float[rows * dim];
        LayerNorm.Forward(rows, dim, x, weight, bias, y, new float[rows], new float[rows]);
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dB = gpu.Upload(bias), dY = gpu.Zeros(rows * dim);
        GpuLayers.LayerNorm.Forward(gpu.Layers(LayerFamily.LayerNorm), rows, dim, dX.Pointer, dW.Pointer, dB.Pointer, dY.Pointer, default, default);
        LayerAssert.Close(output, "layernorm y (no statistics)", y, gpu.Download(dY));
    }

    [Fact]
    public void LayerNorm_backward_without_an_input_gradient_leaves_dx_alone_and_still_writes_the_parameter_gradients()
    {
        const int rows = 9, dim = 21;
        var random = new Random(8);
        float[] x = LayerAssert.Uniform(random, rows * dim), weight = LayerAssert.Uniform(random, dim), dy = LayerAssert.Uniform(random, rows * dim);
        float[] mean = new float[rows], rstd = new float[rows], dw = new float[dim], db = new float[dim];
        LayerNorm.Forward(rows, dim, x, weight, new float[dim], new float[rows * dim], mean, rstd);
        LayerNorm.Backward(rows, dim, x, weight, mean, rstd, dy, Span<float>.Empty, dw, db);
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(weight), dMean = gpu.Upload(mean), dRstd = gpu.Upload(rstd), dDy = gpu.Upload(dy);
        using DeviceVariable dDw = gpu.Zeros(dim), dDb = gpu.Zeros(dim);
        GpuLayers.LayerNorm.Backward(gpu.Layers(LayerFamily.LayerNorm), rows, dim, dX.Pointer, dW.Pointer, dMean.Pointer, dRstd.Pointer, dDy.Pointer,
            default, dDw.Pointer, dDb.Pointer);
        LayerAssert.Close(output, "layernorm dweight (no dx)", dw, gpu.Download(dDw));
        LayerAssert.Close(output, "layernorm dbias (no dx)", db, gpu.Download(dDb));
    }

    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(37, 70, true)]
    [InlineData(3, 1000, false)]
    [InlineData(10, 5, true)]
    [InlineData(1, 1, false)]
    public void Softmax_forward_and_backward_match_the_cpu(int rows, int cols, bool accumulate)
    {
        var random = new Random(rows * 1000 + cols);
        float[] x = LayerAssert.Uniform(random, (long)rows * cols, -6f, 6f);
        float[] dy = LayerAssert.Uniform(random, (long)rows * cols), dx0 = LayerAssert.Uniform(random, (long)rows * cols);
        float[] y = new float[rows * cols];
        Softmax.Forward(rows, cols, x, y);
        float[] dx = (float[])dx0.Clone();
        Softmax.Backward(rows, cols, y, dy, dx, accumulate);

        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(rows * cols);
        var layers = gpu.Layers(LayerFamily.Softmax);
        GpuLayers.Softmax.Forward(layers, rows, cols, dX.Pointer, dY.Pointer);
        LayerAssert.Close(output, "softmax y", y, gpu.Download(dY));

        using DeviceVariable dYCpu = gpu.Upload(y), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        GpuLayers.Softmax.Backward(layers, rows, cols, dYCpu.Pointer, dDy.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "softmax dx", dx, gpu.Download(dDx));
    }
}
