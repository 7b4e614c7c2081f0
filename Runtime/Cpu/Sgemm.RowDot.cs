using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu;

public static unsafe partial class Sgemm
{
    /// <summary>The most rows of op(A) the dot-product path takes (<see cref="RowDot"/>).</summary>
    internal const int RowDotMaxRows = 2;

    /// <summary>
    /// <c>C = alpha·A·Bᵀ + beta·C</c> for one or two rows of A (a dense layer's forward at batch 1 or 2) as dot products
    /// of contiguous rows, without packing.
    /// </summary>
    /// <remarks>
    /// The blocked path packs all of B (the weights, n×k) for every call and pads the rows of A to the micro-kernel's 6,
    /// so at batch 1 it spends most of its time packing and 5/6 of its multiply-adds on padding (profile in
    /// docs/benchmarks.md, "Predict against ONNX Runtime"). Here each B row is read once, straight from where it lies,
    /// against the A rows held in L1: a matrix-vector product, bound by reading B. Four B rows at a time give the FMAs
    /// independent accumulators (one accumulator would wait out the FMA latency on every step).
    /// <para>It sums each product 8 lanes at a time, not in the blocked path's k order, so a row's result differs from
    /// the same row computed in a larger batch by rounding (about 1e-7 relative); from 3 rows up, a row's result does
    /// not depend on the batch at all (tests/Generator.Tests TrainingBehaviourTests, partial batches).</para>
    /// </remarks>
    private static void RowDot(SgemmPath path, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            float* ai = a + (long)i * lda;
            float* ci = c + (long)i * ldc;
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                float* b0 = b + (long)j * ldb;
                Dot4(path, ai, b0, b0 + ldb, b0 + 2L * ldb, b0 + 3L * ldb, k, out float d0, out float d1, out float d2, out float d3);
                Store(ci + j, alpha * d0, beta);
                Store(ci + j + 1, alpha * d1, beta);
                Store(ci + j + 2, alpha * d2, beta);
                Store(ci + j + 3, alpha * d3, beta);
            }
            for (; j < n; j++)
            {
                float* bj = b + (long)j * ldb;
                Dot4(path, ai, bj, bj, bj, bj, k, out float d, out _, out _, out _);
                Store(ci + j, alpha * d, beta);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float value, float beta) => *c = beta == 0f ? value : value + beta * *c;

    /// <summary>The dot products of <paramref name="x"/> with four rows (which may repeat), 16 or 8 lanes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4(SgemmPath path, float* x, float* r0, float* r1, float* r2, float* r3, int k, out float d0, out float d1, out float d2, out float d3)
    {
        if (path == SgemmPath.Avx512) Dot4x16(x, r0, r1, r2, r3, k, out d0, out d1, out d2, out d3);
        else Dot4x8(x, r0, r1, r2, r3, k, out d0, out d1, out d2, out d3);
    }

    private static void Dot4x16(float* x, float* r0, float* r1, float* r2, float* r3, int k, out float d0, out float d1, out float d2, out float d3)
    {
        var s0 = Vector512<float>.Zero;
        var s1 = Vector512<float>.Zero;
        var s2 = Vector512<float>.Zero;
        var s3 = Vector512<float>.Zero;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var xv = Vector512.Load(x + p);
            s0 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(r0 + p), s0);
            s1 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(r1 + p), s1);
            s2 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(r2 + p), s2);
            s3 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(r3 + p), s3);
        }
        d0 = Vector512.Sum(s0);
        d1 = Vector512.Sum(s1);
        d2 = Vector512.Sum(s2);
        d3 = Vector512.Sum(s3);
        for (; p < k; p++)
        {
            float xp = x[p];
            d0 += xp * r0[p];
            d1 += xp * r1[p];
            d2 += xp * r2[p];
            d3 += xp * r3[p];
        }
    }

    private static void Dot4x8(float* x, float* r0, float* r1, float* r2, float* r3, int k, out float d0, out float d1, out float d2, out float d3)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        var s2 = Vector256<float>.Zero;
        var s3 = Vector256<float>.Zero;
        int p = 0;
        for (; p + 8 <= k; p += 8)
        {
            var xv = Vector256.Load(x + p);
            s0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(r0 + p), s0);
            s1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(r1 + p), s1);
            s2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(r2 + p), s2);
            s3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(r3 + p), s3);
        }
        d0 = Vector256.Sum(s0);
        d1 = Vector256.Sum(s1);
        d2 = Vector256.Sum(s2);
        d3 = Vector256.Sum(s3);
        for (; p < k; p++)
        {
            float xp = x[p];
            d0 += xp * r0[p];
            d1 += xp * r1[p];
            d2 += xp * r2[p];
            d3 += xp * r3[p];
        }
    }
}
