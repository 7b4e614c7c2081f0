using System;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>Element-by-element comparison of a kernel's output with the CPU kernel's, reporting the largest difference.</summary>
internal static class LayerAssert
{
    /// <summary>The default tolerance: |gpu − cpu| ≤ 1e-5 + 1e-4·|cpu|.</summary>
    public const float Absolute = 1e-5f, Relative = 1e-4f;

    /// <summary>
    /// Asserts |gpu − cpu| ≤ <paramref name="absolute"/> + <paramref name="relative"/>·|cpu| for every element (NaN
    /// matches NaN only) and writes the largest difference to <paramref name="output"/>; returns it.
    /// </summary>
    public static double Close(ITestOutputHelper output, string what, ReadOnlySpan<float> cpu, ReadOnlySpan<float> gpu,
        float absolute = Absolute, float relative = Relative)
    {
        Assert.True(cpu.Length == gpu.Length, $"{what}: the CPU gave {cpu.Length} values, the kernel {gpu.Length}");
        double largest = 0;
        int failures = 0, firstFailure = -1;
        for (int i = 0; i < cpu.Length; i++)
        {
            float expected = cpu[i], actual = gpu[i];
            if (float.IsNaN(expected) || float.IsNaN(actual))
            {
                if (float.IsNaN(expected) && float.IsNaN(actual)) continue;
                failures++;
                if (firstFailure < 0) firstFailure = i;
                continue;
            }
            double difference = Math.Abs((double)actual - expected);
            largest = Math.Max(largest, difference);
            if (difference > absolute + relative * Math.Abs((double)expected))
            {
                failures++;
                if (firstFailure < 0) firstFailure = i;
            }
        }
        output.WriteLine($"{what}: max |gpu − cpu| = {largest:0.###e+0} over {cpu.Length} values");
        Assert.True(failures == 0,
            $"{what}: {failures} of {cpu.Length} values differ by more than {absolute:g} + {relative:g}·|cpu|; first at [{firstFailure}]: " +
            $"cpu {(firstFailure < 0 ? 0 : cpu[firstFailure]):R}, gpu {(firstFailure < 0 ? 0 : gpu[firstFailure]):R} (max difference {largest:g3})");
        return largest;
    }

    /// <summary>Integer outputs (pool indices) must match exactly.</summary>
    public static void Equal(ITestOutputHelper output, string what, ReadOnlySpan<int> cpu, ReadOnlySpan<int> gpu)
    {
        Assert.True(cpu.Length == gpu.Length, $"{what}: the CPU gave {cpu.Length} values, the kernel {gpu.Length}");
        int failures = 0, first = -1;
        for (int i = 0; i < cpu.Length; i++)
        {
            if (cpu[i] == gpu[i]) continue;
            failures++;
            if (first < 0) first = i;
        }
        output.WriteLine($"{what}: {cpu.Length - failures} of {cpu.Length} equal");
        Assert.True(failures == 0, $"{what}: {failures} of {cpu.Length} differ; first at [{first}]: cpu {(first < 0 ? 0 : cpu[first])}, gpu {(first < 0 ? 0 : gpu[first])}");
    }

    /// <summary><paramref name="count"/> values uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static float[] Uniform(Random random, long count, float low = -1f, float high = 1f)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = low + (high - low) * random.NextSingle();
        return values;
    }
}
