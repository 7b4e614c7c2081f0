using System;
using System.Runtime.Intrinsics;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

/// <summary>
/// The CPU activations against double-precision references: erf (a rational approximation, .NET has none) to about
/// 1e-7, exact GELU and its derivative Φ(x) + x·φ(x), and the tanh form; the Vector256 overloads against the scalar ones.
/// </summary>
public class ActivationsTests
{
    /// <summary>
    /// erf in double: 2/√π · e^(−x²) · Σ (2x²)ⁿ·x / (1·3·…·(2n+1)), a series of positive terms (no cancellation), to
    /// about 1e-15 relative for |x| ≤ 6; beyond that erf is ±1 to within 2e-17.
    /// </summary>
    private static double ReferenceErf(double x)
    {
        if (Math.Abs(x) > 6) return Math.Sign(x);
        double term = x, sum = x, twoX2 = 2 * x * x;
        for (int n = 1; n < 400 && Math.Abs(term) > 1e-18 * Math.Abs(sum); n++)
        {
            term *= twoX2 / (2 * n + 1);
            sum += term;
        }
        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    private static double ReferenceGelu(double x) => 0.5 * x * (1 + ReferenceErf(x / Math.Sqrt(2)));

    private static double ReferenceGeluGrad(double x) => 0.5 * (1 + ReferenceErf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    /// <summary>Every 2^-12 from −8 to 8, then a geometric sweep of small magnitudes down to 1e-30.</summary>
    private static float[] Inputs()
    {
        var values = new System.Collections.Generic.List<float>();
        for (int i = -8 * 4096; i <= 8 * 4096; i++) values.Add(i / 4096f);
        for (float v = 1e-30f; v < 1f; v *= 1.37f)
        {
            values.Add(v);
            values.Add(-v);
        }
        values.Add(float.MaxValue);
        values.Add(float.MinValue);
        values.Add(float.PositiveInfinity);
        values.Add(float.NegativeInfinity);
        return values.ToArray();
    }

    private static void Near(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");

    [Fact]
    public void The_reference_erf_agrees_with_tabulated_values()
    {
        Near(0.5204998778130465, ReferenceErf(0.5), 1e-15, "erf(0.5)");
        Near(0.8427007929497149, ReferenceErf(1), 1e-15, "erf(1)");
        Near(0.9953222650189527, ReferenceErf(2), 1e-15, "erf(2)");
        Near(-0.9999779095030014, ReferenceErf(-3), 1e-15, "erf(-3)");
        Near(0.9999999999999999785, ReferenceErf(5.9), 1e-15, "erf(5.9)");
        Near(1.1283791670955126e-10, ReferenceErf(1e-10), 1e-25, "erf(1e-10)");
    }

    [Fact]
    public void Erf_is_within_two_tenths_of_a_millionth_relative_of_the_double_erf()
    {
        double worstAbsolute = 0, worstRelative = 0;
        float worstAt = 0;
        foreach (float x in Inputs())
        {
            double expected = ReferenceErf(x), actual = Activations.Erf(x);
            double absolute = Math.Abs(actual - expected), relative = absolute / Math.Abs(expected);
            worstAbsolute = Math.Max(worstAbsolute, absolute);
            if (relative > worstRelative)
            {
                worstRelative = relative;
                worstAt = x;
            }
        }
        Assert.True(worstRelative < 2e-7, $"erf: worst relative error {worstRelative:G3} at {worstAt:R}");
        Assert.True(worstAbsolute < 2e-7, $"erf: worst absolute error {worstAbsolute:G3}");
        Assert.True(Activations.Erf(0.5f) != 0.5f && Activations.Erf(0f) == 0f && Activations.Erf(-0f) == 0f);
    }

    [Fact]
    public void Exact_gelu_and_its_derivative_match_the_double_reference()
    {
        double worstGelu = 0, worstGrad = 0;
        foreach (float x in Inputs())
        {
            if (float.IsInfinity(x) || Math.Abs(x) > 1e6f) continue;
            // ½x·erf: erf's error times |x|/2, plus the float rounding of the result
            worstGelu = Math.Max(worstGelu, Math.Abs(Activations.Gelu(x) - ReferenceGelu(x)) / (1 + Math.Abs(x)));
            worstGrad = Math.Max(worstGrad, Math.Abs(Activations.GeluGrad(x) - ReferenceGeluGrad(x)));
        }
        Assert.True(worstGelu < 2e-7, $"gelu: worst error {worstGelu:G3} (relative to 1 + |x|)");
        Assert.True(worstGrad < 3e-7, $"gelu': worst error {worstGrad:G3}");
        // the exact form, not the tanh one: at −3 they differ by 10%
        Near(-0.00404969409489031, Activations.Gelu(-3f), 1e-7, "gelu(-3)");
        Near(-0.003637392, Activations.GeluTanh(-3f), 3e-7, "gelu_tanh(-3)");
        Assert.Equal(0, Activations.Gelu(-100f));
        Assert.Equal(100, Activations.Gelu(100f));
        Assert.Equal(1, Activations.GeluGrad(100f));
        Assert.Equal(0, Activations.GeluGrad(-100f));
    }

    [Fact]
    public void Tanh_gelu_and_its_derivative_match_the_double_formula()
    {
        const double k = 0.7978845608028654, c = 0.044715;
        for (float x = -8; x <= 8; x += 1f / 64)
        {
            double t = Math.Tanh(k * (x + c * x * x * x));
            Near(0.5 * x * (1 + t), Activations.GeluTanh(x), 1e-6 * (1 + Math.Abs(x)), $"gelu_tanh({x})");
            Near(0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x), Activations.GeluTanhGrad(x), 1e-6 * (1 + Math.Abs(x)), $"gelu_tanh'({x})");
        }
    }

    [Fact]
    public void The_vector_forms_compute_the_scalar_values()
    {
        float[] inputs = Inputs();
        for (int i = 0; i + 8 <= inputs.Length; i += 8)
        {
            var v = Vector256.Create(inputs, i);
            var erf = Activations.Erf(v);
            var gelu = Activations.Gelu(v);
            var grad = Activations.GeluGrad(v);
            for (int lane = 0; lane < 8; lane++)
            {
                float x = inputs[i + lane];
                // the same operations in the same order: bit for bit
                Assert.Equal(Activations.Erf(x), erf[lane]);
                Assert.Equal(Activations.Gelu(x), gelu[lane]);
                // the derivative's exp is Vector256.Exp against MathF.Exp: to rounding
                if (!float.IsInfinity(x) && Math.Abs(x) < 1e6f) Near(Activations.GeluGrad(x), grad[lane], 1e-6, $"gelu'({x})");
            }
        }
    }
}
