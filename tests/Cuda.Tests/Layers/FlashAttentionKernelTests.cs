using System;
using System.Linq;
using ModelDsl.Cuda.Tests.Support;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// flashattention.cuh on the emulator: the tensor-core product itself against an exact product laid out by the PTX
/// ISA's fragment tables (so a layout mistake in the kernel's wrapper or in the emulator fails here), then
/// ModelDsl.Cuda.Layers.FlashAttention against the FP32 CPU attention (Runtime.Cpu.Layers.Attention) within the BF16
/// tolerance derived in docs/cuda.md ("Flash attention").
/// </summary>
public sealed class FlashAttentionKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    /// <summary>
    /// The tolerance against the FP32 reference, relative to the largest magnitude of the compared tensor:
    /// |flash − cpu| ≤ <see cref="Tolerance"/>·max|cpu| (for gradients, max|cpu| at least 0.1). BF16 keeps 8 significant bits (unit roundoff u = 2⁻⁹ ≈ 2e-3);
    /// each product rounds each operand once, and a score error of δ moves P by a factor e^δ (docs/cuda.md derives ≈ 10u).
    /// </summary>
    private const float Tolerance = 2e-2f;

    // One warp: lane L passes its A registers a[4L…4L+3], B registers b[2L, 2L+1] and C c[4L…4L+3] to the library's
    // md_flashattention_mma and writes its D fragment to d[4L…4L+3].
    private const string MmaKernel = """

        extern "C" __global__ void md_test_mma(const unsigned* a, const unsigned* b, const float* c, float* d)
        {
            int lane = threadIdx.x;
            unsigned ar[4] = { a[4 * lane], a[4 * lane + 1], a[4 * lane + 2], a[4 * lane + 3] };
            float acc[4] = { c[4 * lane], c[4 * lane + 1], c[4 * lane + 2], c[4 * lane + 3] };
            md_flashattention_mma(acc, ar, b[2 * lane], b[2 * lane + 1]);
            for (int e = 0; e < 4; e++) d[4 * lane + e] = acc[e];
        }
        """;

    private static string MmaModule => LayerKernelFixture.ModuleSource(LayerFamily.FlashAttention) + MmaKernel;

    [Fact]
    public void The_mma_follows_the_ptx_fragment_layout_exactly()
    {
        var random = new Random(14);
        // Multiples of 1/4 up to ±8 are exact in BF16, and every product and sum below is exact in FP32: D must match bit for bit.
        float[,] A = new float[16, 16], B = new float[16, 8], C = new float[16, 8];
        for (int r = 0; r < 16; r++)
            for (int col = 0; col < 16; col++) A[r, col] = random.Next(-32, 33) / 4f;
        for (int r = 0; r < 16; r++)
            for (int col = 0; col < 8; col++) B[r, col] = random.Next(-32, 33) / 4f;
        for (int r = 0; r < 16; r++)
            for (int col = 0; col < 8; col++) C[r, col] = random.Next(-64, 65) / 8f;

        // The PTX ISA's tables for mma.m16n8k16 with .bf16, lane = 4·groupID + threadID_in_group, written out here
        // independently of the emulator: the lower-indexed element of each pair in the low 16 bits.
        uint[] a = new uint[128], b = new uint[64];
        float[] c = new float[128];
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane / 4, t = lane % 4;
            a[4 * lane + 0] = Pair(A[g, 2 * t], A[g, 2 * t + 1]);
            a[4 * lane + 1] = Pair(A[g + 8, 2 * t], A[g + 8, 2 * t + 1]);
            a[4 * lane + 2] = Pair(A[g, 2 * t + 8], A[g, 2 * t + 9]);
            a[4 * lane + 3] = Pair(A[g + 8, 2 * t + 8], A[g + 8, 2 * t + 9]);
            b[2 * lane + 0] = Pair(B[2 * t, g], B[2 * t + 1, g]);
            b[2 * lane + 1] = Pair(B[2 * t + 8, g], B[2 * t + 9, g]);
            c[4 * lane + 0] = C[g, 2 * t];
            c[4 * lane + 1] = C[g, 2 * t + 1];
            c[4 * lane + 2] = C[g + 8, 2 * t];
            c[4 * lane + 3] = C[g + 8, 2 * t + 1];
        }
        float[] d = RunMma(a, b, c, 32);
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane / 4, t = lane % 4;
            for (int e = 0; e < 4; e++)
            {
                int row = g + 8 * (e / 2), col = 2 * t + e % 2;
                double expected = C[row, col];
                for (int k = 0; k < 16; k++) expected += (double)A[row, k] * B[k, col];
                Assert.True((float)expected == d[4 * lane + e], $"D[{row}, {col}] (lane {lane}, d{e}): expected {expected}, got {d[4 * lane + e]}");
            }
        }
    }

    [Fact]
    public void The_mma_needs_a_whole_warp()
    {
        var error = Assert.ThrowsAny<Exception>(() => RunMma(new uint[128], new uint[64], new float[128], 16));
        Assert.Contains("mma.sync needs all 32 lanes", error.Message);
    }

    [NvrtcFact]
    public void The_mma_is_one_tensor_core_instruction_in_ptx()
    {
        string ptx = NvrtcCompiler.CompileToPtx(MmaModule, "mma.cu", "compute_80");
        Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", ptx);
        int entry = ptx.IndexOf(".entry md_test_mma(", StringComparison.Ordinal);
        Assert.True(entry >= 0);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(ptx[entry..], @"mma\.sync"));
    }

    // T below, at and past a 64-row tile (partial query blocks and key tiles), causal and not, separate q/k/v and a
    // fused qkv buffer (stride 3d), writing and accumulating.
    [Theory]
    [InlineData(2, 37, 2, false, false, false)]
    [InlineData(2, 37, 2, true, true, true)]
    [InlineData(1, 64, 1, true, false, false)]
    [InlineData(1, 130, 2, true, true, false)]
    [InlineData(1, 130, 1, false, false, true)]
    [InlineData(3, 1, 1, true, true, false)]
    public void Forward_and_backward_match_the_fp32_cpu_within_bf16_rounding(int batch, int steps, int heads, bool causal, bool fused, bool accumulate)
    {
        const int headDim = 64;
        var random = new Random(batch * 10000 + steps * 100 + heads + (causal ? 1 : 0));
        int d = heads * headDim, stride = fused ? 3 * d : d;
        long rows = (long)batch * steps;
        float[] qkv = LayerAssert.Uniform(random, rows * 3 * d, -1f, 1f);
        long kOffset = fused ? d : rows * d, vOffset = 2 * kOffset;
        float[] dout = LayerAssert.Uniform(random, rows * d);
        float[] grads0 = LayerAssert.Uniform(random, rows * 3 * d);
        Compare($"B={batch} T={steps} heads={heads} causal={causal}", batch, steps, heads, causal, qkv, kOffset, stride, dout, grads0, accumulate, null);
    }

    /// <summary>
    /// A key padding mask, f32 or i32: rows with padding in the first and second key tile, a row with none and a fully
    /// padded row (a uniform softmax over the −10000 biases); a padded key is never attended to by a row with real keys.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void A_key_padding_mask_matches_the_cpu(bool ints, bool causal)
    {
        const int batch = 4, steps = 100, heads = 2, d = heads * 64, stride = 3 * d;
        var random = new Random(ints ? 31 : 32);
        long rows = (long)batch * steps;
        float[] qkv = LayerAssert.Uniform(random, rows * stride, -1f, 1f), dout = LayerAssert.Uniform(random, rows * d);
        int[] lengths = { 5, steps, 0, 77 };
        int[] maskIds = new int[rows];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < lengths[b]; t++) maskIds[b * steps + t] = 1;
        float[] gpuGrads = Compare($"mask ({(ints ? "i32" : "f32")}), causal={causal}", batch, steps, heads, causal, qkv, d, stride, dout,
            new float[rows * stride], false, (ints, maskIds));
        for (int e = d; e < 3 * d; e++) Assert.Equal(0f, gpuGrads[(0 * steps + 10) * stride + e]);
    }

    [Fact]
    public void A_head_width_other_than_64_is_refused_by_name()
    {
        using DeviceVariable buffer = gpu.Zeros(3 * 2 * 32 * 3);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GpuLayers.FlashAttention.Forward(gpu.Layers(LayerFamily.FlashAttention), 1, 2, 1, 32, false,
            buffer.Pointer, buffer.Pointer, buffer.Pointer, 32, buffer.Pointer, buffer.Pointer));
        Assert.Equal("headDim", error.ParamName);
    }

    /// <summary>Runs the CPU attention and the flash kernels on the same q, k, v (one buffer: fused or back to back) and compares everything; returns the device's gradients.</summary>
    private float[] Compare(string what, int batch, int steps, int heads, bool causal, float[] qkv, long kOffset, int stride,
        float[] dout, float[] grads0, bool accumulate, (bool Ints, int[] Ids)? mask)
    {
        const int headDim = 64;
        int d = heads * headDim;
        long rows = (long)batch * steps, vOffset = 2 * kOffset;
        float[]? maskFloats = mask is { Ints: false } ? Array.ConvertAll(mask.Value.Ids, m => (float)m) : null;
        int[]? maskIds = mask is { Ints: true } ? mask.Value.Ids : null;

        float[] workspace = new float[Attention.WorkspaceSize(batch, steps, heads)];
        float[] output0 = new float[rows * d], cpuGrads = (float[])grads0.Clone();
        var q = qkv.AsSpan(0);
        var k = qkv.AsSpan((int)kOffset);
        var v = qkv.AsSpan((int)vOffset);
        Attention.Forward(batch, steps, heads, headDim, causal, q, k, v, stride, output0, workspace, maskFloats, maskIds);
        Attention.Backward(batch, steps, heads, headDim, causal, q, k, v, stride, dout, workspace,
            cpuGrads, cpuGrads.AsSpan((int)kOffset), cpuGrads.AsSpan((int)vOffset), accumulate, maskFloats, maskIds);

        using DeviceVariable dQkv = gpu.Upload(qkv), dOut = gpu.Zeros(rows * d), work = gpu.Zeros(GpuLayers.FlashAttention.WorkspaceLength(batch, steps, heads));
        using DeviceVariable dDout = gpu.Upload(dout), dGrads = gpu.Upload(grads0);
        using DeviceVariable dMask = maskIds is not null ? gpu.Upload(maskIds) : gpu.Upload(maskFloats ?? new float[1]);
        DevicePointer maskPointer = maskFloats is not null ? dMask.Pointer : default, maskIntsPointer = maskIds is not null ? dMask.Pointer : default;
        var layers = gpu.Layers(LayerFamily.FlashAttention);
        GpuLayers.FlashAttention.Forward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(kOffset), dQkv.Pointer.Plus(vOffset), stride,
            dOut.Pointer, work.Pointer, maskPointer, maskIntsPointer);
        float[] flashOut = gpu.Download(dOut);
        LayerAssert.Close(output, what + ": out", output0, flashOut, Tolerance * MaxAbs(output0), 0f);
        Assert.All(flashOut, x => Assert.True(float.IsFinite(x)));
        // the row statistics: m + log l is the log-sum-exp of the row's scores, which BF16 scores move by about u·|S|
        float[] statistics = gpu.Download(work, 2L * batch * heads * steps);
        int statRows = batch * heads * steps;
        float[] lse = LogSumExp(batch, steps, heads, causal, qkv, kOffset, stride, maskFloats ?? maskIds?.Select(m => (float)m).ToArray());
        LayerAssert.Close(output, what + ": m + log l", lse,
            Enumerable.Range(0, statRows).Select(r => (float)((double)statistics[r] + statistics[statRows + r])).ToArray(), Tolerance, 1e-3f);

        GpuLayers.FlashAttention.Backward(layers, batch, steps, heads, headDim, causal, dQkv.Pointer, dQkv.Pointer.Plus(kOffset), dQkv.Pointer.Plus(vOffset), stride,
            dOut.Pointer, dDout.Pointer, work.Pointer, dGrads.Pointer, dGrads.Pointer.Plus(kOffset), dGrads.Pointer.Plus(vOffset), accumulate,
            maskPointer, maskIntsPointer);
        float[] gpuGrads = gpu.Download(dGrads);
        // Each gradient against its own scale (dq, dk and dv differ in size). q, k and v fill the buffer (fused or back
        // to back), so every element is compared.
        CloseSlots(what, "dq", cpuGrads, gpuGrads, 0, batch, steps, d, stride, grads0, accumulate);
        CloseSlots(what, "dk", cpuGrads, gpuGrads, kOffset, batch, steps, d, stride, grads0, accumulate);
        CloseSlots(what, "dv", cpuGrads, gpuGrads, vOffset, batch, steps, d, stride, grads0, accumulate);
        return gpuGrads;
    }

    private void CloseSlots(string what, string name, float[] cpu, float[] gpuValues, long offset, int batch, int steps, int d, int stride, float[] start, bool accumulate)
    {
        long rows = (long)batch * steps;
        float[] expected = new float[rows * d], actual = new float[rows * d];
        for (long r = 0; r < rows; r++)
            for (int e = 0; e < d; e++)
            {
                long i = offset + r * stride + e;
                // compare the gradient itself: the accumulated starting value is exact on both sides
                float baseline = accumulate ? start[i] : 0f;
                expected[r * d + e] = cpu[i] - baseline;
                actual[r * d + e] = gpuValues[i] - baseline;
            }
        // The scale is at least 0.1, the size of one term of these sums for inputs of order 1: a gradient that cancels
        // (dk at T = 1, where dS = dP − D is zero in exact arithmetic) keeps the BF16 error of its terms.
        LayerAssert.Close(output, $"{what}: {name}", expected, actual, Tolerance * Math.Max(MaxAbs(expected), 0.1f), 0f);
    }

    private float[] RunMma(uint[] a, uint[] b, float[] c, int threads)
    {
        using GpuModule module = gpu.Context.LoadModule("flash_mma", MmaModule);
        using DeviceVariable da = gpu.Upload(a), db = gpu.Upload(b), dc = gpu.Upload(c), dd = gpu.Zeros(128);
        var arguments = new KernelArguments();
        arguments.Add(da);
        arguments.Add(db);
        arguments.Add(dc);
        arguments.Add(dd);
        module.GetKernel("md_test_mma").Launch(new Dim3(1), new Dim3((uint)threads), ref arguments);
        gpu.Context.Synchronize();
        return gpu.Download<float>(dd);
    }

    private static uint Pair(float lo, float hi) => Bf16(lo) | (Bf16(hi) << 16);

    private static uint Bf16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        Assert.Equal(0u, bits & 0xffff); // the test's values are exact in BF16
        return bits >> 16;
    }

    private static float MaxAbs(float[] values) => values.Length == 0 ? 0f : values.Max(Math.Abs);

    /// <summary>The log-sum-exp of each (b, head, i) row of S = q·kᵀ/8 + padding bias (causal if asked), in double.</summary>
    private static float[] LogSumExp(int batch, int steps, int heads, bool causal, float[] qkv, long kOffset, int stride, float[]? mask)
    {
        const int headDim = 64;
        var result = new float[batch * heads * steps];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < steps; i++)
                {
                    int end = causal ? i + 1 : steps;
                    var s = new double[end];
                    for (int j = 0; j < end; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < headDim; e++)
                            dot += (double)qkv[((long)b * steps + i) * stride + h * headDim + e] * qkv[kOffset + ((long)b * steps + j) * stride + h * headDim + e];
                        s[j] = dot / 8 + (mask is null ? 0 : (1.0 - mask[b * steps + j]) * -10000.0);
                    }
                    double max = s.Max();
                    result[(b * heads + h) * steps + i] = (float)(max + Math.Log(s.Sum(x => Math.Exp(x - max))));
                }
        return result;
    }
}
