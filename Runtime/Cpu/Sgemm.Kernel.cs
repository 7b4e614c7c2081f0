using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime.Cpu;

public static unsafe partial class Sgemm
{
    /// <summary>
    /// A register-blocked micro-kernel and the blocking it is tuned with: <c>C[0..MR, 0..NR] = alpha·(Apanel·Bpanel) + beta·C</c>
    /// over packed panels (A: MR values per k step, B: NR values per k step); beta = 0 never reads C.
    /// </summary>
    /// <remarks>Implemented by structs so the blocked loop and the packing are compiled once per kernel with MR, NR and
    /// the block sizes as constants.</remarks>
    internal interface IMicroKernel
    {
        static abstract int MR { get; }
        static abstract int NR { get; }
        /// <summary>Depth of a packed panel (k values per block).</summary>
        static abstract int KC { get; }
        /// <summary>Rows of op(A) packed per outer block (multiple of MR).</summary>
        static abstract int MC { get; }
        /// <summary>Columns of op(B) packed per outer block (multiple of NR).</summary>
        static abstract int NC { get; }
        static abstract void Compute(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta);
        /// <summary>Whether <see cref="ComputeDirect"/> exists: the kernel can read an untransposed A in place, unpacked.</summary>
        static abstract bool DirectA { get; }
        /// <summary>As <see cref="Compute"/>, A read in place (row-major, <paramref name="lda"/> apart; <paramref name="rows"/> real rows).</summary>
        static abstract void ComputeDirect(int kc, float* a, long lda, int rows, float* b, float* c, int ldc, float alpha, float beta);
    }

    /// <summary>The AVX2/FMA path: a 6×16 tile in 12 ymm accumulators.</summary>
    internal struct Avx2Kernel : IMicroKernel
    {
        public static int MR => 6;
        public static int NR => 16;
        public static int KC => 256;
        public static int MC => 1536;
        public static int NC => 2048;
        public static bool DirectA => false;
        public static void ComputeDirect(int kc, float* a, long lda, int rows, float* b, float* c, int ldc, float alpha, float beta) =>
            throw new System.NotSupportedException();

        public static void Compute(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta) =>
            KernelFma(kc, a, b, c, ldc, alpha, beta);
    }

    /// <summary>The path for CPUs without AVX2/FMA (for example Arm64): the same 6×16 blocking, plain scalar code.</summary>
    internal struct PortableKernel : IMicroKernel
    {
        public static int MR => 6;
        public static int NR => 16;
        public static int KC => 256;
        public static int MC => 1536;
        public static int NC => 2048;
        public static bool DirectA => false;
        public static void ComputeDirect(int kc, float* a, long lda, int rows, float* b, float* c, int ldc, float alpha, float beta) =>
            throw new System.NotSupportedException();

        public static void Compute(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta) =>
            KernelPortable(kc, a, b, c, ldc, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelFma(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        const int MR = 6, NR = 16;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += NR;
        }

        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Avx.Store(c, Avx.Multiply(c00, va)); Avx.Store(c + 8, Avx.Multiply(c01, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c10, va)); Avx.Store(c + 8, Avx.Multiply(c11, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c20, va)); Avx.Store(c + 8, Avx.Multiply(c21, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c30, va)); Avx.Store(c + 8, Avx.Multiply(c31, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c40, va)); Avx.Store(c + 8, Avx.Multiply(c41, va)); c += ldc;
            Avx.Store(c, Avx.Multiply(c50, va)); Avx.Store(c + 8, Avx.Multiply(c51, va));
        }
        else
        {
            var vb = Vector256.Create(beta);
            StoreRow(c, c00, c01, va, vb); c += ldc;
            StoreRow(c, c10, c11, va, vb); c += ldc;
            StoreRow(c, c20, c21, va, vb); c += ldc;
            StoreRow(c, c30, c31, va, vb); c += ldc;
            StoreRow(c, c40, c41, va, vb); c += ldc;
            StoreRow(c, c50, c51, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Avx.Store(c, Fma.MultiplyAdd(Avx.LoadVector256(c), vb, Avx.Multiply(x0, va)));
        Avx.Store(c + 8, Fma.MultiplyAdd(Avx.LoadVector256(c + 8), vb, Avx.Multiply(x1, va)));
    }

    private static void KernelPortable(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        const int MR = 6, NR = 16;
        float* acc = stackalloc float[MR * NR];
        for (int i = 0; i < MR * NR; i++) acc[i] = 0f;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < MR; r++)
            {
                float ar = a[r];
                float* row = acc + r * NR;
                for (int j = 0; j < NR; j++) row[j] += ar * b[j];
            }
            a += MR;
            b += NR;
        }
        for (int r = 0; r < MR; r++)
        {
            float* dst = c + (long)r * ldc;
            float* src = acc + r * NR;
            if (beta == 0f)
                for (int j = 0; j < NR; j++) dst[j] = alpha * src[j];
            else
                for (int j = 0; j < NR; j++) dst[j] = alpha * src[j] + beta * dst[j];
        }
    }
}
