using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelDsl.Runtime;

/// <summary>
/// Optimizer updates with PyTorch's semantics, one fused pass over each parameter tensor (the update is
/// memory-bound, so reading p, g and the state once matters more than anything else). Nothing is allocated.
/// </summary>
/// <remarks>
/// The loops use <see cref="Vector{T}"/>, which the JIT sizes to the machine (256 bits with AVX2, 128 with NEON),
/// and the scalar tail computes exactly the same float operations (no FMA), so an element's result does not
/// depend on whether it fell in a vector or in the tail. Optimizer state must start zeroed
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
    private static void AdamCore(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
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

        int n = p.Length;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref float vr = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vL2 = new Vector<float>(l2);
            var vDecay = new Vector<float>(decay);
            var vB2 = new Vector<float>(beta2);
            var v1mB1 = new Vector<float>(oneMinusB1);
            var v1mB2 = new Vector<float>(oneMinusB2);
            var vStep = new Vector<float>(stepSize);
            var vBc2 = new Vector<float>(bc2Sqrt);
            var vEps = new Vector<float>(eps);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var d = Vector.LoadUnsafe(ref gr, (nuint)i) + vL2 * pv;
                var mv = Vector.LoadUnsafe(ref mr, (nuint)i);
                mv += v1mB1 * (d - mv);
                var vv = vB2 * Vector.LoadUnsafe(ref vr, (nuint)i) + v1mB2 * (d * d);
                mv.StoreUnsafe(ref mr, (nuint)i);
                vv.StoreUnsafe(ref vr, (nuint)i);
                var denom = Vector.SquareRoot(vv) / vBc2 + vEps;
                (pv * vDecay - vStep * (mv / denom)).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float d = Unsafe.Add(ref gr, i) + l2 * pv;
            float mv = Unsafe.Add(ref mr, i);
            mv += oneMinusB1 * (d - mv);
            float vv = beta2 * Unsafe.Add(ref vr, i) + oneMinusB2 * (d * d);
            Unsafe.Add(ref mr, i) = mv;
            Unsafe.Add(ref vr, i) = vv;
            float denom = MathF.Sqrt(vv) / bc2Sqrt + eps;
            Unsafe.Add(ref pr, i) = pv * decay - stepSize * (mv / denom);
        }
    }

    private static void CheckLength(Span<float> p, ReadOnlySpan<float> other, string name)
    {
        if (other.Length < p.Length)
            throw new ArgumentException($"{name} has {other.Length} elements but the parameter has {p.Length}.", name);
    }
}
