using System;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>
/// The row-major → cuBLAS mapping, checked without a GPU: a reference column-major BLAS GEMM run on the mapped
/// arguments must give the CPU backend's row-major result, for every transpose combination and padded strides.
/// </summary>
public class SgemmMappingTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void FromRowMajor_ThenColumnMajorBlas_EqualsCpuSgemm(bool transA, bool transB)
    {
        const int m = 5, n = 7, k = 3;
        int lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
        float[] a = Random(1, (transA ? k : m) * lda);
        float[] b = Random(2, (transB ? n : k) * ldb);
        float[] c = Random(3, m * ldc);
        float[] expected = (float[])c.Clone();
        ModelDsl.Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, 1.5f, a, lda, b, ldb, 0.5f, expected, ldc, maxThreads: 1);

        // Device "addresses" 1, 2, 3 stand for a, b, c.
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, new DevicePointer(1), lda, new DevicePointer(2), ldb, new DevicePointer(3), ldc);
        float[] Operand(DevicePointer p) => p.Address switch { 1 => a, 2 => b, _ => throw new InvalidOperationException() };
        float[] actual = (float[])c.Clone();
        Assert.Equal(3UL, g.C.Address);
        ColumnMajorSgemm(g.TransA, g.TransB, g.M, g.N, g.K, 1.5f, Operand(g.A), g.Lda, Operand(g.B), g.Ldb, 0.5f, actual, g.Ldc);

        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
    }

    [Fact]
    public void FromRowMajor_SwapsOperandsAndDimensionsAndKeepsFlagsWithTheirMatrix()
    {
        var g = ColumnMajorGemm.FromRowMajor(true, false, 2, 3, 4, new DevicePointer(0xA), 2, new DevicePointer(0xB), 3, new DevicePointer(0xC), 3);

        Assert.Equal(new ColumnMajorGemm(cublasOperation_t.CUBLAS_OP_N, cublasOperation_t.CUBLAS_OP_T, 3, 2, 4,
            new DevicePointer(0xB), 3, new DevicePointer(0xA), 2, new DevicePointer(0xC), 3), g);
    }

    [Fact]
    public void FromRowMajor_StridedBatch_MovesEachStrideWithItsOperand()
    {
        var g = ColumnMajorGemm.FromRowMajor(false, true, 2, 3, 4, new DevicePointer(0xA), 4, 0, new DevicePointer(0xB), 4, 12, new DevicePointer(0xC), 3, 6);

        Assert.Equal(new ColumnMajorGemm(cublasOperation_t.CUBLAS_OP_T, cublasOperation_t.CUBLAS_OP_N, 3, 2, 4,
            new DevicePointer(0xB), 4, new DevicePointer(0xA), 4, new DevicePointer(0xC), 3, StrideA: 12, StrideB: 0, StrideC: 6), g);
    }

    // The BLAS definition cuBLAS implements: column-major, op(A) m×k, op(B) k×n, C m×n.
    private static void ColumnMajorSgemm(cublasOperation_t transA, cublasOperation_t transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        bool ta = transA == cublasOperation_t.CUBLAS_OP_T, tb = transB == cublasOperation_t.CUBLAS_OP_T;
        Assert.True(lda >= Math.Max(1, ta ? k : m) && ldb >= Math.Max(1, tb ? n : k) && ldc >= Math.Max(1, m), "cuBLAS would reject these leading dimensions");
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int l = 0; l < k; l++)
                    sum += (double)(ta ? a[l + i * lda] : a[i + l * lda]) * (tb ? b[j + l * ldb] : b[l + j * ldb]);
                c[i + j * ldc] = (float)(alpha * sum + beta * c[i + j * ldc]);
            }
    }

    private static float[] Random(int seed, int length)
    {
        var random = new System.Random(seed);
        float[] values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
