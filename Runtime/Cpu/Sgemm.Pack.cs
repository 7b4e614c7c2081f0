using System;
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
    private static void PackA<TK>(GemmArgs* g, int row, int mr, float* dst) where TK : struct, IMicroKernel
    {
        int MR = TK.MR;
        int kc = g->Kc, lda = g->Lda;
        int i0 = g->Ic + row;
        if (g->TransA)
        {
            // op(A)[i, p] = A[p, i]: each k step reads mr contiguous values.
            float* src = g->A + (long)g->Pc * lda + i0;
            if (mr == MR)
            {
                for (int p = 0; p < kc; p++, src += lda, dst += MR) CopyShort(src, dst, MR);
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

        // op(A)[i, p] = A[i, p]: rows are contiguous along k; transpose 8×8 blocks, 8 rows at a time (a last group of
        // fewer rows repeats its last row; the repeats are not stored).
        float* s = g->A + (long)i0 * lda + g->Pc;
        int pStart = 0;
        if (mr == MR && Avx.IsSupported)
        {
            for (; pStart + 8 <= kc; pStart += 8)
            {
                for (int r0 = 0; r0 < MR; r0 += 8)
                {
                    int rows = Math.Min(8, MR - r0);
                    float* q = s + (long)r0 * lda + pStart;
                    long l1 = Math.Min(1, rows - 1) * (long)lda, l2 = Math.Min(2, rows - 1) * (long)lda;
                    long l3 = Math.Min(3, rows - 1) * (long)lda, l4 = Math.Min(4, rows - 1) * (long)lda;
                    long l5 = Math.Min(5, rows - 1) * (long)lda, l6 = Math.Min(6, rows - 1) * (long)lda;
                    long l7 = Math.Min(7, rows - 1) * (long)lda;
                    var v0 = Avx.LoadVector256(q);
                    var v1 = Avx.LoadVector256(q + l1);
                    var v2 = Avx.LoadVector256(q + l2);
                    var v3 = Avx.LoadVector256(q + l3);
                    var v4 = Avx.LoadVector256(q + l4);
                    var v5 = Avx.LoadVector256(q + l5);
                    var v6 = Avx.LoadVector256(q + l6);
                    var v7 = Avx.LoadVector256(q + l7);
                    Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                    float* d = dst + pStart * MR + r0;
                    StoreRows(d, v0, rows);
                    StoreRows(d + MR, v1, rows);
                    StoreRows(d + 2 * MR, v2, rows);
                    StoreRows(d + 3 * MR, v3, rows);
                    StoreRows(d + 4 * MR, v4, rows);
                    StoreRows(d + 5 * MR, v5, rows);
                    StoreRows(d + 6 * MR, v6, rows);
                    StoreRows(d + 7 * MR, v7, rows);
                }
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

    /// <summary>Stores the first <paramref name="count"/> (1..8) lanes of <paramref name="v"/>, nothing past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(float* d, Vector256<float> v, int count)
    {
        if (count == 8)
        {
            Avx.Store(d, v);
            return;
        }
        int j = 0;
        if (count >= 4)
        {
            Sse.Store(d, v.GetLower());
            v = Vector256.Create(v.GetUpper(), v.GetUpper());
            j = 4;
        }
        for (int t = 0; j < count; j++, t++) d[j] = v.GetElement(t);
    }

    /// <summary>Copies <paramref name="count"/> floats (a micro-panel's width; a constant where it is inlined).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort(float* src, float* dst, int count)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= count; j += 16) Vector512.Store(Vector512.Load(src + j), dst + j);
        for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
        if (j + 4 <= count)
        {
            Vector128.Store(Vector128.Load(src + j), dst + j);
            j += 4;
        }
        for (; j < count; j++) dst[j] = src[j];
    }

    /// <summary>
    /// Packs columns [j0, j0+nr) of op(B), rows [pc, pc+kc), into one micro-panel: NR values per k step, columns past
    /// nr zero-filled. B is the whole matrix as stored (n×k when <paramref name="transB"/>, else k×n).
    /// </summary>
    private static void PackB<TK>(float* b, int ldb, bool transB, int j0, int pc, int kc, int nr, float* dst)
        where TK : struct, IMicroKernel
    {
        int NR = TK.NR;
        if (!transB)
        {
            // op(B)[p, j] = B[p, j]: each k step copies nr contiguous values.
            float* src = b + (long)pc * ldb + j0;
            if (nr == NR)
            {
                for (int p = 0; p < kc; p++, src += ldb, dst += NR) CopyShort(src, dst, NR);
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

        // op(B)[p, j] = B[j, p]: rows of B are contiguous along k; transpose NR/8 blocks of 8×8 per 8 k steps.
        float* s = b + (long)j0 * ldb + pc;
        int pStart = 0;
        if (nr == NR && Avx.IsSupported)
        {
            for (; pStart + 8 <= kc; pStart += 8)
            {
                for (int c0 = 0; c0 < NR; c0 += 8)
                {
                    float* r = s + (long)c0 * ldb + pStart;
                    var v0 = Avx.LoadVector256(r);
                    var v1 = Avx.LoadVector256(r + ldb);
                    var v2 = Avx.LoadVector256(r + 2L * ldb);
                    var v3 = Avx.LoadVector256(r + 3L * ldb);
                    var v4 = Avx.LoadVector256(r + 4L * ldb);
                    var v5 = Avx.LoadVector256(r + 5L * ldb);
                    var v6 = Avx.LoadVector256(r + 6L * ldb);
                    var v7 = Avx.LoadVector256(r + 7L * ldb);
                    Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                    float* d = dst + pStart * NR + c0;
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
