using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Lstm against Runtime.Cpu.Layers.Lstm on the emulator: the same calls, device pointers for spans.
/// The launcher runs the per-step host sequence lstm.cuh documents (the input GEMM, then per step the recurrent GEMM and
/// the gate kernel; backward through time, then the weight GEMMs), so the sequence is checked as well as the kernels,
/// and the working memory (the CPU's layout) is compared too. The launch sequence of BF16 activations (lstm.cuh's own
/// products for x, the recurrence on the FP32 h_prev) runs here on the float module too (<c>bf16Path</c>), so its float
/// arithmetic is held to the CPU like the cuBLAS sequence's; Bf16ActivationTests compares the BF16 module with it.
/// </summary>
public sealed class LstmKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // H not a multiple of 8 (the CPU's vector and scalar paths), B·H not a multiple of 256, one-step sequences.
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
        int g4 = 4 * hidden, rows = batch * steps;
        float[] x = LayerAssert.Uniform(random, (long)rows * inputSize);
        float[] wIh = LayerAssert.Uniform(random, (long)g4 * inputSize, -0.6f, 0.6f), wHh = LayerAssert.Uniform(random, (long)g4 * hidden, -0.6f, 0.6f);
        float[] bIh = LayerAssert.Uniform(random, g4, -0.3f, 0.3f), bHh = LayerAssert.Uniform(random, g4, -0.3f, 0.3f);
        float[] dhOut = LayerAssert.Uniform(random, (long)rows * hidden), dLast = LayerAssert.Uniform(random, (long)batch * hidden);
        float[] dx0 = LayerAssert.Uniform(random, (long)rows * inputSize);
        float[] dwIh0 = LayerAssert.Uniform(random, (long)g4 * inputSize), dwHh0 = LayerAssert.Uniform(random, (long)g4 * hidden);
        float[] dbIh0 = LayerAssert.Uniform(random, g4), dbHh0 = LayerAssert.Uniform(random, g4);

        // The CPU reference.
        float[] workspace = new float[Lstm.WorkspaceSize(batch, steps, hidden)];
        float[] h = new float[rows * hidden], lastH = new float[batch * hidden], lastC = new float[batch * hidden];
        Lstm.Forward(batch, steps, inputSize, hidden, x, wIh, wHh, bIh, bHh, h, lastH, lastC, workspace);
        float[] forwardGates = workspace[..(rows * g4)], forwardCells = workspace[(rows * g4)..(rows * g4 + rows * hidden)];
        float[] dx = (float[])dx0.Clone(), dwIh = (float[])dwIh0.Clone(), dwHh = (float[])dwHh0.Clone();
        float[] dbIh = (float[])dbIh0.Clone(), dbHh = (float[])dbHh0.Clone();
        Lstm.Backward(batch, steps, inputSize, hidden, x, wIh, wHh, h,
            withSequenceGradient ? dhOut : Span<float>.Empty, withLastGradient ? dLast : Span<float>.Empty, workspace,
            dx, dwIh, dwHh, dbIh, dbHh, accumulate, accumulate);
        float[] dpre = workspace[..(rows * g4)];

        // Forward on the device: the workspace has the CPU's layout and length.
        using DeviceVariable dX = gpu.Upload(x), dWih = gpu.Upload(wIh), dWhh = gpu.Upload(wHh), dBih = gpu.Upload(bIh), dBhh = gpu.Upload(bHh);
        using DeviceVariable work = gpu.Zeros(workspace.Length);
        using DeviceVariable dH = gpu.Zeros((long)rows * hidden), dLastH = gpu.Zeros((long)batch * hidden), dLastC = gpu.Zeros((long)batch * hidden);
        var layers = gpu.Layers(false, LayerFamily.Lstm, LayerFamily.Sequence);
        if (bf16Path) layers = new GpuLayers.LayerContext(gpu.Context, layers.Module, activationBytes: 2); // float buffers, the BF16 sequence
        GpuLayers.Lstm.Forward(layers, batch, steps, inputSize, hidden, dX.Pointer, dWih.Pointer, dWhh.Pointer, dBih.Pointer, dBhh.Pointer,
            dH.Pointer, dLastH.Pointer, dLastC.Pointer, work.Pointer);
        LayerAssert.Close(output, "lstm h", h, gpu.Download(dH));
        LayerAssert.Close(output, "lstm last hidden", lastH, gpu.Download(dLastH));
        LayerAssert.Close(output, "lstm last cell", lastC, gpu.Download(dLastC));
        LayerAssert.Close(output, "lstm activated gates", forwardGates, gpu.Download(work, rows * g4));
        LayerAssert.Close(output, "lstm cells", forwardCells, gpu.Download(work, rows * g4 + rows * hidden)[(rows * g4)..]);

        // Backward through time, then the weight products over all steps.
        using DeviceVariable dDhOut = gpu.Upload(dhOut), dDLast = gpu.Upload(dLast), dDx = gpu.Upload(dx0);
        using DeviceVariable dDwIh = gpu.Upload(dwIh0), dDwHh = gpu.Upload(dwHh0), dDbIh = gpu.Upload(dbIh0), dDbHh = gpu.Upload(dbHh0);
        GpuLayers.Lstm.Backward(layers, batch, steps, inputSize, hidden, dX.Pointer, dWih.Pointer, dWhh.Pointer, dH.Pointer,
            withSequenceGradient ? dDhOut.Pointer : default, withLastGradient ? dDLast.Pointer : default, work.Pointer,
            dDx.Pointer, dDwIh.Pointer, dDwHh.Pointer, dDbIh.Pointer, dDbHh.Pointer, accumulate, accumulate);

        LayerAssert.Close(output, "lstm dpre", dpre, gpu.Download(work, rows * g4));
        LayerAssert.Close(output, "lstm dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "lstm dweight_ih", dwIh, gpu.Download(dDwIh));
        LayerAssert.Close(output, "lstm dweight_hh", dwHh, gpu.Download(dDwHh));
        LayerAssert.Close(output, "lstm dbias_ih", dbIh, gpu.Download(dDbIh));
        LayerAssert.Close(output, "lstm dbias_hh", dbHh, gpu.Download(dDbHh));
    }
}
