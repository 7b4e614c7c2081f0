using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Gru against Runtime.Cpu.Layers.Gru on the emulator: the same calls, device pointers for spans.
/// The launcher runs the per-step host sequence gru.cuh documents (the input GEMM, then per step the recurrent GEMM and
/// the gate kernel; backward through time, then the weight GEMMs and the two bias sums), so the sequence is checked as
/// well as the kernels, and the working memory (the CPU's layout) is compared too. The launch sequence of BF16
/// activations (gru.cuh's own products for x, the recurrence on the FP32 h_prev) runs here on the float module too
/// (<c>bf16Path</c>), so its float arithmetic is held to the CPU; Bf16ActivationTests compares the BF16 module with it.
/// </summary>
public sealed class GruKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // B·H not a multiple of 256, one-step sequences, both output gradients or either one.
    [Theory]
    [InlineData(3, 7, 5, 19, true, true, false, false)]
    [InlineData(3, 7, 5, 19, true, false, true, false)]
    [InlineData(2, 9, 8, 16, false, true, true, false)]
    [InlineData(5, 1, 3, 70, true, true, false, false)]
    [InlineData(1, 4, 1, 1, true, true, true, false)]
    [InlineData(3, 7, 5, 19, true, true, false, true)]
    [InlineData(2, 9, 8, 16, false, true, true, true)]
    [InlineData(1, 4, 1, 1, true, true, true, true)]
    public void Forward_and_backward_through_time_match_the_cpu(int batch, int steps, int inputSize, int hidden,
        bool withSequenceGradient, bool withLastGradient, bool accumulate, bool bf16Path)
    {
        var random = new Random(batch * 1000 + steps * 100 + hidden);
        int g3 = 3 * hidden, rows = batch * steps;
        float[] x = LayerAssert.Uniform(random, (long)rows * inputSize);
        float[] wIh = LayerAssert.Uniform(random, (long)g3 * inputSize, -0.6f, 0.6f), wHh = LayerAssert.Uniform(random, (long)g3 * hidden, -0.6f, 0.6f);
        float[] bIh = LayerAssert.Uniform(random, g3, -0.3f, 0.3f), bHh = LayerAssert.Uniform(random, g3, -0.3f, 0.3f);
        float[] dhOut = LayerAssert.Uniform(random, (long)rows * hidden), dLast = LayerAssert.Uniform(random, (long)batch * hidden);
        float[] dx0 = LayerAssert.Uniform(random, (long)rows * inputSize);
        float[] dwIh0 = LayerAssert.Uniform(random, (long)g3 * inputSize), dwHh0 = LayerAssert.Uniform(random, (long)g3 * hidden);
        float[] dbIh0 = LayerAssert.Uniform(random, g3), dbHh0 = LayerAssert.Uniform(random, g3);

        // The CPU reference.
        float[] workspace = new float[Gru.WorkspaceSize(batch, steps, hidden)];
        float[] h = new float[rows * hidden], lastH = new float[batch * hidden];
        Gru.Forward(batch, steps, inputSize, hidden, x, wIh, wHh, bIh, bHh, h, lastH, workspace);
        float[] forwardGi = workspace[..(rows * g3)], forwardHn = NBlocks(workspace[(rows * g3)..(2 * rows * g3)], rows, hidden);
        float[] dx = (float[])dx0.Clone(), dwIh = (float[])dwIh0.Clone(), dwHh = (float[])dwHh0.Clone();
        float[] dbIh = (float[])dbIh0.Clone(), dbHh = (float[])dbHh0.Clone();
        Gru.Backward(batch, steps, inputSize, hidden, x, wIh, wHh, h,
            withSequenceGradient ? dhOut : Span<float>.Empty, withLastGradient ? dLast : Span<float>.Empty, workspace,
            dx, dwIh, dwHh, dbIh, dbHh, accumulate, accumulate);
        float[] dgates = workspace[..(2 * rows * g3)];

        // Forward on the device: the workspace has the CPU's layout and length.
        using DeviceVariable dX = gpu.Upload(x), dWih = gpu.Upload(wIh), dWhh = gpu.Upload(wHh), dBih = gpu.Upload(bIh), dBhh = gpu.Upload(bHh);
        using DeviceVariable work = gpu.Zeros(workspace.Length);
        using DeviceVariable dH = gpu.Zeros((long)rows * hidden), dLastH = gpu.Zeros((long)batch * hidden);
        var layers = gpu.Layers(false, LayerFamily.Gru, LayerFamily.Sequence);
        if (bf16Path) layers = new GpuLayers.LayerContext(gpu.Context, layers.Module, activationBytes: 2); // float buffers, the BF16 sequence
        GpuLayers.Gru.Forward(layers, batch, steps, inputSize, hidden, dX.Pointer, dWih.Pointer, dWhh.Pointer, dBih.Pointer, dBhh.Pointer,
            dH.Pointer, dLastH.Pointer, work.Pointer);
        LayerAssert.Close(output, "gru h", h, gpu.Download(dH));
        LayerAssert.Close(output, "gru last hidden", lastH, gpu.Download(dLastH));
        LayerAssert.Close(output, "gru r, z, n", forwardGi, gpu.Download(work, rows * g3));
        // gh's n block holds W_hn·h + b_hn, the part r multiplies (the r and z blocks are scratch at t = 0 on the device).
        LayerAssert.Close(output, "gru recurrent n", forwardHn, NBlocks(gpu.Download(work, 2 * rows * g3)[(rows * g3)..], rows, hidden));

        // Backward through time, then the weight products over all steps.
        using DeviceVariable dDhOut = gpu.Upload(dhOut), dDLast = gpu.Upload(dLast), dDx = gpu.Upload(dx0);
        using DeviceVariable dDwIh = gpu.Upload(dwIh0), dDwHh = gpu.Upload(dwHh0), dDbIh = gpu.Upload(dbIh0), dDbHh = gpu.Upload(dbHh0);
        GpuLayers.Gru.Backward(layers, batch, steps, inputSize, hidden, dX.Pointer, dWih.Pointer, dWhh.Pointer, dH.Pointer,
            withSequenceGradient ? dDhOut.Pointer : default, withLastGradient ? dDLast.Pointer : default, work.Pointer,
            dDx.Pointer, dDwIh.Pointer, dDwHh.Pointer, dDbIh.Pointer, dDbHh.Pointer, accumulate, accumulate);

        LayerAssert.Close(output, "gru dgi, dgh", dgates, gpu.Download(work, 2 * rows * g3));
        LayerAssert.Close(output, "gru dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "gru dweight_ih", dwIh, gpu.Download(dDwIh));
        LayerAssert.Close(output, "gru dweight_hh", dwHh, gpu.Download(dDwHh));
        LayerAssert.Close(output, "gru dbias_ih", dbIh, gpu.Download(dDbIh));
        LayerAssert.Close(output, "gru dbias_hh", dbHh, gpu.Download(dDbHh));
    }

    /// <summary>The n block (columns 2H … 3H) of each of <paramref name="rows"/> rows of a (rows, 3H) array.</summary>
    private static float[] NBlocks(float[] gates, int rows, int hidden)
    {
        var n = new float[rows * hidden];
        for (int r = 0; r < rows; r++) Array.Copy(gates, (long)r * 3 * hidden + 2 * hidden, n, (long)r * hidden, hidden);
        return n;
    }
}
