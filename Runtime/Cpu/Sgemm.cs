using System;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// Row-major single-precision matrix multiply: <c>C = alpha·op(A)·op(B) + beta·C</c>, where op(X) is X or Xᵀ.
/// </summary>
/// <remarks>
/// <para>op(A) is m×k, op(B) is k×n and C is m×n, all row-major with leading dimensions (row strides)
/// lda, ldb and ldc. A stored untransposed is m×k (lda ≥ k); transposed, it is stored k×m (lda ≥ m).
/// B stored untransposed is k×n (ldb ≥ n); transposed, it is stored n×k (ldb ≥ k). ldc ≥ n.</para>
/// <para>Dense-layer forms: forward <c>Y = X·Wᵀ</c> is <c>Multiply(false, true, batch, out, in, 1, X, in, W, in, 0, Y, out)</c>;
/// input gradient <c>dX = dY·W</c> is <c>Multiply(false, false, batch, in, out, 1, dY, out, W, in, 0, dX, in)</c>;
/// weight gradient <c>dW (+)= dYᵀ·X</c> is <c>Multiply(true, false, out, in, batch, 1, dY, out, X, in, beta, dW, in)</c>
/// with beta 1 to accumulate or 0 to overwrite.</para>
/// <para>When beta is 0, C is never read (NaN or garbage in C does not leak into the result); when alpha is 0
/// or k is 0, A and B are not read. C must not overlap A or B.</para>
/// <para><b>No-allocation contract.</b> Packing buffers are native memory, allocated per calling thread on
/// first use and grown when a larger problem needs it, then reused. Once a thread has run the largest shape
/// it will use (and <see cref="CpuWorkers"/> has started), calls allocate nothing on the managed heap.</para>
/// <para>Blocking: op(B) is packed in KC×NC panels of NR columns, op(A) in MC×KC panels of MR rows, and an
/// MR×NR register-blocked micro-kernel computes tiles of C: 8×32 with AVX-512, 6×16 with AVX2/FMA, chosen once per
/// process (<see cref="ActivePath"/>; <c>MODELDSL_CPU_ISA=avx2</c> forces AVX2). Packing and tiles run in parallel on
/// <see cref="CpuWorkers"/>, one thread per <see cref="MinMacsPerThread"/> multiply-adds at most (so the small
/// multiplies of a small network run on the caller alone).</para>
/// </remarks>
public static unsafe partial class Sgemm
{
    private const int PackChunk = 4; // micro-panels per packing work item

    /// <summary>Multiplies at most this many columns wide take the AVX-512 path's 8×16 kernel instead of its 8×32 one.</summary>
    internal const int NarrowColumns = 16;

    /// <summary>
    /// The least work, in multiply-adds (m·n·k), worth giving a thread of its own: a multiply runs on at most
    /// m·n·k / MinMacsPerThread threads, so one below 2·2²⁰ = 2,097,152 multiply-adds runs on the caller alone.
    /// </summary>
    /// <remarks>
    /// From <c>SgemmBench --sweep</c> on a 2-core AVX2 machine, four runs (docs/benchmarks.md, "SGEMM: when to split
    /// across threads"). A parallel-for itself costs 0.1–0.4 µs, but between 110K and 1.6M multiply-adds splitting
    /// across 2 threads gained 0.70–1.36× (median of the four runs per shape; single runs 0.30–1.56×), nothing for the
    /// 131K-multiply-add GEMMs of a 10-64-64-1 step, and a run could be 2× slower whenever the second core was busy
    /// with anything else (the caller then waits for the tiles a preempted worker holds). From 2M multiply-adds up the
    /// medians were 0.95–1.59×, mostly above 1.2×. The earlier rule split everything from 48³ = 110,592 multiply-adds.
    /// </remarks>
    internal const long MinMacsPerThread = 1L << 20;

