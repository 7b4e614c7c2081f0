using System;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// Central-difference gradient checks for the float kernels, with the loss accumulated in double.
/// </summary>
/// <remarks>
/// <para>The scalar checked is <c>L = Σᵢ rᵢ·yᵢ</c> for a fixed random <c>r</c>, so the analytic gradient is the kernel's
/// backward with <c>dy = r</c>. The numeric gradient perturbs one element by ±<see cref="Eps"/> (the step actually
/// taken in float is used as the divisor) and runs the float forward twice; L is summed in double.</para>
/// <para><b>Why eps = 1e-2 and tolerance 2e-3.</b> The error of a central difference is truncation
/// ≈ eps²/6·|L'''| plus rounding ≈ u·Σ|rᵢyᵢ| / eps, with u ≈ 6e-8 for the float outputs. On these problems
/// (values and weights of order 1, L''' of order 1–10, Σ|rᵢyᵢ| of order 10–100) that is about 2e-5–2e-4 + 6e-5–6e-4:
/// eps = 1e-2 balances the two terms (1e-3 would make the rounding term 10× larger, 1e-1 the truncation term 100×).
/// The error is measured as <c>|analytic − numeric| / max(1, |numeric|)</c>: relative for large gradients,
/// absolute for small ones, whose relative error is meaningless. The observed maxima are 1e-7–6e-5 (printed by
/// each test; the largest is layer_norm's dx); 2e-3 leaves a margin of 30× for other shapes and seeds, while a wrong
/// term gives 4e-2–1 (checked by mutation: LSTM forget-gate derivative without f(1−f) 4e-2, layer_norm dx without
/// its x̂ term 1.6e-1, attention dK with dS instead of dSᵀ 6e-1).</para>
/// <para>Non-smooth kernels (max pooling) are checked on inputs whose values are at least 5·eps apart, so no
/// perturbation changes a window's winner.</para>
/// </remarks>
internal static class GradCheck
{
    public const float Eps = 1e-2f;
    public const double Tolerance = 2e-3;

    /// <summary>Max over the elements of <paramref name="values"/> of |analytic − numeric| / max(1, |numeric|).</summary>
    public static double MaxError(float[] values, ReadOnlySpan<float> analytic, Func<double> loss, int count = -1)
    {
        if (count < 0) count = values.Length;
        double worst = 0;
        for (int i = 0; i < count; i++)
        {
            float saved = values[i];
            float up = saved + Eps, down = saved - Eps;
            values[i] = up;
            double lossUp = loss();
            values[i] = down;
            double lossDown = loss();
            values[i] = saved;
            double numeric = (lossUp - lossDown) / ((double)up - down);
            double error = Math.Abs(analytic[i] - numeric) / Math.Max(1, Math.Abs(numeric));
            worst = Math.Max(worst, error);
        }
        return worst;
    }

    /// <summary>Σ rᵢ·yᵢ in double.</summary>
    public static double Dot(ReadOnlySpan<float> y, ReadOnlySpan<float> r)
    {
        double s = 0;
        for (int i = 0; i < r.Length; i++) s += (double)y[i] * r[i];
        return s;
    }

    public static float[] Random(Random rng, int length, float scale = 1f)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>Max over elements of |actual − expected| / max(1, |expected|).</summary>
    public static double MaxDiff(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i])));
        return worst;
    }

    public static void Within(double error, double tolerance, string what)
    {
        Assert.True(error < tolerance, $"{what}: max error {error:E2} ≥ tolerance {tolerance:E1}");
    }
}
