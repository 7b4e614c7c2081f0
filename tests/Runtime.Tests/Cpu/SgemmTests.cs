using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

public class SgemmTests
{
    /// <summary>Builds op(A) (m×k) and op(B) (k×n) storage with the given leading-dimension padding.</summary>
    private static (float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc) Make(
        bool transA, bool transB, int m, int n, int k, int pad, int seed, float cFill = float.NaN)
    {
        var rng = new Random(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = new float[Math.Max(1, aRows * lda)];
        var b = new float[Math.Max(1, bRows * ldb)];
        var c = new float[Math.Max(1, m * ldc)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < c.Length; i++) c[i] = float.IsNaN(cFill) ? (float)(rng.NextDouble() * 2 - 1) : cFill;
        return (a, lda, b, ldb, c, ldc);
    }

    private static double[] Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transA ? a[p * lda + i] : a[i * lda + p];
                    double bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                r[i * n + j] = alpha * s + (beta == 0f ? 0 : beta * (double)c[i * ldc + j]);
            }
        return r;
    }

    private static void Check(bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, int threads, int seed = 1)
        => Check(Sgemm.ActivePath, transA, transB, m, n, k, alpha, beta, pad, threads, seed);

    private static void Check(SgemmPath path, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, int threads, int seed = 1)
    {
        var (a, lda, b, ldb, c, ldc) = Make(transA, transB, m, n, k, pad, seed);
        var expected = Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        var padding = (float[])c.Clone();
        Sgemm.Multiply(path, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
        double tol = 1e-5 * (k + 4) * (Math.Abs(alpha) + Math.Abs(beta) + 1);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double diff = Math.Abs(c[i * ldc + j] - expected[i * n + j]);
                Assert.True(diff <= tol, $"{path} ({transA},{transB}) {m}x{n}x{k} alpha={alpha} beta={beta} pad={pad} threads={threads}: C[{i},{j}]={c[i * ldc + j]} expected {expected[i * n + j]} (tol {tol})");
            }
            for (int j = n; j < ldc; j++)
                Assert.Equal(padding[i * ldc + j], c[i * ldc + j]); // padding columns untouched
        }
    }

    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    /// <summary>
    /// Every kernel path this machine runs: AVX-512 where it is accelerated, AVX2 where AVX2 and FMA are (so an AVX-512
    /// machine tests both, and CI on a machine without AVX-512 still tests AVX2), and the portable one always.
    /// </summary>
    public static IEnumerable<SgemmPath> SupportedPaths =>
        Enum.GetValues<SgemmPath>().Where(Sgemm.IsSupported);

    /// <summary>Every supported path with every combination of transposes.</summary>
    public static TheoryData<SgemmPath, bool, bool> PathsAndTransposes
    {
        get
        {
            var data = new TheoryData<SgemmPath, bool, bool>();
            foreach (var path in SupportedPaths)
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        data.Add(path, ta, tb);
            return data;
        }
    }

    [Fact]
    public void EveryPathThisCpuHasIsTested()
    {
        // Guards the theories above against silently running fewer paths than the machine has.
        var paths = SupportedPaths.ToList();
        Assert.Contains(SgemmPath.Portable, paths);
        Assert.Equal(Avx2.IsSupported && Fma.IsSupported, paths.Contains(SgemmPath.Avx2));
        Assert.Equal(Avx512F.IsSupported && Vector512.IsHardwareAccelerated, paths.Contains(SgemmPath.Avx512));
        Assert.Contains(Sgemm.ActivePath, paths);
    }

    [Fact]
    public void IsaVariableCapsThePath()
    {
        var widest = Sgemm.SelectPath(null);
        Assert.Equal(widest, Sgemm.SelectPath(""));
        Assert.Equal(widest, Sgemm.SelectPath("AVX512"));
        Assert.Equal(SupportedPaths.Max(), widest);
        Assert.Equal(Sgemm.IsSupported(SgemmPath.Avx2) ? SgemmPath.Avx2 : SgemmPath.Portable, Sgemm.SelectPath("avx2"));
        Assert.Equal(SgemmPath.Portable, Sgemm.SelectPath("portable"));
        var error = Assert.Throws<InvalidOperationException>(() => Sgemm.SelectPath("avx1024"));
        Assert.Contains("MODELDSL_CPU_ISA='avx1024'", error.Message);
        // The process's path is what the variable (if any) selects.
        Assert.Equal(Sgemm.SelectPath(Environment.GetEnvironmentVariable(Sgemm.IsaVariable)), Sgemm.ActivePath);
    }

    [Fact]
    public void UnsupportedPathIsRefused()
    {
        foreach (var path in Enum.GetValues<SgemmPath>().Where(p => !Sgemm.IsSupported(p)))
        {
            var buf = new float[16];
            Assert.Throws<PlatformNotSupportedException>(() => Sgemm.Multiply(path, false, false, 4, 4, 1, 1f, buf, 1, buf, 4, 0f, buf, 4));
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void SmallAndOddSizes(SgemmPath path, bool transA, bool transB)
    {
        // Around the kernels' tiles (6×16, 8×32, 8×16 up to 16 columns) and panel depths (256, 384): full tiles, one row or
        // column over, edges.
        int[][] shapes =
        {
            new[] { 1, 1, 1 }, new[] { 7, 13, 5 }, new[] { 6, 16, 8 }, new[] { 5, 17, 9 }, new[] { 13, 31, 257 }, new[] { 2, 3, 600 },
            new[] { 8, 32, 384 }, new[] { 9, 33, 385 }, new[] { 16, 64, 17 }, new[] { 17, 65, 769 }, new[] { 3, 40, 31 },
            new[] { 128, 10, 256 }, new[] { 9, 16, 385 }, new[] { 17, 15, 40 },
        };
        foreach (var s in shapes)
            foreach (int threads in new[] { 1, 2 })
                Check(path, transA, transB, s[0], s[1], s[2], 1f, 0f, 0, threads);
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void MediumPrimeSizesWithLeadingDimensions(SgemmPath path, bool transA, bool transB)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            Check(path, transA, transB, 129, 67, 255, 1f, 0f, 3, threads);
            Check(path, transA, transB, 129, 67, 255, 0.5f, 1f, 5, threads);
            Check(path, transA, transB, 67, 129, 97, -1.5f, 0.25f, 1, threads, seed: 7);
        }
    }

    /// <summary>
    /// One or two rows of A against Bᵀ take the dot-product path (a dense forward at batch 1 or 2): n not a multiple of
    /// its 4-row blocks, k not a multiple of 8, padded leading dimensions, alpha and beta, and 3 rows for the blocked
    /// path beside it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void FewRowsAgainstTransposedB(SgemmPath path)
    {
        foreach (int m in new[] { 1, 2, 3 })
        {
            Check(path, false, true, m, 256, 784, 1f, 0f, 0, threads: 1);
            Check(path, false, true, m, 10, 256, 1f, 0f, 0, threads: 1);
            Check(path, false, true, m, 7, 13, -0.5f, 0.75f, 3, threads: 2, seed: 5);
            Check(path, false, true, m, 1, 1, 2f, 1f, 1, threads: 1, seed: 6);
            Check(path, false, true, m, 5, 33, 1f, 0f, 2, threads: 1, seed: 8); // k: two 16-lane blocks and a tail
        }
    }

    public static TheoryData<SgemmPath> Paths => new(SupportedPaths);

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void LargeSizes(SgemmPath path, bool transA, bool transB)
    {
        foreach (int threads in new[] { 1, 2 })
            Check(path, transA, transB, 300, 500, 700, 1f, 1f, 0, threads, seed: 3);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BlocksLargerThanOnePackingPanel(SgemmPath path)
    {
        // m > MC and n > NC exercise the outer blocking loops.
        foreach (int threads in new[] { 1, 2 })
            Check(path, false, true, 1600, 2100, 20, 1f, 0f, 0, threads, seed: 11);
    }

    [Fact]
    public void SmallMultipliesRunOnTheCallerAlone()
    {
        // The GEMMs of a 10-64-64-1 step at batch 32 and of the MLP forward at batch 1 and 8: below 2 × MinMacsPerThread.
        Assert.Equal(1, Sgemm.ThreadsFor(32, 64, 64, maxThreads: 2));
        Assert.Equal(1, Sgemm.ThreadsFor(64, 64, 32, maxThreads: 2));
        Assert.Equal(1, Sgemm.ThreadsFor(1, 256, 784, maxThreads: 2));
        Assert.Equal(1, Sgemm.ThreadsFor(8, 256, 784, maxThreads: 0));
        Assert.Equal(1, Sgemm.ThreadsFor(127, 128, 128, maxThreads: 0));
        // One thread per MinMacsPerThread at most, and never more than allowed.
        int pool = CpuWorkers.ThreadCount;
        Assert.Equal(Math.Min(2, pool), Sgemm.ThreadsFor(128, 128, 128, maxThreads: 16)); // exactly 2 × 2²⁰
        Assert.Equal(Math.Min(3, pool), Sgemm.ThreadsFor(128, 256, 100, maxThreads: 0)); // 3.1 × 2²⁰
        Assert.Equal(Math.Min(2, pool), Sgemm.ThreadsFor(128, 256, 256, maxThreads: 2));
        Assert.Equal(pool, Sgemm.ThreadsFor(1024, 1024, 1024, maxThreads: 0));
        Assert.Equal(1, Sgemm.ThreadsFor(1024, 1024, 1024, maxThreads: 1));
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void BetaZeroIgnoresNaNInC(SgemmPath path, bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (7, 13, 5), (64, 64, 64), (129, 67, 255) })
        {
            var (a, lda, b, ldb, c, ldc) = Make(transA, transB, m, n, k, 0, 5, cFill: float.NaN);
            Array.Fill(c, float.NaN);
            Sgemm.Multiply(path, transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
            Assert.DoesNotContain(c, float.IsNaN);
        }
    }

    [Fact]
    public void ZeroKScalesC()
    {
        var c = new float[] { 1, 2, 3, 4, float.NaN, 6 };
        Sgemm.Multiply(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 0f, c, 3);
        Assert.All(c, v => Assert.Equal(0f, v));
        var d = new float[] { 1, 2, 3, 4, 5, 6 };
        Sgemm.Multiply(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 2f, d, 3);
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12 }, d);
    }

    [Fact]
    public void SpanOverloadHonoursOffsets()
    {
        int m = 9, n = 11, k = 10;
        var (a, lda, b, ldb, c, ldc) = Make(false, true, m, n, k, 0, 9);
        var expected = Reference(false, true, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
        var aOff = new float[a.Length + 5]; Array.Copy(a, 0, aOff, 5, a.Length);
        var cOff = new float[c.Length + 3];
        Sgemm.Multiply(false, true, m, n, k, 1f, aOff.AsSpan(5), lda, b, ldb, 0f, cOff.AsSpan(3), ldc);
        for (int i = 0; i < m * n; i++) Assert.True(Math.Abs(cOff[3 + i] - expected[i]) < 1e-4);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var buf = new float[100];
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 4, 4, 4, 1f, buf, 3, buf, 4, 0f, buf, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, true, 4, 4, 4, 1f, buf, 4, buf, 3, 0f, buf, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, -1, 4, 4, 1f, buf, 4, buf, 4, 0f, buf, 4));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 8, 8, 8, 1f, new float[63], 8, buf, 8, 0f, buf, 8));
    }
}
