using System;
using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.Attention against Runtime.Cpu.Layers.Attention on the emulator (the same calls, device pointers
/// for spans): the fused forward (out and the row log-sum-exp), then the two backward kernels (query rows: D and dq;
/// key rows: dk and dv).
/// </summary>
public sealed class AttentionKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    // T not a multiple of 8 or 32 (partial query blocks and key tiles, several tiles), dh below, between and at the
    // multiples of 32 up to the 128 limit, causal and not, separate q/k/v and a fused qkv buffer (stride 3d).
    [Theory]
    [InlineData(2, 37, 3, 20, false, false, false)]
    [InlineData(2, 37, 3, 20, true, false, false)]
    [InlineData(2, 37, 3, 20, true, true, true)]
    [InlineData(1, 70, 2, 40, true, true, false)]
    [InlineData(1, 70, 2, 40, false, false, true)]
    [InlineData(2, 5, 1, 128, true, false, false)]
    [InlineData(1, 100, 1, 72, false, true, false)]
    [InlineData(3, 1, 2, 8, true, true, true)]
    [InlineData(1, 33, 4, 1, true, false, true)]
    public void Forward_and_backward_match_the_cpu(int batch, int steps, int heads, int headDim, bool causal, bool fused, bool accumulate)
    {
        var random = new Random(batch * 10000 + steps * 100 + headDim + (causal ? 1 : 0));
        int d = heads * headDim, stride = fused ? 3 * d : d;
        long rows = (long)batch * steps, strided = rows * stride;
        // q and k in ±1.5 give scores of a few units: peaked rows, not uniform ones.
        float[] q, k, v;
        float[] qkv = LayerAssert.Uniform(random, rows * 3 * d, -1.5f, 1.5f);
        if (fused)
        {
            q = qkv;
            k = qkv[d..];
            v = qkv[(2 * d)..];
        }
        else
        {
            q = qkv[..(int)(rows * d)];
            k = qkv[(int)(rows * d)..(int)(2 * rows * d)];
            v = qkv[(int)(2 * rows * d)..];
        }
        float[] dout = LayerAssert.Uniform(random, rows * d);
        float[] grads0 = LayerAssert.Uniform(random, fused ? rows * 3 * d : 3 * rows * d); // dq, dk, dv (or dqkv)

        // The CPU reference.
        float[] workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        float[] output0 = new float[rows * d];
        Attention.Forward(batch, steps, heads, headDim, causal, q, k, v, stride, output0, workspace);
        float[] cpuGrads = (float[])grads0.Clone();
        Span<float> cdq, cdk, cdv;
        if (fused)
        {
            cdq = cpuGrads;
            cdk = cpuGrads.AsSpan(d);
            cdv = cpuGrads.AsSpan(2 * d);
        }
        else
        {
            cdq = cpuGrads.AsSpan(0, (int)(rows * d));
            cdk = cpuGrads.AsSpan((int)(rows * d), (int)(rows * d));
            cdv = cpuGrads.AsSpan((int)(2 * rows * d));
        }
        Attention.Backward(batch, steps, heads, headDim, causal, q, k, v, stride, dout, workspace, cdq, cdk, cdv, accumulate);

        // The device: one buffer for q, k, v (fused or three back-to-back tensors) and one for their gradients; the
        // working memory is lse then delta, [B, heads, T] each.
        using DeviceVariable dQkv = gpu.Upload(qkv), dOut = gpu.Zeros(rows * d), work = gpu.Zeros(GpuLayers.Attention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dDout = gpu.Upload(dout), dGrads = gpu.Upload(grads0);
        long kOffset = fused ? d : rows * d, vOffset = 2 * kOffset;
        var layers = gpu.Layers(LayerFamily.Attention);
        GpuLayers.Attention.Forward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(kOffset), dQkv.Pointer.Plus(vOffset), stride,
            dOut.Pointer, work.Pointer);
        LayerAssert.Close(output, "attention out", output0, gpu.Download(dOut));
        // the working memory's row max m and log-sum log l: together the log-sum-exp m + log l
        float[] statistics = gpu.Download(work, 2L * batch * heads * steps);
        int rowsStats = batch * heads * steps;
        LayerAssert.Close(output, "attention lse", LogSumExp(batch, steps, heads, headDim, causal, q, k, stride),
            Enumerable.Range(0, rowsStats).Select(r => (float)((double)statistics[r] + statistics[rowsStats + r])).ToArray());

        GpuLayers.Attention.Backward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(kOffset), dQkv.Pointer.Plus(vOffset), stride,
            dDout.Pointer, work.Pointer, dGrads.Pointer, dGrads.Pointer.Plus(kOffset), dGrads.Pointer.Plus(vOffset), accumulate);
        // dq, dk and dv interleaved (fused) or back to back; either way every element is compared, including the
        // untouched columns of other tensors' slots, which must keep their starting values.
        LayerAssert.Close(output, "attention dq|dk|dv", cpuGrads, gpu.Download(dGrads));
    }

    /// <summary>
    /// A key padding mask, f32 or i32, on the forward and both backward kernels against the CPU: rows with padding in
    /// the first and second key tile, a row with none, a fully padded row; fused qkv, causal and not.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void A_key_padding_mask_matches_the_cpu(bool ints, bool causal)
    {
        const int batch = 4, steps = 45, heads = 2, headDim = 24, d = heads * headDim, stride = 3 * d;
        var random = new Random(ints ? 21 : 22);
        long rows = (long)batch * steps;
        float[] qkv = LayerAssert.Uniform(random, rows * stride, -1.5f, 1.5f), dout = LayerAssert.Uniform(random, rows * d);
        int[] lengths = { 5, steps, 0, 38 };
        int[] maskIds = new int[rows];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < lengths[b]; t++) maskIds[b * steps + t] = 1;
        float[] maskFloats = Array.ConvertAll(maskIds, m => (float)m);

        float[] workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        float[] output0 = new float[rows * d], cpuGrads = new float[rows * stride];
        Attention.Forward(batch, steps, heads, headDim, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, output0, workspace,
            ints ? default : maskFloats, ints ? maskIds : default);
        Attention.Backward(batch, steps, heads, headDim, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, dout, workspace,
            cpuGrads, cpuGrads.AsSpan(d), cpuGrads.AsSpan(2 * d), false, ints ? default : maskFloats, ints ? maskIds : default);

        using DeviceVariable dQkv = gpu.Upload(qkv), dOut = gpu.Zeros(rows * d), work = gpu.Zeros(GpuLayers.Attention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dDout = gpu.Upload(dout), dGrads = gpu.Zeros(rows * stride);
        using DeviceVariable dMask = ints ? gpu.Upload(maskIds) : gpu.Upload(maskFloats);
        DevicePointer mask = ints ? default : dMask.Pointer, maskInts = ints ? dMask.Pointer : default;
        var layers = gpu.Layers(LayerFamily.Attention);
        GpuLayers.Attention.Forward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), stride,
            dOut.Pointer, work.Pointer, mask, maskInts);
        LayerAssert.Close(output, "masked attention out", output0, gpu.Download(dOut));
        GpuLayers.Attention.Backward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), stride,
            dDout.Pointer, work.Pointer, dGrads.Pointer, dGrads.Pointer.Plus(d), dGrads.Pointer.Plus(2 * d), false, mask, maskInts);
        float[] gpuGrads = gpu.Download(dGrads);
        LayerAssert.Close(output, "masked attention dq|dk|dv", cpuGrads, gpuGrads);
        // a padded key of a row with real tokens is never attended to: its dk and dv are exactly zero on both sides
        for (int e = d; e < 3 * d; e++) Assert.Equal(0f, gpuGrads[(0 * steps + 10) * stride + e]);
        Assert.All(gpu.Download(dOut), v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>
    /// attention(dropout=p) on the emulator against the CPU: the forward (P̃·v) and both backward kernels (which draw the
    /// mask again). T spans two key tiles and partial query blocks; causal or not, with a key padding mask or not.
    /// </summary>
    [Theory]
    [InlineData(2, 37, 2, 24, false, false, 0.1f)]
    [InlineData(2, 37, 2, 24, true, true, 0.3f)]
    [InlineData(1, 70, 3, 8, true, false, 0.5f)]
    [InlineData(3, 9, 1, 40, false, true, 0.9f)]
    public void Dropout_matches_the_cpu(int batch, int steps, int heads, int headDim, bool causal, bool masked, float p)
    {
        int d = heads * headDim, stride = 3 * d;
        const uint seed = 0xC0FFEEu;
        var random = new Random(steps * 3 + heads);
        long rows = (long)batch * steps;
        float[] qkv = LayerAssert.Uniform(random, rows * stride, -1.5f, 1.5f), dout = LayerAssert.Uniform(random, rows * d);
        int[] maskIds = Enumerable.Range(0, (int)rows).Select(i => i % steps < steps - 3 * (i / steps) ? 1 : 0).ToArray();

        float[] workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        float[] output0 = new float[rows * d], cpuGrads = new float[rows * stride];
        Attention.Forward(batch, steps, heads, headDim, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, output0, workspace,
            maskIds: masked ? maskIds : default, dropout: p, dropoutSeed: seed);
        Attention.Backward(batch, steps, heads, headDim, causal, qkv, qkv.AsSpan(d), qkv.AsSpan(2 * d), stride, dout, workspace,
            cpuGrads, cpuGrads.AsSpan(d), cpuGrads.AsSpan(2 * d), false, maskIds: masked ? maskIds : default, dropout: p, dropoutSeed: seed);

        using DeviceVariable dQkv = gpu.Upload(qkv), dOut = gpu.Zeros(rows * d), work = gpu.Zeros(GpuLayers.Attention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dDout = gpu.Upload(dout), dGrads = gpu.Zeros(rows * stride), dMask = gpu.Upload(maskIds), dSeed = gpu.Upload(new[] { seed });
        DevicePointer maskInts = masked ? dMask.Pointer : default;
        var layers = gpu.Layers(LayerFamily.Attention);
        GpuLayers.Attention.Forward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), stride,
            dOut.Pointer, work.Pointer, default, maskInts, p, dSeed.Pointer);
        LayerAssert.Close(output, $"attention out, dropout={p}", output0, gpu.Download(dOut));
        GpuLayers.Attention.Backward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), stride,
            dDout.Pointer, work.Pointer, dGrads.Pointer, dGrads.Pointer.Plus(d), dGrads.Pointer.Plus(2 * d), false, default, maskInts, p, dSeed.Pointer);
        LayerAssert.Close(output, $"attention dq|dk|dv, dropout={p}", cpuGrads, gpu.Download(dGrads));
    }

    /// <summary>
    /// The CPU and the emulated GPU drop exactly the same probabilities: with v the identity (dh = T, v_j = e_j) each
    /// output row is P̃_i itself, so the dropped entries are its zeros, compared position by position (softmax
    /// probabilities of scores in ±1 are never 0 themselves). Three key tiles, two heads, two batch rows.
    /// </summary>
    [Fact]
    public void The_cpu_and_the_gpu_drop_the_same_probabilities()
    {
        const int batch = 2, steps = 70, heads = 2, headDim = 70, d = heads * headDim;
        const float p = 0.3f;
        const uint seed = 99u;
        var random = new Random(70);
        long rows = (long)batch * steps;
        float[] q = LayerAssert.Uniform(random, rows * d, -0.3f, 0.3f), k = LayerAssert.Uniform(random, rows * d, -0.3f, 0.3f);
        float[] v = new float[rows * d];
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < steps; j++)
                for (int h = 0; h < heads; h++) v[(b * steps + j) * d + h * headDim + j] = 1f;
        float[] workspace = new float[Attention.WorkspaceSize(batch, steps, heads)], cpu = new float[rows * d];
        Attention.Forward(batch, steps, heads, headDim, false, q, k, v, d, cpu, workspace, dropout: p, dropoutSeed: seed);

        using DeviceVariable dq = gpu.Upload(q), dk = gpu.Upload(k), dv = gpu.Upload(v), dOut = gpu.Zeros(rows * d), work = gpu.Zeros(GpuLayers.Attention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dSeed = gpu.Upload(new[] { seed });
        GpuLayers.Attention.Forward(gpu.Layers(LayerFamily.Attention), batch, steps, heads, headDim, false, dq.Pointer, dk.Pointer, dv.Pointer, d,
            dOut.Pointer, work.Pointer, dropout: p, dropoutSeed: dSeed.Pointer);
        float[] device = gpu.Download(dOut);
        int dropped = SameZeros(cpu, device);
        output.WriteLine($"dropped {dropped} of {cpu.Length} probabilities on both sides");
        Assert.InRange(dropped, (int)(0.25 * cpu.Length), (int)(0.35 * cpu.Length));
        LayerAssert.Close(output, "P̃ rows", cpu, device);

        // The kernel reads the seed from device memory when it runs (what lets a replayed CUDA graph draw each step's mask):
        // another seed written to the same memory, the same launch drops other probabilities, again the CPU's for that seed.
        const uint next = 100u;
        float[] cpuNext = new float[rows * d];
        Attention.Forward(batch, steps, heads, headDim, false, q, k, v, d, cpuNext, workspace, dropout: p, dropoutSeed: next);
        dSeed.CopyFrom<uint>(new[] { next });
        GpuLayers.Attention.Forward(gpu.Layers(LayerFamily.Attention), batch, steps, heads, headDim, false, dq.Pointer, dk.Pointer, dv.Pointer, d,
            dOut.Pointer, work.Pointer, dropout: p, dropoutSeed: dSeed.Pointer);
        float[] deviceNext = gpu.Download(dOut);
        SameZeros(cpuNext, deviceNext);
        int moved = Enumerable.Range(0, cpu.Length).Count(i => (deviceNext[i] == 0f) != (device[i] == 0f));
        output.WriteLine($"seed {next}: {moved} probabilities dropped or kept differently from seed {seed}");
        Assert.True(moved > cpu.Length / 4, $"only {moved} of {cpu.Length} probabilities changed with the seed in device memory");
        LayerAssert.Close(output, "P̃ rows, next seed", cpuNext, deviceNext);
    }

    /// <summary>Asserts the CPU's and the GPU's outputs are zero at the same positions (the dropped ones); returns how many.</summary>
    private static int SameZeros(float[] cpu, float[] device)
    {
        int dropped = 0;
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.True((cpu[i] == 0f) == (device[i] == 0f), $"probability {i}: the CPU has {cpu[i]}, the GPU {device[i]}");
            if (cpu[i] == 0f) dropped++;
        }
        return dropped;
    }

    [Fact]
    public void Dropout_without_a_seed_in_device_memory_is_refused()
    {
        using DeviceVariable buffer = gpu.Zeros(3 * 2 * 8 * 3);
        var e = Assert.Throws<ArgumentException>(() => GpuLayers.Attention.Forward(gpu.Layers(LayerFamily.Attention), 1, 3, 2, 4, false,
            buffer.Pointer, buffer.Pointer.Plus(8), buffer.Pointer.Plus(16), 24, buffer.Pointer, buffer.Pointer, dropout: 0.1f));
        Assert.Contains("seed in device memory", e.Message);
        Assert.Equal("dropoutSeed", e.ParamName);
    }

    [Fact]
    public void A_head_wider_than_the_kernels_take_is_refused_by_name()
    {
        using DeviceVariable buffer = gpu.Zeros(3 * 2 * 129 * 3);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GpuLayers.Attention.Forward(gpu.Layers(LayerFamily.Attention), 1, 2, 1, 129, false,
            buffer.Pointer, buffer.Pointer, buffer.Pointer, 129, buffer.Pointer, buffer.Pointer));
        Assert.Equal("headDim", error.ParamName);
        Assert.Equal(CudaLayerLibrary.AttentionMaxHeadDim, GpuLayers.Attention.MaxHeadDim);
    }

    [Fact]
    public void Backward_is_bitwise_repeatable()
    {
        const int batch = 1, steps = 45, heads = 2, headDim = 24, d = heads * headDim;
        var random = new Random(11);
        float[] qkv = LayerAssert.Uniform(random, 3L * steps * d), dout = LayerAssert.Uniform(random, (long)steps * d);
        using DeviceVariable dQkv = gpu.Upload(qkv), dOut = gpu.Zeros(steps * d), work = gpu.Zeros(GpuLayers.Attention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dDout = gpu.Upload(dout), dGrads = gpu.Zeros(3L * steps * d);
        var layers = gpu.Layers(LayerFamily.Attention);
        float[]? first = null;
        for (int run = 0; run < 2; run++)
        {
            GpuLayers.Attention.Forward(layers, batch, steps, heads, headDim, true, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), 3 * d, dOut.Pointer, work.Pointer);
            GpuLayers.Attention.Backward(layers, batch, steps, heads, headDim, true, dQkv.Pointer, dQkv.Pointer.Plus(d), dQkv.Pointer.Plus(2 * d), 3 * d,
                dDout.Pointer, work.Pointer, dGrads.Pointer, dGrads.Pointer.Plus(d), dGrads.Pointer.Plus(2 * d));
            float[] grads = gpu.Download(dGrads);
            if (first is null) first = grads;
            else Assert.Equal(first, grads);
        }
    }

    /// <summary>lse (B, heads, T) in double: log Σ_j exp(q_i·k_j/√dh) over the keys row i sees.</summary>
    private static float[] LogSumExp(int batch, int steps, int heads, int headDim, bool causal, float[] q, float[] k, int stride)
    {
        var lse = new float[batch * heads * steps];
        double scale = 1 / Math.Sqrt(headDim);
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                {
                    int end = causal ? i + 1 : steps;
                    var scores = new double[end];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < end; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < headDim; e++)
                            dot += (double)q[(b * steps + i) * stride + h * headDim + e] * k[(b * steps + j) * stride + h * headDim + e];
                        scores[j] = dot * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    foreach (double s in scores) sum += Math.Exp(s - max);
                    lse[(b * heads + h) * steps + i] = (float)(max + Math.Log(sum));
                }
        return lse;
    }
}
