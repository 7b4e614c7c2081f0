using System;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// md_lstm_* against Runtime.Cpu.Layers.Lstm on the emulator, driven through the per-step host sequence
/// CudaLayerLibrary documents (the input GEMM, then per step the recurrent GEMM and the gate kernel; backward through
/// time, then the weight GEMMs), so the sequence is checked as well as the kernels.
/// </summary>
public sealed class LstmKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // H not a multiple of 8 (the CPU's vector and scalar paths), B·H not a multiple of 256, one-step sequences.
    [Theory]
    [InlineData(3, 7, 5, 19, true, true, false)]
    [InlineData(3, 7, 5, 19, true, false, true)]
    [InlineData(2, 9, 8, 16, false, true, true)]
    [InlineData(5, 1, 3, 70, true, true, false)]
    [InlineData(1, 4, 1, 1, true, true, true)]
    public void Forward_and_backward_through_time_match_the_cpu(int batch, int steps, int inputSize, int hidden,
        bool withSequenceGradient, bool withLastGradient, bool accumulate)
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

        // Forward on the device: the workspace has the CPU's layout.
        using DeviceVariable dX = gpu.Upload(x), dWih = gpu.Upload(wIh), dWhh = gpu.Upload(wHh), dBih = gpu.Upload(bIh), dBhh = gpu.Upload(bHh);
        using DeviceVariable gates = gpu.Zeros((long)rows * g4), cells = gpu.Zeros((long)rows * hidden), hPrev = gpu.Zeros((long)rows * hidden);
        using DeviceVariable dh = gpu.Zeros((long)batch * hidden), dc = gpu.Zeros((long)batch * hidden);
        using DeviceVariable dH = gpu.Zeros((long)rows * hidden), dLastH = gpu.Zeros((long)batch * hidden), dLastC = gpu.Zeros((long)batch * hidden);
        GpuContext context = gpu.Context;
        context.Sgemm(false, true, rows, g4, inputSize, 1f, dX.Pointer, inputSize, dWih.Pointer, inputSize, 0f, gates.Pointer, g4);
        for (int t = 0; t < steps; t++)
        {
            if (t > 0)
                context.Sgemm(false, true, batch, g4, hidden, 1f, dH.Pointer.Plus((long)(t - 1) * hidden), steps * hidden,
                    dWhh.Pointer, hidden, 1f, gates.Pointer.Plus((long)t * g4), steps * g4);
            var args = new KernelArguments();
            args.Add(batch); args.Add(steps); args.Add(hidden); args.Add(t); args.Add(dBih); args.Add(dBhh);
            args.Add(gates); args.Add(cells); args.Add(dH); args.Add(dLastH); args.Add(dLastC);
            gpu.Launch(LayerFamily.Lstm, "md_lstm_forward_step", Grid.Elements((long)batch * hidden), Grid.Block, ref args);
        }
        LayerAssert.Close(output, "lstm h", h, gpu.Download(dH));
        LayerAssert.Close(output, "lstm last hidden", lastH, gpu.Download(dLastH));
        LayerAssert.Close(output, "lstm last cell", lastC, gpu.Download(dLastC));
        LayerAssert.Close(output, "lstm activated gates", forwardGates, gpu.Download(gates));
        LayerAssert.Close(output, "lstm cells", forwardCells, gpu.Download(cells));

        // Backward through time, then the weight products over all steps.
        using DeviceVariable dDhOut = gpu.Upload(dhOut), dDLast = gpu.Upload(dLast), dDx = gpu.Upload(dx0);
        using DeviceVariable dDwIh = gpu.Upload(dwIh0), dDwHh = gpu.Upload(dwHh0), dDbIh = gpu.Upload(dbIh0), dDbHh = gpu.Upload(dbHh0);
        for (int t = steps - 1; t >= 0; t--)
        {
            var args = new KernelArguments();
            args.Add(batch); args.Add(steps); args.Add(hidden); args.Add(t); args.Add(cells);
            args.Add(withSequenceGradient ? dDhOut.Pointer : default);
            args.Add(withLastGradient ? dDLast.Pointer : default);
            args.Add(gates); args.Add(dh); args.Add(dc);
            gpu.Launch(LayerFamily.Lstm, "md_lstm_backward_step", Grid.Elements((long)batch * hidden), Grid.Block, ref args);
            if (t > 0)
                context.Sgemm(false, false, batch, hidden, g4, 1f, gates.Pointer.Plus((long)t * g4), steps * g4, dWhh.Pointer, hidden, 0f, dh.Pointer, hidden);
        }
        var shift = new KernelArguments();
        shift.Add(batch); shift.Add(steps); shift.Add(hidden); shift.Add(dH); shift.Add(hPrev);
        gpu.Launch(LayerFamily.Lstm, "md_lstm_shift_hidden", Grid.Elements((long)rows * hidden), Grid.Block, ref shift);
        float beta = accumulate ? 1f : 0f;
        context.Sgemm(true, false, g4, inputSize, rows, 1f, gates.Pointer, g4, dX.Pointer, inputSize, beta, dDwIh.Pointer, inputSize);
        context.Sgemm(true, false, g4, hidden, rows, 1f, gates.Pointer, g4, hPrev.Pointer, hidden, beta, dDwHh.Pointer, hidden);
        var biasArgs = new KernelArguments();
        biasArgs.Add(rows); biasArgs.Add(g4); biasArgs.Add(gates); biasArgs.Add(dDbIh); biasArgs.Add(dDbHh); biasArgs.Add(accumulate ? 1 : 0);
        gpu.Launch(LayerFamily.Lstm, "md_lstm_bias_backward", Grid.Columns(g4), Grid.ColumnBlock, ref biasArgs);
        context.Sgemm(false, false, rows, inputSize, g4, 1f, gates.Pointer, g4, dWih.Pointer, inputSize, beta, dDx.Pointer, inputSize);

        LayerAssert.Close(output, "lstm dpre", dpre, gpu.Download(gates));
        LayerAssert.Close(output, "lstm dx", dx, gpu.Download(dDx));
        LayerAssert.Close(output, "lstm dweight_ih", dwIh, gpu.Download(dDwIh));
        LayerAssert.Close(output, "lstm dweight_hh", dwHh, gpu.Download(dDwHh));
        LayerAssert.Close(output, "lstm dbias_ih", dbIh, gpu.Download(dDbIh));
        LayerAssert.Close(output, "lstm dbias_hh", dbHh, gpu.Download(dDbHh));
    }
}
