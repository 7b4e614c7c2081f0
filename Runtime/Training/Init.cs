using System;

namespace ModelDsl.Runtime;

/// <summary>
/// Seeded, deterministic parameter initialisers. Element <c>i</c> is a pure function of (seed, i) — the i-th
/// output of SplitMix64 started at <paramref name="seed"/>, computed directly rather than by stepping a generator —
/// so the values never depend on the .NET version (unlike <see cref="System.Random"/>), on threading, or on
/// how a caller slices the span.
/// </summary>
/// <remarks>Only one-time setup code calls these, so they favour clarity (double arithmetic) over speed.</remarks>
public static class Init
{
    /// <summary>
    /// He (Kaiming) uniform for ReLU layers: U(−b, b) with <c>b = sqrt(6 / fanIn)</c>, i.e. gain sqrt(2) and
    /// <c>b = gain · sqrt(3 / fanIn)</c> (PyTorch <c>kaiming_uniform_(w, nonlinearity="relu")</c>).
    /// Note this is not nn.Linear's default, which uses a = sqrt(5), i.e. <c>b = 1 / sqrt(fanIn)</c>; use
    /// <see cref="Uniform"/> with that bound to reproduce it.
    /// </summary>
    public static void KaimingUniform(Span<float> w, long fanIn, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        Uniform(w, (float)Math.Sqrt(6.0 / fanIn), seed);
    }

    /// <summary>
    /// Kaiming (He) uniform with an explicit gain, PyTorch's <c>kaiming_uniform_(w, a, mode, nonlinearity)</c>:
    /// U(−b, b) with <c>b = gain · sqrt(3 / fan)</c>, where <paramref name="fan"/> is fan-in or fan-out as the mode
    /// says and <paramref name="gain"/> is <c>calculate_gain(nonlinearity, a)</c> (sqrt(2) for relu).
    /// </summary>
    public static void KaimingUniform(Span<float> w, long fan, double gain, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fan);
        Uniform(w, (float)(gain * Math.Sqrt(3.0 / fan)), seed);
    }

    /// <summary>Kaiming (He) normal, PyTorch's <c>kaiming_normal_</c>: N(0, std²) with <c>std = gain / sqrt(fan)</c>.</summary>
    public static void KaimingNormal(Span<float> w, long fan, double gain, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fan);
        Normal(w, (float)(gain / Math.Sqrt(fan)), seed);
    }

    /// <summary>Glorot (Xavier) uniform, gain 1: U(−b, b) with <c>b = sqrt(6 / (fanIn + fanOut))</c>.</summary>
    public static void XavierUniform(Span<float> w, long fanIn, long fanOut, ulong seed) => XavierUniform(w, fanIn, fanOut, 1.0, seed);

    /// <summary>Glorot (Xavier) uniform, PyTorch's <c>xavier_uniform_(w, gain)</c>: U(−b, b) with <c>b = gain · sqrt(6 / (fanIn + fanOut))</c>.</summary>
    public static void XavierUniform(Span<float> w, long fanIn, long fanOut, double gain, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanOut);
        Uniform(w, (float)(gain * Math.Sqrt(6.0 / (fanIn + fanOut))), seed);
    }

    /// <summary>Glorot (Xavier) normal, PyTorch's <c>xavier_normal_(w, gain)</c>: N(0, std²) with <c>std = gain · sqrt(2 / (fanIn + fanOut))</c>.</summary>
    public static void XavierNormal(Span<float> w, long fanIn, long fanOut, double gain, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanOut);
        Normal(w, (float)(gain * Math.Sqrt(2.0 / (fanIn + fanOut))), seed);
    }

    /// <summary>N(mean, std²), PyTorch's <c>normal_(w, mean, std)</c>: <see cref="Normal(Span{float}, float, ulong)"/> shifted by <paramref name="mean"/>.</summary>
    public static void Normal(Span<float> w, float mean, float std, ulong seed)
    {
        Normal(w, std, seed);
        if (mean != 0f)
        {
            for (int i = 0; i < w.Length; i++) w[i] += mean;
        }
    }

    /// <summary>N(0, std²) by Box–Muller: elements 2k and 2k+1 share the pair of draws 2k and 2k+1.</summary>
    public static void Normal(Span<float> w, float std, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(std);
        for (int i = 0; i < w.Length; i += 2)
        {
            // u1 in (0, 1] so the log is finite; u2 in [0, 1).
            double u1 = ((At(seed, i) >> 11) + 1) * (1.0 / (1UL << 53));
            double u2 = (At(seed, i + 1) >> 11) * (1.0 / (1UL << 53));
            double r = std * Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            w[i] = (float)(r * Math.Cos(angle));
            if (i + 1 < w.Length) w[i + 1] = (float)(r * Math.Sin(angle));
        }
    }

    /// <summary>U(−bound, bound): <c>(2u − 1) · bound</c> with u a 24-bit uniform, so every value lies in [−bound, bound).</summary>
    public static void Uniform(Span<float> w, float bound, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bound);
        for (int i = 0; i < w.Length; i++)
        {
            // 2u − 1 = (k − 2^23) / 2^23 is exact in float, and rounding the product by bound never exceeds bound.
            float u = (At(seed, i) >> 40) * (1f / 16777216f);
            w[i] = (2f * u - 1f) * bound;
        }
    }

    /// <summary>
    /// U(low, high), PyTorch's <c>uniform_(w, a, b)</c>: <c>low + (high − low) · u</c> with u the same 24-bit uniform
    /// as <see cref="Uniform(Span{float}, float, ulong)"/>, so every value lies in [low, high].
    /// </summary>
    public static void Uniform(Span<float> w, float low, float high, ulong seed)
    {
        if (!(low <= high)) throw new ArgumentOutOfRangeException(nameof(high), high, $"high must be at least low ({low}).");
        for (int i = 0; i < w.Length; i++)
        {
            double u = (At(seed, i) >> 40) * (1.0 / 16777216.0);
            w[i] = (float)Math.Min(high, low + (high - (double)low) * u);
        }
    }

    public static void Constant(Span<float> w, float value) => w.Fill(value);

    /// <summary>The (index+1)-th SplitMix64 output from <paramref name="seed"/>: the state is just seed + n·γ.</summary>
    internal static ulong At(ulong seed, long index)
    {
        ulong z = unchecked(seed + (ulong)(index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
