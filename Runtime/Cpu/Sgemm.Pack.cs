using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime.Cpu;

public static unsafe partial class Sgemm
{
    /// <summary>
    /// Packs rows [row, row+mr) (relative to the block's first row) of op(A), columns [Pc, Pc+Kc), into one
    /// micro-panel: MR values per k step, rows past mr zero-filled.
    /// </summary>
    private static void PackA(GemmArgs* g, int row, int mr, float* dst)
    {
        int kc = g->Kc, lda = g->Lda;
        int i0 = g->Ic + row;
        if (g->TransA)
        {
            // op(A)[i, p] = A[p, i]: each k step reads mr contiguous values.
            float* src = g->A + (long)g->Pc * lda + i0;
            if (mr == MR)
            {
                for (int p = 0; p < kc; p++, src += lda, dst += MR)
                {
                    dst[0] = src[0]; dst[1] = src[1]; dst[2] = src[2];
                    dst[3] = src[3]; dst[4] = src[4]; dst[5] = src[5];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, src += lda, dst += MR)
                {
                    int r = 0;
                    for (; r < mr; r++) dst[r] = src[r];
                    for (; r < MR; r++) dst[r] = 0f;
                }
            }
            return;
        }

        // op(A)[i, p] = A[i, p]: rows are contiguous along k; transpose 8×8 blocks (rows 6 and 7 are dummies).
        float* s = g->A + (long)i0 * lda + g->Pc;
        int pStart = 0;
        if (mr == MR && Avx.IsSupported)
        {
            float* r0 = s, r1 = s + lda, r2 = s + 2L * lda, r3 = s + 3L * lda, r4 = s + 4L * lda, r5 = s + 5L * lda;
            for (; pStart + 8 <= kc; pStart += 8)
            {
                var v0 = Avx.LoadVector256(r0 + pStart);
                var v1 = Avx.LoadVector256(r1 + pStart);
                var v2 = Avx.LoadVector256(r2 + pStart);
                var v3 = Avx.LoadVector256(r3 + pStart);
                var v4 = Avx.LoadVector256(r4 + pStart);
                var v5 = Avx.LoadVector256(r5 + pStart);
                var v6 = v5;
                var v7 = v5;
                Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                float* d = dst + pStart * MR;
                // Each 8-wide store spills 2 values into the next k step, which the next store overwrites.
                Avx.Store(d, v0);
                Avx.Store(d + 6, v1);
                Avx.Store(d + 12, v2);
                Avx.Store(d + 18, v3);
                Avx.Store(d + 24, v4);
                Avx.Store(d + 30, v5);
                Avx.Store(d + 36, v6);
                // The last store must stay inside the panel (another thread may be packing the next one).
                Sse.Store(d + 42, v7.GetLower());
                d[46] = v7.GetElement(4);
                d[47] = v7.GetElement(5);
            }
        }
        for (int p = pStart; p < kc; p++)
        {
            float* d = dst + p * MR;
            int r = 0;
            for (; r < mr; r++) d[r] = s[(long)r * lda + p];
            for (; r < MR; r++) d[r] = 0f;
        }
    }

    /// <summary>
    /// Packs columns [col, col+nr) (relative to the block's first column) of op(B), rows [Pc, Pc+Kc), into one
    /// micro-panel: NR values per k step, columns past nr zero-filled.
    /// </summary>
    private static void PackB(GemmArgs* g, int col, int nr, float* dst)
    {
        int kc = g->Kc, ldb = g->Ldb;
        int j0 = g->Jc + col;
        if (!g->TransB)
        {
            // op(B)[p, j] = B[p, j]: each k step copies nr contiguous values.
            float* src = g->B + (long)g->Pc * ldb + j0;
            if (nr == NR)
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += NR)
                {
                    Vector256.Store(Vector256.Load(src), dst);
                    Vector256.Store(Vector256.Load(src + 8), dst + 8);
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += NR)
                {
                    int j = 0;
                    for (; j < nr; j++) dst[j] = src[j];
                    for (; j < NR; j++) dst[j] = 0f;
                }
            }
            return;
        }

        // op(B)[p, j] = B[j, p]: rows of B are contiguous along k; transpose two 8×8 blocks per 8 k steps.
        float* s = g->B + (long)j0 * ldb + g->Pc;
        int pStart = 0;
        if (nr == NR && Avx.IsSupported)
        {
            for (; pStart + 8 <= kc; pStart += 8)
            {
                for (int half = 0; half < 2; half++)
                {
                    float* r = s + (long)(half * 8) * ldb + pStart;
                    var v0 = Avx.LoadVector256(r);
                    var v1 = Avx.LoadVector256(r + ldb);
                    var v2 = Avx.LoadVector256(r + 2L * ldb);
                    var v3 = Avx.LoadVector256(r + 3L * ldb);
                    var v4 = Avx.LoadVector256(r + 4L * ldb);
                    var v5 = Avx.LoadVector256(r + 5L * ldb);
                    var v6 = Avx.LoadVector256(r + 6L * ldb);
                    var v7 = Avx.LoadVector256(r + 7L * ldb);
                    Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                    float* d = dst + pStart * NR + half * 8;
                    Avx.Store(d, v0);
                    Avx.Store(d + NR, v1);
                    Avx.Store(d + 2 * NR, v2);
                    Avx.Store(d + 3 * NR, v3);
                    Avx.Store(d + 4 * NR, v4);
                    Avx.Store(d + 5 * NR, v5);
                    Avx.Store(d + 6 * NR, v6);
                    Avx.Store(d + 7 * NR, v7);
                }
            }
        }
        for (int p = pStart; p < kc; p++)
        {
            float* d = dst + p * NR;
            int j = 0;
            for (; j < nr; j++) d[j] = s[(long)j * ldb + p];
            for (; j < NR; j++) d[j] = 0f;
        }
    }

    /// <summary>In-register transpose of the 8×8 block held in v0..v7 (row i in vi becomes column i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(
        ref Vector256<float> v0, ref Vector256<float> v1, ref Vector256<float> v2, ref Vector256<float> v3,
        ref Vector256<float> v4, ref Vector256<float> v5, ref Vector256<float> v6, ref Vector256<float> v7)
    {
        var t0 = Avx.UnpackLow(v0, v1);
        var t1 = Avx.UnpackHigh(v0, v1);
        var t2 = Avx.UnpackLow(v2, v3);
        var t3 = Avx.UnpackHigh(v2, v3);
        var t4 = Avx.UnpackLow(v4, v5);
        var t5 = Avx.UnpackHigh(v4, v5);
        var t6 = Avx.UnpackLow(v6, v7);
        var t7 = Avx.UnpackHigh(v6, v7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        v0 = Avx.Permute2x128(s0, s4, 0x20);
        v1 = Avx.Permute2x128(s1, s5, 0x20);
        v2 = Avx.Permute2x128(s2, s6, 0x20);
        v3 = Avx.Permute2x128(s3, s7, 0x20);
        v4 = Avx.Permute2x128(s0, s4, 0x31);
        v5 = Avx.Permute2x128(s1, s5, 0x31);
        v6 = Avx.Permute2x128(s2, s6, 0x31);
        v7 = Avx.Permute2x128(s3, s7, 0x31);
    }
}
