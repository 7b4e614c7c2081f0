using System;
using ModelDsl.Emit.Cuda;
using Xunit.Abstractions;
using static ModelDsl.Cuda.Tests.Layers.ActivationStorageParity;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// BF16 activation storage, family by family: each family's module compiled with <c>#define MD_ACT_BF16 1</c> (md_act =
/// md_bf16) against the same module compiled without it (md_act = float), on the emulator, forward and backward, on the
/// same BF16-representable inputs: activation outputs within one rounding (2^-8 relative), every float output (gradients,
/// statistics) bit for bit (<see cref="ActivationStorageParity"/> derives both). The FP32 compilation is held to the CPU
/// kernels by the other tests of this folder; NVRTC compiles both storages (<see cref="LayerLibraryCompileTests"/>).
/// </summary>
public sealed class Bf16ActivationTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(9, 300, true)]
    public void LayerNorm(int rows, int dim, bool accumulate)
    {
        var random = new Random(rows * 31 + dim);
        float[] x = Bf16Values(random, (long)rows * dim, 2f, 5f);
        float[] weight = LayerAssert.Uniform(random, dim, 0.5f, 1.5f), bias = LayerAssert.Uniform(random, dim);
        float[] dy = LayerAssert.Uniform(random, (long)rows * dim), dx0 = LayerAssert.Uniform(random, (long)rows * dim);
        float[] dw0 = LayerAssert.Uniform(random, dim), db0 = LayerAssert.Uniform(random, dim);
        float[] mean = new float[rows], rstd = new float[rows];
        ModelDsl.Runtime.Cpu.Layers.LayerNorm.Forward(rows, dim, x, weight, bias, new float[rows * dim], mean, rstd);
        Check(gpu, output, LayerFamily.LayerNorm, s =>
        {
            DevicePointer dX = s.Activation(x), dW = s.Floats(weight);
            GpuLayers.LayerNorm.Forward(s.Layers, rows, dim, dX, dW, s.Floats(bias), s.ActivationOutput("y", rows * dim),
                s.FloatOutput("mean", rows), s.FloatOutput("rstd", rows));
            GpuLayers.LayerNorm.Backward(s.Layers, rows, dim, dX, dW, s.Floats(mean), s.Floats(rstd), s.Floats(dy),
                s.FloatOutput("dx", dx0), s.FloatOutput("dweight", dw0), s.FloatOutput("dbias", db0), accumulate, accumulate);
        });
    }

    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(3, 1000, true)]
    public void Softmax(int rows, int cols, bool accumulate)
    {
        var random = new Random(rows * 17 + cols);
        float[] x = Bf16Values(random, (long)rows * cols, -6f, 6f);
        float[] y = Bf16Values(random, (long)rows * cols, 0f, 0.2f); // a stored output the backward reads
        float[] dy = LayerAssert.Uniform(random, (long)rows * cols), dx0 = LayerAssert.Uniform(random, (long)rows * cols);
        Check(gpu, output, LayerFamily.Softmax, s =>
        {
            GpuLayers.Softmax.Forward(s.Layers, rows, cols, s.Activation(x), s.ActivationOutput("y", rows * cols));
            GpuLayers.Softmax.Backward(s.Layers, rows, cols, s.Activation(y), s.Floats(dy), s.FloatOutput("dx", dx0), accumulate);
        });
    }

    [Fact]
    public void Embedding_and_positional()
    {
        const int count = 12, num = 7, dim = 10, batch = 3, steps = 4, context = 6;
        var random = new Random(11);
        int[] ids = { 0, 3, 6, 1, 1, 2, 5, 4, 3, 0, 6, 2 };
        float[] weight = LayerAssert.Uniform(random, num * dim), dy = LayerAssert.Uniform(random, count * dim);
        float[] x = Bf16Values(random, batch * steps * dim), table = LayerAssert.Uniform(random, context * dim);
        float[] dyPositional = LayerAssert.Uniform(random, batch * steps * dim), dx0 = LayerAssert.Uniform(random, batch * steps * dim);
        Check(gpu, output, LayerFamily.Embedding, s =>
        {
            GpuLayers.Embedding.Forward(s.Layers, count, num, dim, s.Ints(ids), s.Floats(weight), s.ActivationOutput("embedding y", count * dim));
            GpuLayers.Embedding.Backward(s.Layers, count, num, dim, 3, s.Ints(ids), s.Floats(dy), s.FloatOutput("embedding dweight", num * dim));
        });
        Check(gpu, output, LayerFamily.Positional, s =>
        {
            GpuLayers.Positional.Forward(s.Layers, batch, steps, context, dim, s.Activation(x), s.Floats(table), s.ActivationOutput("positional y", x.Length));
            GpuLayers.Positional.Backward(s.Layers, batch, steps, context, dim, s.Floats(dyPositional), s.FloatOutput("positional dx", dx0),
                s.FloatOutput("positional dtable", context * dim), accumulateInputGradient: true);
        });
    }

    [Fact]
    public void Concat_narrow_and_permute()
    {
        var random = new Random(12);
        const int rows = 5, width = 3, outputWidth = 7, offset = 2;
        float[] x = Bf16Values(random, rows * width), dy = LayerAssert.Uniform(random, rows * outputWidth), dx0 = LayerAssert.Uniform(random, rows * width);
        Check(gpu, output, LayerFamily.Concat, s =>
        {
            GpuLayers.Concat.Forward(s.Layers, rows, width, outputWidth, offset, s.Activation(x), s.ActivationOutput("concat y", rows * outputWidth));
            GpuLayers.Concat.Backward(s.Layers, rows, width, outputWidth, offset, s.Floats(dy), s.FloatOutput("concat dx", dx0), accumulate: true);
        });
        float[] source = Bf16Values(random, 3 * 5 * 4), dySlice = LayerAssert.Uniform(random, 3 * 2 * 4);
        Check(gpu, output, LayerFamily.Narrow, s =>
        {
            GpuLayers.Narrow.Forward(s.Layers, 3, 5, 4, 1, 2, s.Activation(source), s.ActivationOutput("narrow y", 3 * 2 * 4));
            GpuLayers.Narrow.Backward(s.Layers, 3, 5, 4, 1, 2, s.Floats(dySlice), s.FloatOutput("narrow dx", 3 * 5 * 4));
        });
        // [2, 3, 4, 5] permuted (0, 3, 1, 2): [2, 5, 3, 4] with source strides 60, 1, 20, 5; back with (0, 2, 3, 1).
        float[] tensor = Bf16Values(random, 120), gradient = LayerAssert.Uniform(random, 120), dTensor0 = LayerAssert.Uniform(random, 120);
        Check(gpu, output, LayerFamily.Permute, s =>
        {
            GpuLayers.Permute.Forward(s.Layers, 2, 5, 3, 4, 60, 1, 20, 5, s.Activation(tensor), s.ActivationOutput("permute y", 120));
            GpuLayers.Permute.Backward(s.Layers, 2, 3, 4, 5, 60, 4, 1, 12, s.Floats(gradient), s.FloatOutput("permute dx", dTensor0), accumulate: true);
        });
    }

    [Fact]
    public void Reduce_with_a_float_mask()
    {
        const int outer = 3, length = 6, inner = 5;
        var random = new Random(13);
        float[] x = Bf16Values(random, outer * length * inner, -3f, 3f), dy = LayerAssert.Uniform(random, outer * inner);
        float[] mask = new float[outer * length];
        for (int i = 0; i < mask.Length; i++) mask[i] = i % 4 == 1 ? 0f : 1f;
        Check(gpu, output, LayerFamily.Reduce, s =>
        {
            DevicePointer dMask = s.Activation(mask), dX = s.Activation(x);
            GpuLayers.ReduceSum.Forward(s.Layers, outer, length, inner, true, dMask, default, dX, s.ActivationOutput("mean y", outer * inner));
            GpuLayers.ReduceSum.Backward(s.Layers, outer, length, inner, true, dMask, default, s.Floats(dy), s.FloatOutput("mean dx", outer * length * inner));
            DevicePointer indices = s.IntOutput("max indices", outer * inner);
            GpuLayers.ReduceMax.Forward(s.Layers, outer, length, inner, dMask, default, dX, s.ActivationOutput("max y", outer * inner), indices);
            GpuLayers.ReduceMax.Backward(s.Layers, outer, length, inner, s.Floats(dy), indices, s.FloatOutput("max dx", outer * length * inner));
        });
    }

    [Fact]
    public void Pooling_and_batch_norm()
    {
        var random = new Random(14);
        var g = new ModelDsl.Runtime.Cpu.Layers.Pool2dGeometry(2, 3, 7, 6, 3, 2, 1);
        long input = 2L * 3 * 7 * 6, pooled = 2L * 3 * g.OutHeight * g.OutWidth;
        float[] x = Bf16Values(random, input, -2f, 2f), dy = LayerAssert.Uniform(random, pooled);
        Check(gpu, output, LayerFamily.Pool2d, s =>
        {
            DevicePointer dX = s.Activation(x), indices = s.IntOutput("max pool indices", pooled);
            GpuLayers.MaxPool2d.Forward(s.Layers, g, dX, s.ActivationOutput("max pool y", pooled), indices);
            GpuLayers.MaxPool2d.Backward(s.Layers, g, s.Floats(dy), indices, s.FloatOutput("max pool dx", input));
            GpuLayers.AvgPool2d.Forward(s.Layers, g, dX, s.ActivationOutput("avg pool y", pooled));
            GpuLayers.AvgPool2d.Backward(s.Layers, g, s.Floats(dy), s.FloatOutput("avg pool dx", input));
        });
        const int planes = 6, area = 42;
        float[] dyPlanes = LayerAssert.Uniform(random, planes);
        Check(gpu, output, LayerFamily.GlobalPool2d, s =>
        {
            DevicePointer dX = s.Activation(x), indices = s.IntOutput("global max indices", planes);
            GpuLayers.GlobalMaxPool2d.Forward(s.Layers, planes, area, dX, s.ActivationOutput("global max y", planes), indices);
            GpuLayers.GlobalMaxPool2d.Backward(s.Layers, planes, area, s.Floats(dyPlanes), indices, s.FloatOutput("global max dx", input));
            GpuLayers.GlobalAvgPool2d.Forward(s.Layers, planes, area, dX, s.ActivationOutput("global avg y", planes));
            GpuLayers.GlobalAvgPool2d.Backward(s.Layers, planes, area, s.Floats(dyPlanes), s.FloatOutput("global avg dx", input));
        });
        const int batch = 2, channels = 3, spatial = 42;
        float[] weight = LayerAssert.Uniform(random, channels, 0.5f, 1.5f), bias = LayerAssert.Uniform(random, channels);
        float[] dyNorm = LayerAssert.Uniform(random, input), runningVar = LayerAssert.Uniform(random, channels, 0.5f, 1.5f);
        Check(gpu, output, LayerFamily.BatchNorm, s =>
        {
            DevicePointer dX = s.Activation(x), dW = s.Floats(weight), mean = s.FloatOutput("batch norm mean", channels), rstd = s.FloatOutput("batch norm rstd", channels);
            var counter = ModelDsl.Runtime.StateBuffer.Counter("bn.num_batches_tracked", "test");
            GpuLayers.BatchNorm.Forward(s.Layers, batch, channels, spatial, dX, dW, s.Floats(bias), s.ActivationOutput("batch norm y", input), mean, rstd,
                s.FloatOutput("running mean", channels), s.FloatOutput("running var", runningVar), counter, 0.1f, 1e-5f, training: true);
            GpuLayers.BatchNorm.Backward(s.Layers, batch, channels, spatial, dX, dW, mean, rstd, s.Floats(dyNorm),
                s.FloatOutput("batch norm dx", input), s.FloatOutput("batch norm dweight", channels), s.FloatOutput("batch norm dbias", channels));
        });
    }

    // A fused qkv (B, T, 3d) with a float key mask: q, k and v at activation offsets 0, d, 2d (LayerContext.Activation:
    // 2 bytes per element in BF16), the gradients at float offsets of one (B, T, 3d) buffer.
    [Theory]
    [InlineData(false, 0f)]
    [InlineData(true, 0.2f)]
    public void Attention(bool causal, float dropout)
    {
        const int batch = 2, steps = 19, heads = 2, headDim = 40, d = heads * headDim, stride = 3 * d;
        var random = new Random(15);
        float[] qkv = Bf16Values(random, batch * steps * stride), dout = LayerAssert.Uniform(random, batch * steps * d);
        float[] mask = new float[batch * steps];
        for (int i = 0; i < mask.Length; i++) mask[i] = i % 7 == 3 ? 0f : 1f;
        long workspace = GpuLayers.Attention.WorkspaceLength(batch, steps, heads);
        Check(gpu, output, LayerFamily.Attention, s =>
        {
            DevicePointer q = s.Activation(qkv), k = s.Layers.Activation(q, d), v = s.Layers.Activation(q, 2 * d), dMask = s.Activation(mask);
            DevicePointer work = s.FloatOutput("attention statistics, delta", workspace), grads = s.FloatOutput("attention dq, dk, dv", qkv.Length);
            DevicePointer seed = s.UInts(new[] { 77u });
            GpuLayers.Attention.Forward(s.Layers, batch, steps, heads, headDim, causal, q, k, v, stride, s.ActivationOutput("attention out", batch * steps * d),
                work, dMask, default, dropout, seed);
            GpuLayers.Attention.Backward(s.Layers, batch, steps, heads, headDim, causal, q, k, v, stride, s.Floats(dout), work,
                grads, grads.Plus(d), grads.Plus(2 * d), false, dMask, default, dropout, seed);
        });
    }

    // Flash attention reads BF16 q, k, v as stored and the float compilation rounds them as it stages them: with
    // BF16-representable inputs both multiply the same operands, so out is one rounding apart and the rest equal.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Flash_attention(bool causal)
    {
        const int batch = 2, steps = 70, heads = 2, headDim = 64, d = heads * headDim, stride = 3 * d;
        var random = new Random(16);
        float[] qkv = Bf16Values(random, batch * steps * stride), dout = LayerAssert.Uniform(random, batch * steps * d);
        float[] forwardOut = Bf16Values(random, batch * steps * d, -0.5f, 0.5f); // the out the backward's D reads
        float[] mask = new float[batch * steps];
        for (int i = 0; i < mask.Length; i++) mask[i] = i % 9 == 4 ? 0f : 1f;
        long workspace = GpuLayers.FlashAttention.WorkspaceLength(batch, steps, heads);
        Check(gpu, output, LayerFamily.FlashAttention, s =>
        {
            DevicePointer q = s.Activation(qkv), k = s.Layers.Activation(q, d), v = s.Layers.Activation(q, 2 * d), dMask = s.Activation(mask);
            DevicePointer work = s.FloatOutput("flash statistics, delta", workspace), grads = s.FloatOutput("flash dq, dk, dv", qkv.Length);
            GpuLayers.FlashAttention.Forward(s.Layers, batch, steps, heads, headDim, causal, q, k, v, stride,
                s.ActivationOutput("flash out", batch * steps * d), work, dMask);
            GpuLayers.FlashAttention.Backward(s.Layers, batch, steps, heads, headDim, causal, q, k, v, stride, s.Activation(forwardOut), s.Floats(dout),
                work, grads, grads.Plus(d), grads.Plus(2 * d), false, dMask);
        });
    }

    // With BF16 activations the forward's product is md_conv2d_forward_product (cuBLAS writes no BF16 from FP32
    // operands): its sum of patch products and the bias is another summation order than the FP32 path's GEMM then bias
    // kernel, each within γ = (patch + 1)·2^-24 of Σ|w·col| + |bias|, so y may differ by twice that before its rounding.
    // The backward reads only the float columns (identical: im2col widens exactly) and float gradients: bit for bit.
    [Theory]
    [InlineData(2, 3, 7, 6, 4, 3, 1, 1, true)]
    [InlineData(3, 2, 9, 8, 5, 3, 2, 0, false)]
    public void Conv2d(int n, int c, int h, int w, int k, int kernel, int stride, int padding, bool bias)
    {
        var g = new ModelDsl.Runtime.Cpu.Layers.Conv2dGeometry(n, c, h, w, k, kernel, stride, padding);
        var random = new Random(g.InputLength);
        float[] x = Bf16Values(random, g.InputLength), weight = LayerAssert.Uniform(random, g.WeightLength, -0.5f, 0.5f);
        float[] b = LayerAssert.Uniform(random, k), dy = LayerAssert.Uniform(random, g.OutputLength);
        float[] work0 = new float[GpuLayers.Conv2d.WorkspaceLength(g)];
        Array.Fill(work0, 1f, (int)GpuLayers.Conv2d.OnesOffset(g), n);
        double slack = 2.0 * (g.PatchSize + 1) * Math.Pow(2, -24) * (g.PatchSize * 0.5 * 1.0 + 1.0);
        Check(gpu, output, LayerFamily.Conv2d, s =>
        {
            DevicePointer dW = s.Floats(weight), dB = bias ? s.Floats(b) : default, work = s.Floats(work0);
            GpuLayers.Conv2d.Forward(s.Layers, g, s.Activation(x), dW, dB, s.ActivationOutput("conv y", g.OutputLength, slack), work);
            GpuLayers.Conv2d.Backward(s.Layers, g, default, dW, s.Floats(dy), s.FloatOutput("conv dx", g.InputLength),
                s.FloatOutput("conv dweight", g.WeightLength), bias ? s.FloatOutput("conv dbias", k) : default, work);
        });
    }

    // Both compilations take the launch sequence of BF16 activations (lstm.cuh's own products for x, the recurrence on
    // the FP32 h_prev; LstmKernelTests holds it to the CPU), so the floats are the same operations on the same values.
    [Theory]
    [InlineData(3, 7, 5, 19, true)]
    [InlineData(2, 4, 8, 16, false)]
    public void Lstm(int batch, int steps, int inputSize, int hidden, bool accumulate)
    {
        var random = new Random(batch * 100 + hidden);
        int g4 = 4 * hidden, rows = batch * steps;
        float[] x = Bf16Values(random, (long)rows * inputSize);
        float[] wIh = LayerAssert.Uniform(random, (long)g4 * inputSize, -0.6f, 0.6f), wHh = LayerAssert.Uniform(random, (long)g4 * hidden, -0.6f, 0.6f);
        float[] bIh = LayerAssert.Uniform(random, g4, -0.3f, 0.3f), bHh = LayerAssert.Uniform(random, g4, -0.3f, 0.3f);
        float[] dhOut = LayerAssert.Uniform(random, (long)rows * hidden), dLast = LayerAssert.Uniform(random, (long)batch * hidden);
        float[] dx0 = LayerAssert.Uniform(random, (long)rows * inputSize), dw0 = LayerAssert.Uniform(random, (long)g4 * inputSize);
        int workspace = ModelDsl.Runtime.Cpu.Layers.Lstm.WorkspaceSize(batch, steps, hidden);
        Check(gpu, output, new[] { LayerFamily.Lstm, LayerFamily.Sequence }, s =>
        {
            DevicePointer dX = s.Activation(x), dWih = s.Floats(wIh), dWhh = s.Floats(wHh), work = s.FloatOutput("lstm workspace", workspace);
            DevicePointer h = s.ActivationOutput("lstm h", rows * hidden);
            GpuLayers.Lstm.Forward(s.Layers, batch, steps, inputSize, hidden, dX, dWih, dWhh, s.Floats(bIh), s.Floats(bHh),
                h, s.ActivationOutput("lstm last hidden", batch * hidden), s.ActivationOutput("lstm last cell", batch * hidden), work);
            GpuLayers.Lstm.Backward(s.Layers, batch, steps, inputSize, hidden, dX, dWih, dWhh, h, s.Floats(dhOut), s.Floats(dLast), work,
                s.FloatOutput("lstm dx", dx0), s.FloatOutput("lstm dweight_ih", dw0), s.FloatOutput("lstm dweight_hh", g4 * hidden),
                s.FloatOutput("lstm dbias_ih", g4), s.FloatOutput("lstm dbias_hh", g4), accumulate, accumulate);
        }, bf16Path: true);
    }

    // As the lstm: both compilations take the BF16 launch sequence (GruKernelTests holds it to the CPU).
    [Theory]
    [InlineData(3, 7, 5, 19, true)]
    [InlineData(2, 4, 8, 16, false)]
    public void Gru(int batch, int steps, int inputSize, int hidden, bool accumulate)
    {
        var random = new Random(batch * 100 + hidden + 1);
        int g3 = 3 * hidden, rows = batch * steps;
        float[] x = Bf16Values(random, (long)rows * inputSize);
        float[] wIh = LayerAssert.Uniform(random, (long)g3 * inputSize, -0.6f, 0.6f), wHh = LayerAssert.Uniform(random, (long)g3 * hidden, -0.6f, 0.6f);
        float[] bIh = LayerAssert.Uniform(random, g3, -0.3f, 0.3f), bHh = LayerAssert.Uniform(random, g3, -0.3f, 0.3f);
        float[] dhOut = LayerAssert.Uniform(random, (long)rows * hidden), dLast = LayerAssert.Uniform(random, (long)batch * hidden);
        float[] dx0 = LayerAssert.Uniform(random, (long)rows * inputSize), dw0 = LayerAssert.Uniform(random, (long)g3 * inputSize);
        int workspace = ModelDsl.Runtime.Cpu.Layers.Gru.WorkspaceSize(batch, steps, hidden);
        Check(gpu, output, new[] { LayerFamily.Gru, LayerFamily.Sequence }, s =>
        {
            DevicePointer dX = s.Activation(x), dWih = s.Floats(wIh), dWhh = s.Floats(wHh), work = s.FloatOutput("gru workspace", workspace);
            DevicePointer h = s.ActivationOutput("gru h", rows * hidden);
            GpuLayers.Gru.Forward(s.Layers, batch, steps, inputSize, hidden, dX, dWih, dWhh, s.Floats(bIh), s.Floats(bHh),
                h, s.ActivationOutput("gru last hidden", batch * hidden), work);
            GpuLayers.Gru.Backward(s.Layers, batch, steps, inputSize, hidden, dX, dWih, dWhh, h, s.Floats(dhOut), s.Floats(dLast), work,
                s.FloatOutput("gru dx", dx0), s.FloatOutput("gru dweight_ih", dw0), s.FloatOutput("gru dweight_hh", g3 * hidden),
                s.FloatOutput("gru dbias_ih", g3), s.FloatOutput("gru dbias_hh", g3), accumulate, accumulate);
        }, bf16Path: true);
    }

    // A bidirectional recurrence: sequence.cuh's md_sequence_copy moves the activations (x reversed, the states joined)
    // and md_sequence_copy_gradient the gradients, each direction the lstm's or gru's BF16 sequence.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bidirectional_lstm_and_gru(bool lstm)
    {
        const int batch = 2, steps = 5, inputSize = 4, hidden = 6;
        int gates = (lstm ? 4 : 3) * hidden, rows = batch * steps;
        var random = new Random(lstm ? 21 : 22);
        float[] x = Bf16Values(random, rows * inputSize);
        float[] wIh = LayerAssert.Uniform(random, gates * inputSize, -0.6f, 0.6f), wHh = LayerAssert.Uniform(random, gates * hidden, -0.6f, 0.6f);
        float[] wIhR = LayerAssert.Uniform(random, gates * inputSize, -0.6f, 0.6f), wHhR = LayerAssert.Uniform(random, gates * hidden, -0.6f, 0.6f);
        float[] b = LayerAssert.Uniform(random, gates, -0.3f, 0.3f), dh = LayerAssert.Uniform(random, rows * 2 * hidden), dLast = LayerAssert.Uniform(random, batch * 2 * hidden);
        int workspace = lstm ? ModelDsl.Runtime.Cpu.Layers.Lstm.BidirectionalWorkspaceSize(batch, steps, inputSize, hidden)
            : ModelDsl.Runtime.Cpu.Layers.Gru.BidirectionalWorkspaceSize(batch, steps, inputSize, hidden);
        Check(gpu, output, new[] { lstm ? LayerFamily.Lstm : LayerFamily.Gru, LayerFamily.Sequence }, s =>
        {
            // The working memory holds activations too (x reversed, each direction's states), so it is not compared as floats.
            DevicePointer dX = s.Activation(x), bias = s.Floats(b), work = s.Floats(new float[workspace]);
            DevicePointer h = s.ActivationOutput("h (both directions)", rows * 2 * hidden), last = s.ActivationOutput("last hidden", batch * 2 * hidden);
            DevicePointer dx = s.FloatOutput("dx", rows * inputSize), dW = s.FloatOutput("dweight_ih", gates * inputSize), dWR = s.FloatOutput("dweight_ih reverse", gates * inputSize);
            DevicePointer dU = s.FloatOutput("dweight_hh", gates * hidden), dUR = s.FloatOutput("dweight_hh reverse", gates * hidden);
            DevicePointer dB = s.FloatOutput("dbias", gates), dB2 = s.FloatOutput("dbias_hh", gates), dBR = s.FloatOutput("dbias reverse", gates), dBR2 = s.FloatOutput("dbias_hh reverse", gates);
            DevicePointer wi = s.Floats(wIh), wh = s.Floats(wHh), wiR = s.Floats(wIhR), whR = s.Floats(wHhR);
            if (lstm)
            {
                GpuLayers.Lstm.ForwardBidirectional(s.Layers, batch, steps, inputSize, hidden, dX, wi, wh, bias, bias, wiR, whR, bias, bias, h, last, work);
                GpuLayers.Lstm.BackwardBidirectional(s.Layers, batch, steps, inputSize, hidden, dX, wi, wh, wiR, whR, s.Floats(dh), s.Floats(dLast), work,
                    dx, dW, dU, dB, dB2, dWR, dUR, dBR, dBR2);
            }
            else
            {
                GpuLayers.Gru.ForwardBidirectional(s.Layers, batch, steps, inputSize, hidden, dX, wi, wh, bias, bias, wiR, whR, bias, bias, h, last, work);
                GpuLayers.Gru.BackwardBidirectional(s.Layers, batch, steps, inputSize, hidden, dX, wi, wh, wiR, whR, s.Floats(dh), s.Floats(dLast), work,
                    dx, dW, dU, dB, dB2, dWR, dUR, dBR, dBR2);
            }
        }, bf16Path: true);
    }

    // The check itself can fail: a module whose md_act is not the buffers' storage (a kernel reading BF16 as floats and
    // writing float bits into BF16 buffers, or the reverse) breaks the bounds, here for layer_norm and softmax.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mixed_up_storage_fails_the_comparison(bool moduleBf16)
    {
        const int rows = 9, dim = 40;
        var random = new Random(3);
        float[] x = Bf16Values(random, rows * dim, -2f, 2f), weight = LayerAssert.Uniform(random, dim), bias = LayerAssert.Uniform(random, dim);
        float[] y = Bf16Values(random, rows * dim, 0f, 0.2f), dy = LayerAssert.Uniform(random, rows * dim);
        void Launch(ActivationStorage s)
        {
            GpuLayers.LayerNorm.Forward(s.Layers, rows, dim, s.Activation(x), s.Floats(weight), s.Floats(bias), s.ActivationOutput("y", rows * dim), default, default);
            GpuLayers.LayerNorm.Backward(s.Layers, rows, dim, s.Activation(x), s.Floats(weight), s.Floats(new float[rows]), s.Floats(Ones(rows)),
                s.Floats(dy), default, s.FloatOutput("dweight", dim), s.FloatOutput("dbias", dim));
        }
        var (fp32, _) = RunBoth(gpu, LayerFamily.LayerNorm, LayerFamily.LayerNorm, Launch);
        // BF16 buffers read by the FP32 module (moduleBf16 false), or float buffers read by the BF16 module.
        using var mixed = new ActivationStorage(gpu, LayerFamily.LayerNorm, bf16: !moduleBf16, moduleBf16: moduleBf16);
        Launch(mixed);
        int failures = Compare(output, fp32, mixed.Read(), out string first);
        output.WriteLine(first);
        Assert.True(failures >= 2, $"a mixed-up storage passed the comparison ({failures} outputs failed): the check cannot catch it");
    }

    private static float[] Ones(int count)
    {
        var ones = new float[count];
        Array.Fill(ones, 1f);
        return ones;
    }
}
