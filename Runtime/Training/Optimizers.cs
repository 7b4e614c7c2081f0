using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime;

/// <summary>
/// Optimizer updates with PyTorch's semantics, one fused pass over each parameter tensor (the update is
/// memory-bound, so reading p, g and the state once matters more than anything else). Nothing is allocated.
/// </summary>
/// <remarks>
/// The loops use <see cref="Vector{T}"/>, which the JIT sizes to the machine (256 bits with AVX2, 128 with NEON;
/// Adam and AdamW first take 512-bit vectors where they are accelerated, and split parameters of more than
/// 2 × <c>ParallelChunk</c> elements across <see cref="Cpu.CpuWorkers"/>), and the scalar tail computes exactly the same
/// float operations (no FMA), so an element's result does not depend on whether it fell in a vector or in the tail. Optimizer state must start zeroed
/// (<see cref="Parameter.EnsureState"/>); that reproduces PyTorch's first step exactly.
/// </remarks>
public static class Optimizers
{
    /// <summary>
    /// torch.optim.SGD (dampening 0): <c>d = g + wd·p</c>; with momentum <c>buf = μ·buf + d</c> and
    /// <c>d = nesterov ? d + μ·buf : buf</c>; then <c>p −= lr·d</c>. <paramref name="velocity"/> is not touched
    /// (and may be empty) when <paramref name="momentum"/> is 0.
    /// </summary>
    public static void Sgd(Span<float> p, ReadOnlySpan<float> g, Span<float> velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        CheckLength(p, g, nameof(g));
        if (momentum != 0) CheckLength(p, velocity, nameof(velocity));
        if (nesterov && momentum <= 0)
            throw new ArgumentException("Nesterov momentum needs a positive momentum (as in PyTorch).", nameof(nesterov));

        int n = p.Length;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float br = ref MemoryMarshal.GetReference(velocity);
        bool hasMomentum = momentum != 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vLr = new Vector<float>(lr);
            var vMu = new Vector<float>(momentum);
            var vWd = new Vector<float>(weightDecay);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var d = Vector.LoadUnsafe(ref gr, (nuint)i) + vWd * pv;
                if (hasMomentum)
                {
                    var b = vMu * Vector.LoadUnsafe(ref br, (nuint)i) + d;
                    b.StoreUnsafe(ref br, (nuint)i);
                    d = nesterov ? d + vMu * b : b;
                }
                (pv - vLr * d).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float d = Unsafe.Add(ref gr, i) + weightDecay * pv;
            if (hasMomentum)
            {
                float b = momentum * Unsafe.Add(ref br, i) + d;
                Unsafe.Add(ref br, i) = b;
                d = nesterov ? d + momentum * b : b;
            }
            Unsafe.Add(ref pr, i) = pv - lr * d;
        }
    }

    /// <summary>
    /// torch.optim.Adam (not AMSGrad): weight decay is L2, added to the gradient (<c>g + wd·p</c>) before the
    /// moments. <paramref name="step"/> is 1-based: the number of updates including this one.
    /// </summary>
    public static void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, int step) =>
        AdamCore(p, g, m, v, lr, beta1, beta2, eps, l2: weightDecay, decay: 1f, step);

    /// <summary>
    /// torch.optim.AdamW: decoupled weight decay, <c>p ·= 1 − lr·wd</c> first, then the plain Adam update.
    /// <paramref name="step"/> is 1-based.
    /// </summary>
    public static void AdamW(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, int step) =>
        AdamCore(p, g, m, v, lr, beta1, beta2, eps, l2: 0f, decay: (float)(1.0 - (double)lr * weightDecay), step);

    // d = g + l2·p;  m += (1 − β1)(d − m);  v = β2·v + (1 − β2)·d²;
    // p = p·decay − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
    // The bias corrections are computed in double, as PyTorch computes them as Python floats, then rounded once.
    private static unsafe void AdamCore(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float l2, float decay, int step)
    {
        CheckLength(p, g, nameof(g));
        CheckLength(p, m, nameof(m));
        CheckLength(p, v, nameof(v));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);

        float stepSize = (float)(lr / (1.0 - Math.Pow(beta1, step)));
        float bc2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(beta2, step));
        float oneMinusB1 = 1f - beta1;
        float oneMinusB2 = 1f - beta2;

        var job = new AdamJob
        {
            L2 = l2, Decay = decay, Beta2 = beta2, OneMinusB1 = oneMinusB1, OneMinusB2 = oneMinusB2,
            StepSize = stepSize, Bc2Sqrt = bc2Sqrt, Eps = eps, Length = p.Length,
        };
        fixed (float* pp = p)
        fixed (float* gp = g)
        fixed (float* mp = m)
        fixed (float* vp = v)
        {
            job.P = pp; job.G = gp; job.M = mp; job.V = vp;
            int chunks = Math.Min(Cpu.CpuWorkers.ThreadCount, p.Length / ParallelChunk);
            if (chunks <= 1) job.Update(0, p.Length);
            else
            {
                job.ChunkLength = (p.Length / chunks) & ~15; // whole 512-bit vectors per chunk; the last takes the rest
                job.Chunks = chunks;
                Cpu.CpuWorkers.Run(in job, chunks);
            }
        }
    }

    /// <summary>
    /// The fewest elements per thread an update is split into: the pass is memory-bound at roughly 1 ns per element, so
    /// 64K elements (~60 µs) dwarf a dispatch (0.1–0.4 µs) and a small parameter stays on the caller.
    /// </summary>
    internal const int ParallelChunk = 1 << 16;

    /// <summary>One Adam/AdamW pass over a range of a parameter (see <see cref="AdamCore"/>).</summary>
    private unsafe struct AdamJob : Cpu.IParallelJob
    {
        public float* P, G, M, V;
        public float L2, Decay, Beta2, OneMinusB1, OneMinusB2, StepSize, Bc2Sqrt, Eps;
        public int Length, ChunkLength, Chunks;

        public void Run(int index)
        {
            int start = index * ChunkLength;
            int end = index == Chunks - 1 ? Length : Math.Min(Length, start + ChunkLength);
            if (start < end) Update(start, end);
        }

        /// <summary>
        /// Elements [start, end): 512-bit vectors where the machine runs them at full width, then the machine's
        /// <see cref="Vector{T}"/>, then scalars; the three compute the same float operations (no FMA), so an element's
        /// result does not depend on which of them took it.
        /// </summary>
        public void Update(int start, int end)
        {
            int i = start;
            if (Vector512.IsHardwareAccelerated)
            {
                var vL2 = Vector512.Create(L2);
                var vDecay = Vector512.Create(Decay);
                var vB2 = Vector512.Create(Beta2);
                var v1mB1 = Vector512.Create(OneMinusB1);
                var v1mB2 = Vector512.Create(OneMinusB2);
                var vStep = Vector512.Create(StepSize);
                var vBc2 = Vector512.Create(Bc2Sqrt);
                var vEps = Vector512.Create(Eps);
                for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
                {
                    var pv = Vector512.Load(P + i);
                    var d = Vector512.Load(G + i) + vL2 * pv;
                    var mv = Vector512.Load(M + i);
                    mv += v1mB1 * (d - mv);
                    var vv = vB2 * Vector512.Load(V + i) + v1mB2 * (d * d);
                    mv.Store(M + i);
                    vv.Store(V + i);
                    var denom = Vector512.Sqrt(vv) / vBc2 + vEps;
                    (pv * vDecay - vStep * (mv / denom)).Store(P + i);
                }
            }
            if (Vector.IsHardwareAccelerated)
            {
                var vL2 = new Vector<float>(L2);
                var vDecay = new Vector<float>(Decay);
                var vB2 = new Vector<float>(Beta2);
                var v1mB1 = new Vector<float>(OneMinusB1);
                var v1mB2 = new Vector<float>(OneMinusB2);
                var vStep = new Vector<float>(StepSize);
                var vBc2 = new Vector<float>(Bc2Sqrt);
                var vEps = new Vector<float>(Eps);
                for (; i <= end - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var pv = Vector.Load(P + i);
                    var d = Vector.Load(G + i) + vL2 * pv;
                    var mv = Vector.Load(M + i);
                    mv += v1mB1 * (d - mv);
                    var vv = vB2 * Vector.Load(V + i) + v1mB2 * (d * d);
                    mv.Store(M + i);
                    vv.Store(V + i);
                    var denom = Vector.SquareRoot(vv) / vBc2 + vEps;
                    (pv * vDecay - vStep * (mv / denom)).Store(P + i);
                }
            }
            for (; i < end; i++)
            {
                float pv = P[i];
                float d = G[i] + L2 * pv;
                float mv = M[i];
                mv += OneMinusB1 * (d - mv);
                float vv = Beta2 * V[i] + OneMinusB2 * (d * d);
                M[i] = mv;
                V[i] = vv;
                float denom = MathF.Sqrt(vv) / Bc2Sqrt + Eps;
                P[i] = pv * Decay - StepSize * (mv / denom);
            }
        }
    }

    /// <summary>
    /// torch.optim.RMSprop: <c>d = g + wd·p</c>; <c>sq = α·sq + (1 − α)·d²</c>; centered: <c>ga += (1 − α)(d − ga)</c> and
    /// <c>avg = √(sq − ga²) + eps</c>, else <c>avg = √sq + eps</c>; with momentum <c>buf = μ·buf + d / avg</c> and
    /// <c>p −= lr·buf</c>, else <c>p −= lr · d / avg</c>. No bias correction, so there is no step count.
    /// <paramref name="momentumBuffer"/> is used (and must be as long as the parameter) only when <paramref name="momentum"/>
    /// is not 0, <paramref name="gradAvg"/> only when <paramref name="centered"/>; otherwise pass empty spans.
    /// </summary>
    /// <remarks>
    /// Centered: <c>sq − ga²</c> is never negative in exact arithmetic, but float rounding can make it a hair below 0, where
    /// PyTorch's <c>sqrt</c> would produce NaN; here it counts as 0.
    /// </remarks>
    public static void Rmsprop(Span<float> p, ReadOnlySpan<float> g, Span<float> squareAvg, Span<float> momentumBuffer, Span<float> gradAvg,
        float lr, float alpha, float eps, float weightDecay, float momentum, bool centered)
    {
        CheckLength(p, g, nameof(g));
        CheckLength(p, squareAvg, nameof(squareAvg));
        bool hasMomentum = momentum != 0;
        if (hasMomentum) CheckLength(p, momentumBuffer, nameof(momentumBuffer));
        if (centered) CheckLength(p, gradAvg, nameof(gradAvg));

        int n = p.Length;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float sr = ref MemoryMarshal.GetReference(squareAvg);
        ref float br = ref MemoryMarshal.GetReference(momentumBuffer);
        ref float ar = ref MemoryMarshal.GetReference(gradAvg);
        float oneMinusAlpha = 1f - alpha;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vLr = new Vector<float>(lr);
            var vAlpha = new Vector<float>(alpha);
            var v1mA = new Vector<float>(oneMinusAlpha);
            var vEps = new Vector<float>(eps);
            var vWd = new Vector<float>(weightDecay);
            var vMu = new Vector<float>(momentum);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var d = Vector.LoadUnsafe(ref gr, (nuint)i) + vWd * pv;
                var sq = vAlpha * Vector.LoadUnsafe(ref sr, (nuint)i) + v1mA * (d * d);
                sq.StoreUnsafe(ref sr, (nuint)i);
                Vector<float> avg;
                if (centered)
                {
                    var ga = Vector.LoadUnsafe(ref ar, (nuint)i);
                    ga += v1mA * (d - ga);
                    ga.StoreUnsafe(ref ar, (nuint)i);
                    avg = Vector.SquareRoot(Vector.Max(sq - ga * ga, Vector<float>.Zero)) + vEps;
                }
                else avg = Vector.SquareRoot(sq) + vEps;
                if (hasMomentum)
                {
                    var b = vMu * Vector.LoadUnsafe(ref br, (nuint)i) + d / avg;
                    b.StoreUnsafe(ref br, (nuint)i);
                    (pv - vLr * b).StoreUnsafe(ref pr, (nuint)i);
                }
                else (pv - vLr * (d / avg)).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float d = Unsafe.Add(ref gr, i) + weightDecay * pv;
            float sq = alpha * Unsafe.Add(ref sr, i) + oneMinusAlpha * (d * d);
            Unsafe.Add(ref sr, i) = sq;
            float avg;
            if (centered)
            {
                float ga = Unsafe.Add(ref ar, i);
                ga += oneMinusAlpha * (d - ga);
                Unsafe.Add(ref ar, i) = ga;
                avg = MathF.Sqrt(MathF.Max(sq - ga * ga, 0f)) + eps;
            }
            else avg = MathF.Sqrt(sq) + eps;
            if (hasMomentum)
            {
                float b = momentum * Unsafe.Add(ref br, i) + d / avg;
                Unsafe.Add(ref br, i) = b;
                Unsafe.Add(ref pr, i) = pv - lr * b;
            }
            else Unsafe.Add(ref pr, i) = pv - lr * (d / avg);
        }
    }

    private static void CheckLength(Span<float> p, ReadOnlySpan<float> other, string name)
    {
        if (other.Length < p.Length)
            throw new ArgumentException($"{name} has {other.Length} elements but the parameter has {p.Length}.", name);
    }
}
