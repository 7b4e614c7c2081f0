using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime.Cpu;

public static unsafe partial class Sgemm
{
    /// <summary>
    /// The AVX-512 path: an 8×32 tile of C in 16 zmm accumulators (8 broadcasts of A and 2 loads of B per k step),
    /// panels 384 deep.
    /// </summary>
    /// <remarks>
    /// Shape and depth chosen with <c>SgemmBench</c> on a 2-core AMD EPYC (Zen 5: two 512-bit FMA pipes, 48 KB L1D, 1 MB L2),
    /// one thread, GFLOP/s at 1024³ NN / the MLP's 128×256×784 NT forward / 128×10×256:
    /// 8×32: 218–230 / 207–214 / 42; 6×64: 217–228 / 191 / 20; 8×48: 214 / – / –; 12×32: 208–221 / 190 / 35; 14×32: 203.
    /// (the AVX2 6×16 kernel: 113 / 103 / 31). The wider tiles hold more accumulators but waste more of a tile on the
    /// edges of the small multiplies a model makes (m = 128 is 16 panels of 8 but 10⅔ of 12), and 8 rows pack with whole
    /// 8×8 transposes. Depth 384 against 256: 217 against 207–215 at 1024³; 512 was slower (the 48 KB B panel leaves
    /// the L1). 16 accumulators cover the 4-cycle FMA latency of 2 pipes twice over.
    /// </remarks>
    internal struct Avx512Kernel : IMicroKernel
    {
        public static int MR => 8;
        public static int NR => 32;
        public static int KC => 384;
        public static int MC => 1536;
        public static int NC => 2048;
        public static bool DirectA => true;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Compute(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
        {
            Vector512<float> c0_0 = default, c0_1 = default;
            Vector512<float> c1_0 = default, c1_1 = default;
            Vector512<float> c2_0 = default, c2_1 = default;
            Vector512<float> c3_0 = default, c3_1 = default;
            Vector512<float> c4_0 = default, c4_1 = default;
            Vector512<float> c5_0 = default, c5_1 = default;
            Vector512<float> c6_0 = default, c6_1 = default;
            Vector512<float> c7_0 = default, c7_1 = default;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(b + 0);
                var b1 = Vector512.Load(b + 16);
                var a0 = Vector512.Create(a[0]);
                c0_0 = Avx512F.FusedMultiplyAdd(a0, b0, c0_0);
                c0_1 = Avx512F.FusedMultiplyAdd(a0, b1, c0_1);
                var a1 = Vector512.Create(a[1]);
                c1_0 = Avx512F.FusedMultiplyAdd(a1, b0, c1_0);
                c1_1 = Avx512F.FusedMultiplyAdd(a1, b1, c1_1);
                var a2 = Vector512.Create(a[2]);
                c2_0 = Avx512F.FusedMultiplyAdd(a2, b0, c2_0);
                c2_1 = Avx512F.FusedMultiplyAdd(a2, b1, c2_1);
                var a3 = Vector512.Create(a[3]);
                c3_0 = Avx512F.FusedMultiplyAdd(a3, b0, c3_0);
                c3_1 = Avx512F.FusedMultiplyAdd(a3, b1, c3_1);
                var a4 = Vector512.Create(a[4]);
                c4_0 = Avx512F.FusedMultiplyAdd(a4, b0, c4_0);
                c4_1 = Avx512F.FusedMultiplyAdd(a4, b1, c4_1);
                var a5 = Vector512.Create(a[5]);
                c5_0 = Avx512F.FusedMultiplyAdd(a5, b0, c5_0);
                c5_1 = Avx512F.FusedMultiplyAdd(a5, b1, c5_1);
                var a6 = Vector512.Create(a[6]);
                c6_0 = Avx512F.FusedMultiplyAdd(a6, b0, c6_0);
                c6_1 = Avx512F.FusedMultiplyAdd(a6, b1, c6_1);
                var a7 = Vector512.Create(a[7]);
                c7_0 = Avx512F.FusedMultiplyAdd(a7, b0, c7_0);
                c7_1 = Avx512F.FusedMultiplyAdd(a7, b1, c7_1);
                a += 8;
                b += 32;
            }
            var va = Vector512.Create(alpha);
            if (beta == 0f)
            {
                Vector512.Store(c0_0 * va, c + 0);
                Vector512.Store(c0_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c1_0 * va, c + 0);
                Vector512.Store(c1_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c2_0 * va, c + 0);
                Vector512.Store(c2_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c3_0 * va, c + 0);
                Vector512.Store(c3_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c4_0 * va, c + 0);
                Vector512.Store(c4_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c5_0 * va, c + 0);
                Vector512.Store(c5_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c6_0 * va, c + 0);
                Vector512.Store(c6_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c7_0 * va, c + 0);
                Vector512.Store(c7_1 * va, c + 16);
            }
            else
            {
                var vb = Vector512.Create(beta);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c1_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c2_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c3_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c4_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c5_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c6_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c7_1 * va), c + 16);
            }
        }

        /// <summary>
        /// As <see cref="Compute"/>, with A read where it lies (row-major, rows <paramref name="lda"/> apart) instead of
        /// from a packed panel: each k step broadcasts A[r, p] from row r's own pointer. Rows from <paramref name="rows"/>
        /// up repeat the last real row (their results are not stored by the caller).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void ComputeDirect(int kc, float* a, long lda, int rows, float* b, float* c, int ldc, float alpha, float beta)
        {
            float* a0 = a;
            float* a1 = rows > 1 ? a0 + lda : a0;
            float* a2 = rows > 2 ? a1 + lda : a1;
            float* a3 = rows > 3 ? a2 + lda : a2;
            float* a4 = rows > 4 ? a3 + lda : a3;
            float* a5 = rows > 5 ? a4 + lda : a4;
            float* a6 = rows > 6 ? a5 + lda : a5;
            float* a7 = rows > 7 ? a6 + lda : a6;
            Vector512<float> c0_0 = default, c0_1 = default;
            Vector512<float> c1_0 = default, c1_1 = default;
            Vector512<float> c2_0 = default, c2_1 = default;
            Vector512<float> c3_0 = default, c3_1 = default;
            Vector512<float> c4_0 = default, c4_1 = default;
            Vector512<float> c5_0 = default, c5_1 = default;
            Vector512<float> c6_0 = default, c6_1 = default;
            Vector512<float> c7_0 = default, c7_1 = default;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(b + 0);
                var b1 = Vector512.Load(b + 16);
                var x0 = Vector512.Create(a0[p]);
                c0_0 = Avx512F.FusedMultiplyAdd(x0, b0, c0_0);
                c0_1 = Avx512F.FusedMultiplyAdd(x0, b1, c0_1);
                var x1 = Vector512.Create(a1[p]);
                c1_0 = Avx512F.FusedMultiplyAdd(x1, b0, c1_0);
                c1_1 = Avx512F.FusedMultiplyAdd(x1, b1, c1_1);
                var x2 = Vector512.Create(a2[p]);
                c2_0 = Avx512F.FusedMultiplyAdd(x2, b0, c2_0);
                c2_1 = Avx512F.FusedMultiplyAdd(x2, b1, c2_1);
                var x3 = Vector512.Create(a3[p]);
                c3_0 = Avx512F.FusedMultiplyAdd(x3, b0, c3_0);
                c3_1 = Avx512F.FusedMultiplyAdd(x3, b1, c3_1);
                var x4 = Vector512.Create(a4[p]);
                c4_0 = Avx512F.FusedMultiplyAdd(x4, b0, c4_0);
                c4_1 = Avx512F.FusedMultiplyAdd(x4, b1, c4_1);
                var x5 = Vector512.Create(a5[p]);
                c5_0 = Avx512F.FusedMultiplyAdd(x5, b0, c5_0);
                c5_1 = Avx512F.FusedMultiplyAdd(x5, b1, c5_1);
                var x6 = Vector512.Create(a6[p]);
                c6_0 = Avx512F.FusedMultiplyAdd(x6, b0, c6_0);
                c6_1 = Avx512F.FusedMultiplyAdd(x6, b1, c6_1);
                var x7 = Vector512.Create(a7[p]);
                c7_0 = Avx512F.FusedMultiplyAdd(x7, b0, c7_0);
                c7_1 = Avx512F.FusedMultiplyAdd(x7, b1, c7_1);
                b += 32;
            }
            var va = Vector512.Create(alpha);
            if (beta == 0f)
            {
                Vector512.Store(c0_0 * va, c + 0);
                Vector512.Store(c0_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c1_0 * va, c + 0);
                Vector512.Store(c1_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c2_0 * va, c + 0);
                Vector512.Store(c2_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c3_0 * va, c + 0);
                Vector512.Store(c3_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c4_0 * va, c + 0);
                Vector512.Store(c4_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c5_0 * va, c + 0);
                Vector512.Store(c5_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c6_0 * va, c + 0);
                Vector512.Store(c6_1 * va, c + 16);
                c += ldc;
                Vector512.Store(c7_0 * va, c + 0);
                Vector512.Store(c7_1 * va, c + 16);
            }
            else
            {
                var vb = Vector512.Create(beta);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c1_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c2_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c3_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c4_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c5_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c6_1 * va), c + 16);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c7_1 * va), c + 16);
            }
        }

    }

    /// <summary>
    /// The AVX-512 path for multiplies at most 16 columns wide (a classifier's 10 logits): an 8×16 tile in 8 zmm
    /// accumulators, so a 10-wide C does not run the 32-wide kernel on two-thirds padding.
    /// </summary>
    /// <remarks>128×10×256 (the MLP's output layer): 43 GFLOP/s with the 8×32 kernel, see <see cref="NarrowColumns"/>.</remarks>
    internal struct Avx512NarrowKernel : IMicroKernel
    {
        public static int MR => 8;
        public static int NR => 16;
        public static int KC => 384;
        public static int MC => 1536;
        public static int NC => 2048;
        public static bool DirectA => false;
        public static void ComputeDirect(int kc, float* a, long lda, int rows, float* b, float* c, int ldc, float alpha, float beta) =>
            throw new System.NotSupportedException();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Compute(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
        {
            Vector512<float> c0_0 = default;
            Vector512<float> c1_0 = default;
            Vector512<float> c2_0 = default;
            Vector512<float> c3_0 = default;
            Vector512<float> c4_0 = default;
            Vector512<float> c5_0 = default;
            Vector512<float> c6_0 = default;
            Vector512<float> c7_0 = default;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(b + 0);
                var a0 = Vector512.Create(a[0]);
                c0_0 = Avx512F.FusedMultiplyAdd(a0, b0, c0_0);
                var a1 = Vector512.Create(a[1]);
                c1_0 = Avx512F.FusedMultiplyAdd(a1, b0, c1_0);
                var a2 = Vector512.Create(a[2]);
                c2_0 = Avx512F.FusedMultiplyAdd(a2, b0, c2_0);
                var a3 = Vector512.Create(a[3]);
                c3_0 = Avx512F.FusedMultiplyAdd(a3, b0, c3_0);
                var a4 = Vector512.Create(a[4]);
                c4_0 = Avx512F.FusedMultiplyAdd(a4, b0, c4_0);
                var a5 = Vector512.Create(a[5]);
                c5_0 = Avx512F.FusedMultiplyAdd(a5, b0, c5_0);
                var a6 = Vector512.Create(a[6]);
                c6_0 = Avx512F.FusedMultiplyAdd(a6, b0, c6_0);
                var a7 = Vector512.Create(a[7]);
                c7_0 = Avx512F.FusedMultiplyAdd(a7, b0, c7_0);
                a += 8;
                b += 16;
            }
            var va = Vector512.Create(alpha);
            if (beta == 0f)
            {
                Vector512.Store(c0_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c1_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c2_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c3_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c4_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c5_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c6_0 * va, c + 0);
                c += ldc;
                Vector512.Store(c7_0 * va, c + 0);
            }
            else
            {
                var vb = Vector512.Create(beta);
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
                c += ldc;
                Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
            }
        }
    }
}
