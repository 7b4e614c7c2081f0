using System;
using System.Linq;

namespace ModelDsl.Runtime.Tests.Training;

public class InitTests
{
    private static float[] Run(Action<float[]> init, int n = 10_001)
    {
        var w = new float[n];
        init(w);
        return w;
    }

    [Fact]
    public void Same_seed_same_values_different_seed_different_values()
    {
        Action<float[]>[] seeded(ulong seed) =>
        [
            w => Init.KaimingUniform(w, 784, seed),
            w => Init.XavierUniform(w, 784, 256, seed),
            w => Init.Normal(w, 0.02f, seed),
            w => Init.Uniform(w, 0.5f, seed),
        ];
        var a = seeded(1); var b = seeded(1); var c = seeded(2);
        for (int k = 0; k < a.Length; k++)
        {
            Assert.Equal(Run(a[k]), Run(b[k]));
            float[] x = Run(a[k]), y = Run(c[k]);
            Assert.True(x.Zip(y).Count(t => t.First == t.Second) < 10);
        }
    }

    [Fact]
    public void Values_depend_only_on_seed_and_index_not_on_slicing()
    {
        float[] whole = Run(w => Init.Uniform(w, 1f, 5), 100);
        float[] prefix = Run(w => Init.Uniform(w, 1f, 5), 37);
        Assert.Equal(whole.Take(37), prefix);
        float[] normal = Run(w => Init.Normal(w, 1f, 5), 100);
        float[] odd = Run(w => Init.Normal(w, 1f, 5), 37);
        Assert.Equal(normal.Take(37), odd);
    }

    [Fact]
    public void Fixed_values_do_not_drift_between_versions()
    {
        // Pinned so a refactor cannot silently change every model's initial weights (or a port disagree).
        float[] uniform = Run(x => Init.Uniform(x, 1f, 42), 4);
        Assert.Equal([0.48312974f, -0.68017924f, -0.44279778f, -0.3116187f], uniform);
        float[] normal = Run(x => Init.Normal(x, 1f, 42), 4);
        Assert.Equal([0.41471976f, 0.65268123f, -0.89188623f, 1.3268336f], normal, (a, b) => Math.Abs(a - b) <= 1e-6f);
    }

    [Theory]
    [InlineData("kaiming")]
    [InlineData("xavier")]
    [InlineData("uniform")]
    public void Uniform_initialisers_stay_in_bounds_with_the_right_variance(string kind)
    {
        const int n = 200_000;
        float bound = kind switch
        {
            "kaiming" => (float)Math.Sqrt(6.0 / 784),
            "xavier" => (float)Math.Sqrt(6.0 / (784 + 256)),
            _ => 0.3f,
        };
        float[] w = Run(x =>
        {
            if (kind == "kaiming") Init.KaimingUniform(x, 784, 3);
            else if (kind == "xavier") Init.XavierUniform(x, 784, 256, 3);
            else Init.Uniform(x, 0.3f, 3);
        }, n);
        Assert.All(w, x => Assert.InRange(x, -bound, bound));
        double mean = w.Average(x => (double)x), variance = w.Average(x => (double)x * x) - mean * mean;
        Assert.InRange(mean, -0.01 * bound, 0.01 * bound);
        Assert.InRange(variance, 0.98 * bound * bound / 3, 1.02 * bound * bound / 3);
        Assert.True(w.Max() > 0.99f * bound && w.Min() < -0.99f * bound);
    }

    [Fact]
    public void Normal_has_the_requested_moments()
    {
        const int n = 200_001;
        float[] w = Run(x => Init.Normal(x, 0.02f, 11), n);
        double mean = w.Average(x => (double)x), variance = w.Average(x => (double)x * x) - mean * mean;
        Assert.InRange(mean, -0.0002, 0.0002);
        Assert.InRange(Math.Sqrt(variance), 0.0198, 0.0202);
        Assert.All(w, x => Assert.True(float.IsFinite(x)));
        // About 4.55% beyond two standard deviations.
        double tail = w.Count(x => Math.Abs(x) > 0.04) / (double)n;
        Assert.InRange(tail, 0.043, 0.048);
    }

    [Fact]
    public void Constant_fills()
    {
        Assert.All(Run(x => Init.Constant(x, 0.25f), 9), x => Assert.Equal(0.25f, x));
    }
}
