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

    /// <summary>GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Gelu(float x) => 0.5f * x * (1f + Tanh(GeluK * (x + GeluC * x * x * x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x)
    {
        var inner = Vector256.Create(GeluK) * (x + Vector256.Create(GeluC) * x * x * x);
        return Vector256.Create(0.5f) * x * (Vector256<float>.One + Tanh(inner));
    }

    /// <summary>d gelu / dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GeluGrad(float x)
    {
        float t = Tanh(GeluK * (x + GeluC * x * x * x));
        return 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * GeluK * (1f + 3f * GeluC * x * x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GeluGrad(Vector256<float> x)
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
