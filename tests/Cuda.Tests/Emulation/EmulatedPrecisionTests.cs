using System;
using System.Linq;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>
/// The emulator's reduced-precision GEMMs (docs/cuda.md "Precision"): <see cref="GpuContext.GemmBf16"/> reads BF16
/// operands and accumulates in FP32, as cublasGemmEx with CUDA_R_16BF inputs does; <see cref="GpuContext.Tf32"/> makes
/// Sgemm read its FP32 operands as TF32. Both are held to a naive product of the rounded operands in double.
/// </summary>
public sealed class EmulatedPrecisionTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void GemmBf16_is_the_fp32_product_of_the_bf16_operands(bool transA, bool transB)
    {
        const int m = 5, n = 7, k = 9;
        const float alpha = 1.5f, beta = 0.5f;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;
        var random = new Random(5);
        ushort[] a = Enumerable.Range(0, aRows * lda).Select(_ => BFloat16.Round((float)random.NextDouble() * 4 - 2)).ToArray();
        ushort[] b = Enumerable.Range(0, bRows * ldb).Select(_ => BFloat16.Round((float)random.NextDouble() * 4 - 2)).ToArray();
        float[] c = Enumerable.Range(0, m * ldc).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();

        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable da = context.Allocate(2L * a.Length), db = context.Allocate(2L * b.Length), dc = context.Allocate(4L * c.Length);
        da.CopyFrom<ushort>(a);
        db.CopyFrom<ushort>(b);
        dc.CopyFrom<float>(c);
        context.GemmBf16(transA, transB, m, n, k, alpha, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc);
        float[] result = new float[c.Length];
        dc.CopyTo<float>(result);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)BFloat16.Widen(transA ? a[p * lda + i] : a[i * lda + p]) * BFloat16.Widen(transB ? b[j * ldb + p] : b[p * ldb + j]);
                // FP32 accumulation of k = 9 products of magnitude ≤ 4: within a few float ulps of the exact sum.
                Assert.Equal(alpha * sum + beta * c[i * ldc + j], result[i * ldc + j], 2e-5);
            }
            for (int j = n; j < ldc; j++) Assert.Equal(c[i * ldc + j], result[i * ldc + j]);
        }
    }

    // A BF16 destination (an activation of a Bf16 session): beta·C reads the BF16 values, the FP32 sum is rounded once
    // to nearest even, bit for bit BFloat16.Round of the FP32 result, and the padding between rows is left alone.
    [Theory]
    [InlineData(false, false, 0.5f)]
    [InlineData(true, true, 0f)]
    public void GemmBf16_with_a_bf16_c_rounds_the_fp32_result_once(bool transA, bool transB, float beta)
    {
        const int m = 5, n = 7, k = 9;
        const float alpha = 1.5f;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;
        var random = new Random(6);
        ushort[] a = Enumerable.Range(0, aRows * lda).Select(_ => BFloat16.Round((float)random.NextDouble() * 4 - 2)).ToArray();
        ushort[] b = Enumerable.Range(0, bRows * ldb).Select(_ => BFloat16.Round((float)random.NextDouble() * 4 - 2)).ToArray();
        ushort[] c = Enumerable.Range(0, m * ldc).Select(_ => BFloat16.Round((float)random.NextDouble() - 0.5f)).ToArray();

        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable da = context.Allocate(2L * a.Length), db = context.Allocate(2L * b.Length), dc = context.Allocate(2L * c.Length);
        using DeviceVariable dc32 = context.Allocate(4L * c.Length);
        da.CopyFrom<ushort>(a);
        db.CopyFrom<ushort>(b);
        dc.CopyFrom<ushort>(c);
        dc32.CopyFrom<float>(c.Select(BFloat16.Widen).ToArray());
        context.GemmBf16(transA, transB, m, n, k, alpha, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc, bf16C: true);
        context.GemmBf16(transA, transB, m, n, k, alpha, da.Pointer, lda, db.Pointer, ldb, beta, dc32.Pointer, ldc); // the same product into FP32
        ushort[] result = new ushort[c.Length];
        dc.CopyTo<ushort>(result);
        float[] reference = new float[c.Length];
        dc32.CopyTo<float>(reference);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++) Assert.Equal(BFloat16.Round(reference[i * ldc + j]), result[i * ldc + j]);
            for (int j = n; j < ldc; j++) Assert.Equal(c[i * ldc + j], result[i * ldc + j]);
        }
        // C is checked at 2 bytes per element: one element short fails, naming C.
        using DeviceVariable shortC = context.Allocate(2L * ((m - 1) * ldc + n - 1));
        var error = Assert.Throws<CudaException>(() => context.GemmBf16(transA, transB, m, n, k, alpha, da.Pointer, lda, db.Pointer, ldb, 0f, shortC.Pointer, ldc, bf16C: true));
        Assert.Contains("Sgemm operand C", error.Message);
    }

    [Fact]
    public void GemmBf16_checks_its_operands_at_two_bytes_per_element()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable a = context.Allocate(2L * 16), b = context.Allocate(2L * 15), c = context.Allocate(4L * 16);
        var error = Assert.Throws<CudaException>(() => context.GemmBf16(false, false, 4, 4, 4, 1f, a.Pointer, 4, b.Pointer, 4, 0f, c.Pointer, 4));
        Assert.Contains("Sgemm operand B (4×4, leading dimension 4, 32 bytes", error.Message);
        context.GemmBf16(false, false, 4, 4, 4, 1f, a.Pointer, 4, a.Pointer, 4, 0f, c.Pointer, 4); // 32 bytes fit
    }

    [Fact]
    public void Tf32_rounds_the_sgemm_operands_and_switching_back_restores_fp32()
    {
        // 1 + 2^-12 is not a TF32 value (10 mantissa bits): in TF32 the product reads it as 1.
        float x = 1f + MathF.Pow(2, -12);
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable a = context.Allocate(4), b = context.Allocate(4), c = context.Allocate(4);
        a.CopyFrom<float>([x]);
        b.CopyFrom<float>([1f]);
        float[] result = new float[1];

        context.Tf32 = true;
        context.Sgemm(false, false, 1, 1, 1, 1f, a.Pointer, 1, b.Pointer, 1, 0f, c.Pointer, 1);
        c.CopyTo<float>(result);
        Assert.Equal(1f, result[0]);

        context.Tf32 = false;
        context.Sgemm(false, false, 1, 1, 1, 1f, a.Pointer, 1, b.Pointer, 1, 0f, c.Pointer, 1);
        c.CopyTo<float>(result);
        Assert.Equal(x, result[0]);
    }
}
