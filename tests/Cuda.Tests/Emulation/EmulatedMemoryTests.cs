using System;
using System.Linq;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>Emulated device memory: copies, clears, range checks, Sgemm against a naive product, and the strided batch against Sgemm.</summary>
public sealed class EmulatedMemoryTests
{
    [Fact]
    public void CopyFromAndCopyTo_RoundTrip()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable variable = context.Allocate(100 * 4);
        Assert.Equal(new float[100], Download(variable));  // zeroed
        Assert.Equal(0ul, variable.Pointer.Address % 256);

        float[] values = Enumerable.Range(0, 100).Select(i => i * 0.5f).ToArray();
        variable.CopyFrom<float>(values);
        Assert.Equal(values, Download(variable));

        variable.CopyFrom<int>(new[] { 7, 8, 9 }, offset: 97);
        var tail = new int[3];
        variable.CopyTo<int>(tail, offset: 97);
        Assert.Equal(new[] { 7, 8, 9 }, tail);

        variable.Clear();
        Assert.Equal(new float[100], Download(variable));
    }

    [Fact]
    public void CopyOutsideTheAllocation_Throws()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable variable = context.Allocate(10 * 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => variable.CopyFrom<float>(new float[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => variable.CopyTo<float>(new float[3], offset: 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => variable.CopyFrom<float>(new float[1], offset: -1));
    }

    [Fact]
    public void DisposedVariableAndContext_AreRejected()
    {
        GpuContext context = GpuContext.OpenEmulated();
        DeviceVariable variable = context.Allocate(16);
        DeviceVariable forgotten = context.Allocate(16);
        variable.Dispose();
        variable.Dispose();  // a second Dispose does nothing
        Assert.Throws<ObjectDisposedException>(() => variable.CopyFrom<float>(new float[1]));

        context.Dispose();  // frees forgotten's memory
        Assert.Throws<ObjectDisposedException>(() => forgotten.CopyFrom<float>(new float[1]));
        forgotten.Dispose();  // already freed with the context: nothing to do
        Assert.Throws<ObjectDisposedException>(() => context.Allocate(4));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Sgemm_MatchesNaiveProduct(bool transA, bool transB)
    {
        const int m = 5, n = 7, k = 3;
        const float alpha = 1.5f, beta = 0.5f;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;  // padded rows: leading dimensions are row strides
        var random = new Random(11);
        float[] a = Enumerable.Range(0, aRows * lda).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, bRows * ldb).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] c = Enumerable.Range(0, m * ldc).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();

        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, c);
        context.Sgemm(transA, transB, m, n, k, alpha, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc);
        float[] result = Download(dc);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                Assert.Equal(alpha * sum + beta * c[i * ldc + j], result[i * ldc + j], 1e-5);
            }
            for (int j = n; j < ldc; j++) Assert.Equal(c[i * ldc + j], result[i * ldc + j]);  // padding untouched
        }
    }

    [Fact]
    public void Sgemm_OperandOutsideItsAllocation_Throws()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable a = context.Allocate(4 * 4 * 4), b = context.Allocate(4 * 4 * 4), c = context.Allocate(4 * 3 * 4);
        var error = Assert.Throws<CudaException>(() => context.Sgemm(false, false, 4, 4, 4, 1f, a.Pointer, 4, b.Pointer, 4, 0f, c.Pointer, 4));
        Assert.Contains("Sgemm operand C (4×4, leading dimension 4, 64 bytes", error.Message);
        Assert.Contains("outside the device allocation", error.Message);
    }

    [Fact]
    public void SgemmStridedBatched_EqualsOneSgemmPerMatrix_WithASharedA()
    {
        const int m = 4, n = 6, k = 5, batch = 3;
        const long strideB = k * n + 2, strideC = m * n + 1;
        var random = new Random(12);
        float[] Values(long count) => Enumerable.Range(0, (int)count).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] a = Values(m * k), b = Values(strideB * batch), c = Values(strideC * batch);

        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable da = Upload(context, a), db = Upload(context, b), batched = Upload(context, c), single = Upload(context, c);
        context.SgemmStridedBatched(false, false, m, n, k, 1.5f, da.Pointer, k, 0, db.Pointer, n, strideB, 0.5f, batched.Pointer, n, strideC, batch);
        for (int i = 0; i < batch; i++)
            context.Sgemm(false, false, m, n, k, 1.5f, da.Pointer, k, db.Pointer.Plus(i * strideB), n, 0.5f, single.Pointer.Plus(i * strideC), n);

        Assert.Equal(Download(single), Download(batched));
        Assert.NotEqual(c, Download(batched));
    }

    [Fact]
    public void SgemmStridedBatched_StrideBeyondItsAllocation_NamesTheOperand_AndOverlappingOutputsAreRefused()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable a = context.Allocate(4 * 4 * 4), b = context.Allocate(2 * 16 * 4), c = context.Allocate(2 * 16 * 4);

        var error = Assert.Throws<CudaException>(() => context.SgemmStridedBatched(false, false, 4, 4, 4, 1f, a.Pointer, 4, 16, b.Pointer, 4, 16, 0f, c.Pointer, 4, 16, 2));
        Assert.Contains("Sgemm operand A (4×4, leading dimension 4, 64 bytes", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmStridedBatched(false, false, 4, 4, 4, 1f, a.Pointer, 4, 0, b.Pointer, 4, 16, 0f, c.Pointer, 4, 15, 2));
        context.SgemmStridedBatched(false, false, 4, 4, 4, 1f, a.Pointer, 4, 0, b.Pointer, 4, 16, 0f, c.Pointer, 4, 16, 2);
    }

    private static DeviceVariable Upload(GpuContext context, float[] values)
    {
        DeviceVariable variable = context.Allocate(values.Length * 4);
        variable.CopyFrom<float>(values);
        return variable;
    }

    private static float[] Download(DeviceVariable variable)
    {
        var values = new float[variable.Length];
        variable.CopyTo<float>(values);
        return values;
    }
}