    /// <summary>
    /// <c>C = alpha·op(A)·op(B) + beta·C</c> over raw pointers (see the type remarks for shapes).
    /// <paramref name="maxThreads"/> ≤ 0 uses <see cref="CpuWorkers.ThreadCount"/>.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int maxThreads = 0)
    {
        ValidateShape(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        if (c == null) throw new ArgumentNullException(nameof(c));
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        if (a == null) throw new ArgumentNullException(nameof(a));
        if (b == null) throw new ArgumentNullException(nameof(b));
        Run(ActivePath, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
    }

    /// <summary>
    /// <c>C = alpha·op(A)·op(B) + beta·C</c> over spans (pinned for the call; see the type remarks for shapes).
    /// The spans start at element [0,0] of each matrix; pass <c>array.AsSpan(offset)</c> for an offset.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        int maxThreads = 0)
        => Multiply(ActivePath, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);

    /// <summary>
    /// The span overload on a given kernel path (the tests run every path the machine supports through it);
    /// <paramref name="path"/> must be supported here (<see cref="IsSupported"/>).
    /// </summary>
    internal static void Multiply(SgemmPath path, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        int maxThreads = 0)
    {
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"The {path} SGEMM path needs instructions this CPU lacks.");
        ValidateShape(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        CheckLength(c.Length, m, n, ldc, nameof(c));
        bool readsAB = k != 0 && alpha != 0f;
        if (readsAB)
        {
            CheckLength(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
            CheckLength(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (!readsAB) ScaleC(m, n, beta, pc, ldc);
            else Run(path, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads);
        }
    }

    private static void ValidateShape(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
    }

    private static void CheckLength(int length, int rows, int cols, int ld, string name)
    {
        if (rows == 0 || cols == 0) return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"Span '{name}' has {length} elements; a {rows}×{cols} matrix with leading dimension {ld} needs {needed}.", name);
    }

    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f) row.Clear();
            else TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>Shared state of one blocked multiply; lives on the caller's stack during the call.</summary>
    private struct GemmArgs
    {
        public float* A, B, C, PackA, PackB;
        public int Lda, Ldb, Ldc;
        public bool TransA, TransB;
        public float Alpha, Beta;
        public int Ic, Mb, Jc, Nb, Pc, Kc;
        public int AChunks, BChunks;
        public int TileM, TileN, TilesN; // tile sizes in micro-panels, tiles along n
        public bool DirectA; // the kernel reads A in place (op(A) = A, TK.DirectA): nothing packed for A
    }

    private struct PackJob<TK> : IParallelJob where TK : struct, IMicroKernel
    {
        public GemmArgs* Args;

        public void Run(int index)
        {
            GemmArgs* g = Args;
            int mr = TK.MR, nr = TK.NR;
            if (index < g->AChunks)
            {
                int first = index * PackChunk;
                int last = Math.Min(first + PackChunk, (g->Mb + mr - 1) / mr);
                for (int p = first; p < last; p++)
                {
                    int row = p * mr;
                    PackA<TK>(g, row, Math.Min(mr, g->Mb - row), g->PackA + (long)p * mr * g->Kc);
                }
            }
            else
            {
                int first = (index - g->AChunks) * PackChunk;
                int last = Math.Min(first + PackChunk, (g->Nb + nr - 1) / nr);
                for (int p = first; p < last; p++)
                {
                    int col = p * nr;
                    PackB<TK>(g->B, g->Ldb, g->TransB, g->Jc + col, g->Pc, g->Kc, Math.Min(nr, g->Nb - col),
                        g->PackB + (long)p * nr * g->Kc);
                }
            }
        }
    }

    private struct ComputeJob<TK> : IParallelJob where TK : struct, IMicroKernel
    {
        public GemmArgs* Args;

        public void Run(int index)
        {
            GemmArgs* g = Args;
            int MR = TK.MR, NR = TK.NR;
            int ti = index / g->TilesN, tj = index - ti * g->TilesN;
            int rowPanels = (g->Mb + MR - 1) / MR, colPanels = (g->Nb + NR - 1) / NR;
            int ip0 = ti * g->TileM, ip1 = Math.Min(ip0 + g->TileM, rowPanels);
            int jp0 = tj * g->TileN, jp1 = Math.Min(jp0 + g->TileN, colPanels);
            int kc = g->Kc, ldc = g->Ldc;
            float alpha = g->Alpha, beta = g->Beta;
            float* edge = stackalloc float[MaxTile];
            for (int jp = jp0; jp < jp1; jp++)
            {
                int col = jp * NR;
                int nr = Math.Min(NR, g->Nb - col);
                float* bp = g->PackB + (long)jp * NR * kc;
                for (int ip = ip0; ip < ip1; ip++)
                {
                    int row = ip * MR;
                    int mr = Math.Min(MR, g->Mb - row);
                    float* cp = g->C + (long)(g->Ic + row) * ldc + g->Jc + col;
                    if (g->DirectA)
                    {
                        float* ar = g->A + (long)(g->Ic + row) * g->Lda + g->Pc;
                        if (nr == NR)
                        {
                            if (mr == MR) TK.ComputeDirect(kc, ar, g->Lda, MR, bp, cp, ldc, alpha, beta);
                            else
                            {
                                TK.ComputeDirect(kc, ar, g->Lda, mr, bp, edge, NR, 1f, 0f);
                                StoreEdge(edge, NR, cp, ldc, mr, nr, alpha, beta);
                            }
                        }
                        else
                        {
                            TK.ComputeDirect(kc, ar, g->Lda, mr, bp, edge, NR, 1f, 0f);
                            StoreEdge(edge, NR, cp, ldc, mr, nr, alpha, beta);
                        }
                        continue;
                    }
                    float* ap = g->PackA + (long)ip * MR * kc;
                    if (mr == MR && nr == NR)
                    {
                        TK.Compute(kc, ap, bp, cp, ldc, alpha, beta);
                    }
                    else
                    {
                        TK.Compute(kc, ap, bp, edge, NR, 1f, 0f);
                        StoreEdge(edge, NR, cp, ldc, mr, nr, alpha, beta);
                    }
                }
            }
        }
    }

    /// <summary>The largest MR·NR of any micro-kernel (the edge tile buffer's size).</summary>
    private const int MaxTile = 16 * 64;

    private static void StoreEdge(float* edge, int ldEdge, float* c, int ldc, int mr, int nr, float alpha, float beta)
    {
        for (int r = 0; r < mr; r++)
        {
            float* src = edge + r * ldEdge;
            float* dst = c + (long)r * ldc;
            if (beta == 0f)
                for (int j = 0; j < nr; j++) dst[j] = alpha * src[j];
            else
                for (int j = 0; j < nr; j++) dst[j] = alpha * src[j] + beta * dst[j];
        }
    }

    private static void Run(SgemmPath path, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int maxThreads)
    {
        if (!transA && transB && m <= RowDotMaxRows)
        {
            RowDot(path, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        switch (path)
        {
            case SgemmPath.Avx512 when n <= NarrowColumns:
                Blocked<Avx512NarrowKernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
                break;
            case SgemmPath.Avx512:
                Blocked<Avx512Kernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
                break;
            case SgemmPath.Avx2:
                Blocked<Avx2Kernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
                break;
            default:
                Blocked<PortableKernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
                break;
        }
    }

    /// <summary>The blocked multiply (Goto/BLIS loop order jc → pc → ic, then tiles of micro-panels) on micro-kernel TK.</summary>
    private static void Blocked<TK>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int maxThreads, float* prepackedB = null)
        where TK : struct, IMicroKernel
    {
        int MR = TK.MR, NR = TK.NR, KC = TK.KC, MC = TK.MC, NC = TK.NC;
        int threads = ThreadsFor(m, n, k, maxThreads);

        int kBlocks = (k + KC - 1) / KC;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        int mcMax = RoundUp(Math.Min(m, MC), MR);
        int ncMax = RoundUp(Math.Min(n, NC), NR);
        // An untransposed A is read in place by kernels that can (TK.DirectA): its rows are contiguous along k, so the
        // kernel broadcasts A[r, p] from 8 row pointers and the 8×8 transposes of packing A are skipped. Measured with
        // SgemmBench (GFLOP/s per CPU-second, machine under load): 1024³ NN/NT +8–10%, CharGpt's NT/NN shapes +1–10%,
        // the MLP's forward +2–3%; transposed A (the weight gradients) still packs.
        bool directA = TK.DirectA && !transA;
        PackBuffers.ForCurrentThread(directA ? 0 : (long)mcMax * kcMax, prepackedB == null ? (long)ncMax * kcMax : 0, out float* packA, out float* packB);

        GemmArgs g = default;
        g.A = a; g.B = b; g.C = c; g.Lda = lda; g.Ldb = ldb; g.Ldc = ldc;
        g.TransA = transA; g.TransB = transB; g.Alpha = alpha;
        g.PackA = packA; g.PackB = packB; g.DirectA = directA;
        var pack = new PackJob<TK> { Args = &g };
        var compute = new ComputeJob<TK> { Args = &g };

        for (int jc = 0; jc < n; jc += NC)
        {
            g.Jc = jc;
            g.Nb = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                g.Pc = pc;
                g.Kc = Math.Min(kcMax, k - pc);
                g.Beta = pc == 0 ? beta : 1f;
                if (prepackedB != null) g.PackB = prepackedB + PackedOffset(jc, pc, n, k, NR, NC);
                for (int ic = 0; ic < m; ic += MC)
                {
                    g.Ic = ic;
                    g.Mb = Math.Min(MC, m - ic);
                    g.AChunks = directA ? 0 : ((g.Mb + MR - 1) / MR + PackChunk - 1) / PackChunk;
                    g.BChunks = ic == 0 && prepackedB == null ? ((g.Nb + NR - 1) / NR + PackChunk - 1) / PackChunk : 0;
                    int tilesM = ChooseTiles(ref g, threads, MR, NR);
                    CpuWorkers.Run(in pack, g.AChunks + g.BChunks, threads);
                    CpuWorkers.Run(in compute, tilesM * g.TilesN, threads);
                }
            }
        }
    }

    /// <summary>
    /// The threads a multiply of this size runs on: <see cref="CpuWorkers.ThreadCount"/> (or <paramref name="maxThreads"/>
    /// when it is smaller and positive), but no more than one per <see cref="MinMacsPerThread"/> multiply-adds.
    /// </summary>
    internal static int ThreadsFor(int m, int n, int k, int maxThreads)
    {
        int threads = CpuWorkers.ThreadCount;
        if (maxThreads > 0 && maxThreads < threads) threads = maxThreads;
        long byWork = (long)m * n * k / MinMacsPerThread;
        return (int)Math.Max(1, Math.Min(threads, byWork));
    }

    /// <summary>Chooses tile sizes (in micro-panels) for the compute phase; returns the number of tile rows.</summary>
    private static int ChooseTiles(ref GemmArgs g, int threads, int MR, int NR)
    {
        int rowPanels = (g.Mb + MR - 1) / MR, colPanels = (g.Nb + NR - 1) / NR;
        int tileM = Math.Min(rowPanels, 16), tileN = Math.Min(colPanels, 16);
        if (threads > 1)
        {
            int target = 4 * threads;
            while (Ceil(rowPanels, tileM) * Ceil(colPanels, tileN) < target && (tileM > 2 || tileN > 2))
            {
                if (tileN >= tileM && tileN > 2) tileN = (tileN + 1) / 2;
                else tileM = (tileM + 1) / 2;
            }
        }
        int tilesM = Ceil(rowPanels, tileM), tilesN = Ceil(colPanels, tileN);
        g.TileM = Ceil(rowPanels, tilesM); // even out the tiles
        g.TileN = Ceil(colPanels, tilesN);
        g.TilesN = tilesN;
        return tilesM;
    }

    private static int Ceil(int x, int y) => (x + y - 1) / y;

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Per-thread native packing buffers, 64-byte aligned; grown on demand, never shrunk.</summary>
    private static class PackBuffers
    {
        [ThreadStatic] private static nint _a;
        [ThreadStatic] private static nint _b;
        [ThreadStatic] private static long _aCapacity;
        [ThreadStatic] private static long _bCapacity;

        public static void ForCurrentThread(long aFloats, long bFloats, out float* a, out float* b)
        {
            if (aFloats > _aCapacity) Grow(ref _a, ref _aCapacity, aFloats);
            if (bFloats > _bCapacity) Grow(ref _b, ref _bCapacity, bFloats);
            a = (float*)_a;
            b = (float*)_b;
        }

        private static void Grow(ref nint buffer, ref long capacity, long floats)
        {
            if (buffer != 0) NativeMemory.AlignedFree((void*)buffer);
            buffer = 0;
            capacity = 0;
            // Slack of one vector so vector stores at a panel's tail stay inside the allocation.
            buffer = (nint)NativeMemory.AlignedAlloc((nuint)((floats + 16) * sizeof(float)), 64);
            capacity = floats;
        }
    }
}
