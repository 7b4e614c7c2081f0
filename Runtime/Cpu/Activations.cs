using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// Activation functions and their derivatives, each in a scalar and a Vector256 form with the same formula, so a
/// generated fused loop computes identical values in its vector body and its scalar tail. Generated code calls
/// these inside its loops; they inline.
/// </summary>
public static class Activations
{
    /// <summary>√(2/π), GELU's tanh-approximation constant.</summary>
    private const float GeluK = 0.7978845608028654f;
    private const float GeluC = 0.044715f;

    /// <summary>1/√2 and 1/√(2π): exact GELU's constants.</summary>
    private const float Sqrt1Over2 = 0.7071067811865476f;
    private const float InvSqrt2Pi = 0.3989422804014327f;

    // erf's rational approximation (Eigen's and XLA's float erf): numerator x·P(x²), odd; denominator Q(x²), even.
    private const double ErfA1 = -1.60960333262415e-02;
    private const double ErfA3 = -2.95459980854025e-03;
    private const double ErfA5 = -7.34990630326855e-04;
    private const double ErfA7 = -5.69250639462346e-05;
    private const double ErfA9 = -2.10102402082508e-06;
    private const double ErfA11 = 2.77068142495902e-08;
    private const double ErfA13 = -2.72614225801306e-10;
    private const double ErfB0 = -1.42647390514189e-02;
    private const double ErfB2 = -7.37332916720468e-03;
    private const double ErfB4 = -1.68282697438203e-03;
    private const double ErfB6 = -2.13374055278905e-04;
    private const double ErfB8 = -1.45660718464996e-05;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => x > 0f ? x : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

    /// <summary>1 where x &gt; 0, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float PositiveMask(float x) => x > 0f ? 1f : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> PositiveMask(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256<float>.One, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    /// <summary>tanh x = 1 − 2/(e^{2x} + 1): exact at both tails (e^{2x} → ∞ gives 1, → 0 gives −1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x) => 1f - 2f / (MathF.Exp(2f * x) + 1f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var two = Vector256.Create(2f);
        return Vector256<float>.One - two / (Vector256.Exp(two * x) + Vector256<float>.One);
    }

    /// <summary>
    /// erf x for a float: x·P(x²)/Q(x²) on x clamped to [−4, 4] (beyond, erf is ±1 in floats), the rational
    /// approximation Eigen and XLA use for float erf, evaluated in double (Horner steps as fused multiply-adds: fewer
    /// instructions in the GELU loops of a BERT step, and no less accurate) and rounded once. Its error against the exact
    /// erf is at most 6.5e-8 (absolute and relative), plus that rounding: about 1e-7 (ActivationsTests measures it
    /// against a double-precision erf; in float arithmetic the same polynomials lose ~6 ulp near |x| = 3.4). .NET's
    /// Math has no erf, and this form vectorises: no branches, one division.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erf(float x)
    {
        double z = Math.Min(Math.Max(x, -4.0), 4.0);
        double z2 = z * z;
        double p = ErfA13;
        p = Math.FusedMultiplyAdd(p, z2, ErfA11);
        p = Math.FusedMultiplyAdd(p, z2, ErfA9);
        p = Math.FusedMultiplyAdd(p, z2, ErfA7);
        p = Math.FusedMultiplyAdd(p, z2, ErfA5);
        p = Math.FusedMultiplyAdd(p, z2, ErfA3);
        p = Math.FusedMultiplyAdd(p, z2, ErfA1);
        double q = ErfB8;
        q = Math.FusedMultiplyAdd(q, z2, ErfB6);
        q = Math.FusedMultiplyAdd(q, z2, ErfB4);
        q = Math.FusedMultiplyAdd(q, z2, ErfB2);
        q = Math.FusedMultiplyAdd(q, z2, ErfB0);
        return (float)(z * p / q);
    }

    /// <summary>The same in two halves of four doubles, narrowed back: lane for lane the scalar's value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var (lower, upper) = Vector256.Widen(x);
        return Vector256.Narrow(Erf(lower), Erf(upper));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Erf(Vector256<double> x)
    {
        var z = Vector256.Min(Vector256.Max(x, Vector256.Create(-4.0)), Vector256.Create(4.0));
        var z2 = z * z;
        var p = Vector256.Create(ErfA13);
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA11));
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA9));
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA7));
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA5));
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA3));
        p = Vector256.FusedMultiplyAdd(p, z2, Vector256.Create(ErfA1));
        var q = Vector256.Create(ErfB8);
        q = Vector256.FusedMultiplyAdd(q, z2, Vector256.Create(ErfB6));
        q = Vector256.FusedMultiplyAdd(q, z2, Vector256.Create(ErfB4));
        q = Vector256.FusedMultiplyAdd(q, z2, Vector256.Create(ErfB2));
        q = Vector256.FusedMultiplyAdd(q, z2, Vector256.Create(ErfB0));
        return z * p / q;
    }

    /// <summary>GELU, exact (PyTorch's default, BERT's): x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * Sqrt1Over2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x) =>
        Vector256.Create(0.5f) * x * (Vector256<float>.One + Erf(x * Vector256.Create(Sqrt1Over2)));

    /// <summary>d gelu / dx = Φ(x) + x·φ(x): ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π) (finite for every x: e^(−x²/2) → 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluGrad(float x) => 0.5f * (1f + Erf(x * Sqrt1Over2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GeluGrad(Vector256<float> x)
    {
        var half = Vector256.Create(0.5f);
        var cdf = half * (Vector256<float>.One + Erf(x * Vector256.Create(Sqrt1Over2)));
        return cdf + x * Vector256.Create(InvSqrt2Pi) * Vector256.Exp(-half * x * x);
    }

    /// <summary>GELU, tanh approximation (GPT-2's; PyTorch approximate="tanh"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluTanh(float x) => 0.5f * x * (1f + Tanh(GeluK * (x + GeluC * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GeluTanh(Vector256<float> x)
    {
        var inner = Vector256.Create(GeluK) * (x + Vector256.Create(GeluC) * x * x * x);
        return Vector256.Create(0.5f) * x * (Vector256<float>.One + Tanh(inner));
    }

    /// <summary>d gelu_tanh / dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluTanhGrad(float x)
    {
        float t = Tanh(GeluK * (x + GeluC * x * x * x));
        return 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * GeluK * (1f + 3f * GeluC * x * x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GeluTanhGrad(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var half = Vector256.Create(0.5f);
        var k = Vector256.Create(GeluK);
        var c = Vector256.Create(GeluC);
        var t = Tanh(k * (x + c * x * x * x));
        return half * (one + t) + half * x * (one - t * t) * k * (one + Vector256.Create(3f) * c * x * x);
    }

    /// <summary>SiLU (swish): x·σ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Silu(float x) => x * Sigmoid(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Silu(Vector256<float> x) => x * Sigmoid(x);

    /// <summary>d silu / dx = σ(x)(1 + x(1 − σ(x))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SiluGrad(float x)
    {
        float s = Sigmoid(x);
        return s * (1f + x * (1f - s));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SiluGrad(Vector256<float> x)
    {
        var s = Sigmoid(x);
        return s * (Vector256<float>.One + x * (Vector256<float>.One - s));
    }

    /// <summary>e^min(x, 0) − 1: ELU's negative branch (0 for x &gt; 0, so a large x cannot overflow a masked-off branch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float NegativeExpM1(float x) => MathF.Exp(MathF.Min(x, 0f)) - 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NegativeExpM1(Vector256<float> x) => Vector256.Exp(Vector256.Min(x, Vector256<float>.Zero)) - Vector256<float>.One;
}
