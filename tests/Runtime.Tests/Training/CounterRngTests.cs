using System;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Tests.Training;

public class CounterRngTests
{
    [Fact]
    public void Hash_is_lowbias32()
    {
        // Reference values computed from the published lowbias32 steps by hand-written scalar code below.
        static uint Reference(uint x)
        {
            x ^= x >> 16; x = unchecked(x * 0x7feb352d);
            x ^= x >> 15; x = unchecked(x * 0x846ca68b);
            return x ^ (x >> 16);
        }
        Assert.Equal(0u, CounterRng.Hash(0));
        for (uint x = 1; x < 100_000; x += 7) Assert.Equal(Reference(x), CounterRng.Hash(x));
        Assert.Equal(unchecked((Reference(5u * 0x9E3779B9u ^ Reference(42)) >> 8) * (1f / 16777216f)), CounterRng.Uniform(42, 5));
    }

    [Fact]
    public void Fixed_values_for_ports_to_check_against()
    {
        // A CUDA C or Python port of the same formulas must reproduce these exactly.
        Assert.Equal(1753845952u, CounterRng.Hash(1));
        Assert.Equal(2435775735u, CounterRng.Hash(12345));
        Assert.Equal(0.23903346f, CounterRng.Uniform(42, 5));
        Assert.Equal(0.21905392f, CounterRng.Uniform(7, 1000));
    }

    [Fact]
    public void Vector_forms_equal_the_scalar_form()
    {
        foreach (uint seed in new uint[] { 0, 1, 12345, 0xFFFFFFFF })
        {
            for (uint start = 0; start < 40_000; start += 8)
            {
                var indices = Vector256.Create(start) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7) * Vector256.Create(977u);
                Vector256<float> values = CounterRng.Uniform(seed, indices);
                for (int lane = 0; lane < 8; lane++)
                    Assert.Equal(CounterRng.Uniform(seed, indices[lane]), values[lane]);
            }
            var wide = Vector512.Create(0xFFFFFFF0u) + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            Vector512<float> v512 = CounterRng.Uniform(seed, wide);
            for (int lane = 0; lane < 16; lane++) Assert.Equal(CounterRng.Uniform(seed, wide[lane]), v512[lane]);
        }
    }

    [Fact]
    public void Fill_matches_scalar_including_the_tail_and_index_wraparound()
    {
        var values = new float[1003];
        CounterRng.Fill(values, 9, 0xFFFFFF00u);
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(CounterRng.Uniform(9, unchecked(0xFFFFFF00u + (uint)i)), values[i]);
    }

    [Fact]
    public void Values_are_uniform_on_zero_one()
    {
        const int n = 1 << 20, buckets = 64;
        var values = new float[n];
        CounterRng.Fill(values, 7, 0);
        var counts = new int[buckets];
        double sum = 0;
        foreach (float x in values)
        {
            Assert.InRange(x, 0f, 0.99999995f);
            sum += x;
            counts[(int)(x * buckets)]++;
        }
        Assert.InRange(sum / n, 0.499, 0.501);   // σ of the mean ≈ 0.00028
        double expected = (double)n / buckets, chi2 = 0;
        foreach (int c in counts) chi2 += (c - expected) * (c - expected) / expected;
        // 63 degrees of freedom: the 99.9th percentile is about 103.
        Assert.True(chi2 < 103, $"chi-square {chi2:F1} over {buckets} buckets");
    }

    [Fact]
    public void Seeds_give_unrelated_streams()
    {
        int same = 0;
        for (uint i = 0; i < 10_000; i++)
            if (CounterRng.Uniform(1, i) == CounterRng.Uniform(2, i)) same++;
        Assert.True(same < 5);
        // Neighbouring indices are not correlated (lag-1 serial correlation near 0).
        double sxy = 0, sx = 0, sxx = 0;
        const int n = 100_000;
        for (uint i = 0; i < n; i++)
        {
            double x = CounterRng.Uniform(3, i), y = CounterRng.Uniform(3, i + 1);
            sxy += x * y; sx += x; sxx += x * x;
        }
        double mean = sx / n, variance = sxx / n - mean * mean;
        Assert.InRange((sxy / n - mean * mean) / variance, -0.02, 0.02);
    }
}
