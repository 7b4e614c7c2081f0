using System;
using System.Runtime.InteropServices;

namespace ModelDsl.Runtime.Cpu;

public static unsafe partial class Sgemm
{
    /// <summary>
    /// <c>C = alpha·op(A)·op(B) + beta·C</c> where B is a parameter's weights (<see cref="Parameter.Value"/>, the whole
    /// array from element 0): op(B) is packed for the micro-kernel once per <see cref="Parameter.Version"/> and kept
    /// with the parameter, instead of on every call (ONNX Runtime pre-packs its constant weights at load the same way).
    /// </summary>
    /// <remarks>
    /// The dense forward <c>Y = X·Wᵀ</c> of generated models calls this. The packed copy is rebuilt when the version,
    /// the kernel path, the transpose, the shape or the leading dimension differ from the cached one; so code that
    /// writes <see cref="Parameter.Value"/> itself must call <see cref="Parameter.MarkChanged"/> (the generated
    /// optimizer step, <c>Initialize</c> and <c>Load</c> do). One or two rows of A against Bᵀ read B where it lies
    /// (<see cref="RowDot"/>), as the array overload does. Results are bitwise those of the array overload.
    /// Concurrent calls with the same parameter are safe as long as nothing writes the weights meanwhile.
    /// </remarks>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, Parameter b, int ldb, float beta, Span<float> c, int ldc, int maxThreads = 0)
        => Multiply(ActivePath, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);

    /// <summary>The <see cref="Parameter"/> overload on a given kernel path (the tests run every supported path).</summary>
    internal static void Multiply(SgemmPath path, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, Parameter b, int ldb, float beta, Span<float> c, int ldc, int maxThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"The {path} SGEMM path needs instructions this CPU lacks.");
        ValidateShape(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        CheckLength(c.Length, m, n, ldc, nameof(c));
        bool readsAB = k != 0 && alpha != 0f;
        if (readsAB)
        {
            CheckLength(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
            CheckLength(b.Value.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        }
        fixed (float* pa = a)
        fixed (float* pb = b.Value)
        fixed (float* pc = c)
        {
            if (!readsAB) ScaleC(m, n, beta, pc, ldc);
            else if (!transA && transB && m <= RowDotMaxRows) RowDot(path, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else
            {
                float* packed = PackedFor(b, pb, path, transB, n, k, ldb, maxThreads);
                switch (path)
                {
                    case SgemmPath.Avx512 when n <= NarrowColumns:
                        Blocked<Avx512NarrowKernel>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads, packed);
                        break;
                    case SgemmPath.Avx512:
                        Blocked<Avx512Kernel>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads, packed);
                        break;
                    case SgemmPath.Avx2:
                        Blocked<Avx2Kernel>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads, packed);
                        break;
                    default:
                        Blocked<PortableKernel>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, maxThreads, packed);
                        break;
                }
            }
        }
    }

    /// <summary>The packed op(B) of <paramref name="parameter"/> for this call, packed now if the cached one is stale.</summary>
    private static float* PackedFor(Parameter parameter, float* b, SgemmPath path, bool transB, int n, int k, int ldb, int maxThreads)
    {
        var cache = parameter.Packed;
        if (cache is null)
        {
            cache = new PackedMatrix();
            // Two first calls may race; either cache will do, and the loser is freed by its finalizer.
            parameter.Packed = cache;
        }
        lock (cache)
        {
            long version = parameter.Version;
            if (!cache.Matches(version, path, transB, n, k, ldb))
            {
                switch (path)
                {
                    // The same kernel choice as the multiply (n is part of the cache key, so it cannot change under it).
                    case SgemmPath.Avx512 when n <= NarrowColumns: cache.Pack<Avx512NarrowKernel>(b, ldb, transB, n, k, maxThreads); break;
                    case SgemmPath.Avx512: cache.Pack<Avx512Kernel>(b, ldb, transB, n, k, maxThreads); break;
                    case SgemmPath.Avx2: cache.Pack<Avx2Kernel>(b, ldb, transB, n, k, maxThreads); break;
                    default: cache.Pack<PortableKernel>(b, ldb, transB, n, k, maxThreads); break;
                }
                cache.Path = path;
                cache.Version = version;
            }
            return cache.Data;
        }
    }

    /// <summary>Offset, in floats, of the packed block of op(B) for columns from <paramref name="jc"/> and k rows from <paramref name="pc"/>.</summary>
    /// <remarks>Blocks of NC columns one after another (each NC·k floats; the last one rounded up to whole panels), and
    /// inside one the KC-deep blocks in k order, each of whole NR-column panels: the order <see cref="Blocked"/> visits them.</remarks>
    private static long PackedOffset(int jc, int pc, int n, int k, int nr, int nc) =>
        (long)jc * k + (long)RoundUp(Math.Min(nc, n - jc), nr) * pc;

    /// <summary>A whole op(B) packed in the micro-kernel's panels, in native memory; the cache a <see cref="Parameter"/> holds.</summary>
    internal sealed class PackedMatrix
    {
        private nint _data;
        private long _capacity;

        public float* Data => (float*)_data;
        public long Version = -1;
        public SgemmPath Path;
        public bool TransB;
        public int N, K, Ldb;

        public bool Matches(long version, SgemmPath path, bool transB, int n, int k, int ldb) =>
            _data != 0 && Version == version && Path == path && TransB == transB && N == n && K == k && Ldb == ldb;

        public void Pack<TK>(float* b, int ldb, bool transB, int n, int k, int maxThreads) where TK : struct, IMicroKernel
        {
            int NR = TK.NR, NC = TK.NC;
            long floats = (long)RoundUp(n, NR) * k;
            if (floats > _capacity)
            {
                if (_data != 0) NativeMemory.AlignedFree((void*)_data);
                _data = 0;
                _capacity = 0;
                _data = (nint)NativeMemory.AlignedAlloc((nuint)((floats + 16) * sizeof(float)), 64);
                _capacity = floats;
            }
            Version = -1; // invalid while half written (a packing that throws leaves it so)
            TransB = transB; N = n; K = k; Ldb = ldb;
            int kBlocks = (k + TK.KC - 1) / TK.KC;
            int kcMax = (k + kBlocks - 1) / kBlocks;
            var job = new PackWholeJob<TK> { B = b, Ldb = ldb, TransB = transB, Dst = Data };
            int threads = ThreadsFor(RoundUp(n, NR), 64, k, maxThreads); // packing is ~ one pass over B: share it only when large
            for (int jc = 0; jc < n; jc += NC)
            {
                job.Jc = jc;
                job.Nb = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    job.Pc = pc;
                    job.Kc = Math.Min(kcMax, k - pc);
                    job.Offset = PackedOffset(jc, pc, n, k, NR, NC);
                    CpuWorkers.Run(in job, (job.Nb + NR - 1) / NR, threads);
                }
            }
        }

        ~PackedMatrix()
        {
            if (_data != 0) NativeMemory.AlignedFree((void*)_data);
        }
    }

    /// <summary>Packs the micro-panels of one block of op(B) (one per index).</summary>
    private struct PackWholeJob<TK> : IParallelJob where TK : struct, IMicroKernel
    {
        public float* B, Dst;
        public int Ldb, Jc, Nb, Pc, Kc;
        public bool TransB;
        public long Offset;

        public void Run(int index)
        {
            int NR = TK.NR;
            int col = index * NR;
            PackB<TK>(B, Ldb, TransB, Jc + col, Pc, Kc, Math.Min(NR, Nb - col), Dst + Offset + (long)col * Kc);
        }
    }
}
