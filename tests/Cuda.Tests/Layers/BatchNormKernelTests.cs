using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.BatchNorm (md_batchnorm_*) against Runtime.Cpu.Layers.BatchNorm on the emulator: the same
/// training forward (batch statistics, running statistics updated, counter), inference forward and backward, with
/// the same sizes and device pointers for spans.
/// </summary>
public sealed class BatchNormKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // (batch, channels, spatial, affine, accumulate): [B, C] (one value per sample), [B, C, L], an image plane
    // larger than a block's 256 threads, affine=false.
    [Theory]
    [InlineData(7, 5, 1, true, false)]
    [InlineData(3, 4, 6, true, true)]
    [InlineData(2, 3, 300, true, false)]
    [InlineData(4, 2, 9, false, true)]
    public void Training_inference_and_backward_match_the_cpu(int batch, int channels, int spatial, bool affine, bool accumulate)
    {
        var random = new Random(batch * 131 + channels * 7 + spatial);
        int n = batch * channels * spatial;
        float[] x = LayerAssert.Uniform(random, n);
        for (int i = 0; i < n; i++) x[i] = 2f * x[i] + 1.5f; // a mean well away from 0
        float[] weight = affine ? LayerAssert.Uniform(random, channels) : [], bias = affine ? LayerAssert.Uniform(random, channels) : [];
        float[] dy = LayerAssert.Uniform(random, n), dx0 = LayerAssert.Uniform(random, n);
        float[] dw0 = affine ? LayerAssert.Uniform(random, channels) : [], db0 = affine ? LayerAssert.Uniform(random, channels) : [];
        float[] runningMean0 = LayerAssert.Uniform(random, channels), runningVar0 = new float[channels];
        for (int c = 0; c < channels; c++) runningVar0[c] = 0.5f + random.NextSingle();
        var layers = gpu.Layers(LayerFamily.BatchNorm);

        var cpuCounter = StateBuffer.Counter("bn.num_batches_tracked", "test");
        var gpuCounter = StateBuffer.Counter("bn.num_batches_tracked", "test");
        float[] y = new float[n], mean = new float[channels], rstd = new float[channels];
        float[] runningMean = (float[])runningMean0.Clone(), runningVar = (float[])runningVar0.Clone();
        float[] dx = (float[])dx0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        BatchNorm.Forward(batch, channels, spatial, x, weight, bias, y, mean, rstd, runningMean, runningVar, cpuCounter, 0.1f, 1e-5f, training: true);
        BatchNorm.Backward(batch, channels, spatial, x, weight, mean, rstd, dy, dx, dw, db, accumulate, accumulate);
        float[] inference = new float[n];
        BatchNorm.Forward(batch, channels, spatial, x, weight, bias, inference, mean, rstd, runningMean, runningVar, cpuCounter, 0.1f, 1e-5f, training: false);

        DevicePointer Optional(DeviceVariable v, bool present) => present ? v.Pointer : default;
        using DeviceVariable dX = gpu.Upload(x), dW = gpu.Upload(affine ? weight : [0f]), dB = gpu.Upload(affine ? bias : [0f]), dY = gpu.Zeros(n),
            dMean = gpu.Zeros(channels), dRstd = gpu.Zeros(channels), dRunningMean = gpu.Upload(runningMean0), dRunningVar = gpu.Upload(runningVar0),
            dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0), dDw = gpu.Upload(affine ? dw0 : [0f]), dDb = gpu.Upload(affine ? db0 : [0f]), dInference = gpu.Zeros(n), dScratch = gpu.Zeros(channels);
        GpuLayers.BatchNorm.Forward(layers, batch, channels, spatial, dX.Pointer, Optional(dW, affine), Optional(dB, affine), dY.Pointer, dMean.Pointer, dRstd.Pointer,
            dRunningMean.Pointer, dRunningVar.Pointer, gpuCounter, 0.1f, 1e-5f, training: true);
        LayerAssert.Close(output, "batch_norm y (training)", y, gpu.Download(dY));
        LayerAssert.Close(output, "batch_norm mean", mean, gpu.Download(dMean));
        LayerAssert.Close(output, "batch_norm rstd", rstd, gpu.Download(dRstd));
        LayerAssert.Close(output, "batch_norm running_mean", runningMean, gpu.Download(dRunningMean));
        LayerAssert.Close(output, "batch_norm running_var", runningVar, gpu.Download(dRunningVar));
        Assert.Equal(1, gpuCounter.Count);

        GpuLayers.BatchNorm.Backward(layers, batch, channels, spatial, dX.Pointer, Optional(dW, affine), dMean.Pointer, dRstd.Pointer, dDy.Pointer,
            dDx.Pointer, Optional(dDw, affine), Optional(dDb, affine), accumulate, accumulate);
        LayerAssert.Close(output, "batch_norm dx", dx, gpu.Download(dDx));
        if (affine)
        {
            LayerAssert.Close(output, "batch_norm dweight", dw, gpu.Download(dDw));
            LayerAssert.Close(output, "batch_norm dbias", db, gpu.Download(dDb));
        }

        GpuLayers.BatchNorm.Forward(layers, batch, channels, spatial, dX.Pointer, Optional(dW, affine), Optional(dB, affine), dInference.Pointer, dMean.Pointer, dScratch.Pointer,
            dRunningMean.Pointer, dRunningVar.Pointer, gpuCounter, 0.1f, 1e-5f, training: false);
        LayerAssert.Close(output, "batch_norm y (inference)", inference, gpu.Download(dInference));
        Assert.Equal(1, gpuCounter.Count); // inference counts nothing
    }

    [Fact]
    public void Training_with_one_value_per_channel_throws_like_the_cpu()
    {
        var layers = gpu.Layers(LayerFamily.BatchNorm);
        var counter = StateBuffer.Counter("bn.num_batches_tracked", "test");
        using DeviceVariable x = gpu.Zeros(3), stats = gpu.Zeros(3), y = gpu.Zeros(3);
        var e = Assert.Throws<ArgumentException>(() => GpuLayers.BatchNorm.Forward(layers, 1, 3, 1, x.Pointer, default, default, y.Pointer, stats.Pointer, stats.Pointer,
            stats.Pointer, stats.Pointer, counter, 0.1f, 1e-5f, training: true));
        Assert.Contains("more than one value per channel", e.Message);
        Assert.Throws<ArgumentException>(() => BatchNorm.Forward(1, 3, 1, new float[3], [], [], new float[3], new float[3], new float[3], new float[3], new float[3], counter, 0.1f, 1e-5f, training: true));
        Assert.Equal(0, counter.Count);
    }
}
