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
    private static (double Mean, double Std) Moments(float[] w)
    {
        double mean = w.Average(x => (double)x);
        return (mean, Math.Sqrt(w.Average(x => ((double)x - mean) * ((double)x - mean))));
    }

    // The declared initialisers (init statements): PyTorch's torch.nn.init formulas, checked by their moments on
    // 200,000 draws (the standard error of the mean is std/447, of the std about std/632).
    [Theory]
    [InlineData("normal", 0.5, 0.02)]            // N(0.5, 0.02²)
    [InlineData("uniform", -0.1, 0.3)]           // U(-0.1, 0.3): mean 0.1, std 0.4/√12
    [InlineData("xavier_normal", 0.0, 0.0)]      // gain 5/3, fans 300 and 100: std = gain·√(2/400)
    [InlineData("xavier_uniform", 0.0, 0.0)]     // gain 2: bound = 2·√(6/400), std = bound/√3
    [InlineData("kaiming_normal", 0.0, 0.0)]     // gain √2, fan 300: std = √2/√300
    [InlineData("kaiming_uniform", 0.0, 0.0)]    // gain 5/3, fan 100: bound = gain·√(3/100), std = gain/√100
    public void Declared_initialisers_have_pytorchs_moments(string kind, double a, double b)
    {
        const int n = 200_000;
        (double mean, double std, double bound) expected = kind switch
        {
            "normal" => (a, b, double.PositiveInfinity),
            "uniform" => ((a + b) / 2, (b - a) / Math.Sqrt(12), 0),
            "xavier_normal" => (0, 5.0 / 3 * Math.Sqrt(2.0 / 400), double.PositiveInfinity),
            "xavier_uniform" => (0, 2 * Math.Sqrt(6.0 / 400) / Math.Sqrt(3), 2 * Math.Sqrt(6.0 / 400)),
            "kaiming_normal" => (0, Math.Sqrt(2.0) / Math.Sqrt(300), double.PositiveInfinity),
            _ => (0, 5.0 / 3 / Math.Sqrt(100), 5.0 / 3 * Math.Sqrt(3.0 / 100)),
        };
        float[] w = Run(x =>
        {
            switch (kind)
            {
                case "normal": Init.Normal(x, (float)a, (float)b, 7); break;
                case "uniform": Init.Uniform(x, (float)a, (float)b, 7); break;
                case "xavier_normal": Init.XavierNormal(x, 300, 100, 5.0 / 3, 7); break;
                case "xavier_uniform": Init.XavierUniform(x, 300, 100, 2.0, 7); break;
                case "kaiming_normal": Init.KaimingNormal(x, 300, Math.Sqrt(2.0), 7); break;
                default: Init.KaimingUniform(x, 100, 5.0 / 3, 7); break;
            }
        }, n);
        var (mean, std) = Moments(w);
        Assert.InRange(mean, expected.mean - 0.01 * expected.std, expected.mean + 0.01 * expected.std);
        Assert.InRange(std, 0.99 * expected.std, 1.01 * expected.std);
        if (kind == "uniform") Assert.All(w, x => Assert.InRange(x, (float)a, (float)b));
        else if (!double.IsPositiveInfinity(expected.bound)) Assert.All(w, x => Assert.InRange(x, -(float)expected.bound, (float)expected.bound));
    }

    [Fact]
    public void Declared_forms_reproduce_the_op_defaults_and_zeros_and_ones_are_exact()
    {
        // kaiming_uniform(nonlinearity="relu") is the dense default; xavier_uniform() the attention default.
        float[] byDefault = Run(x => Init.KaimingUniform(x, 784, 5), 1000);
        float[] declared = Run(x => Init.KaimingUniform(x, 784, Math.Sqrt(2.0), 5), 1000);
        Assert.Equal(byDefault, declared, (p, q) => Math.Abs(p - q) <= 1e-7f * Math.Max(1f, Math.Abs(p)) + 1e-9f);
        Assert.Equal(Run(x => Init.XavierUniform(x, 784, 256, 5), 1000), Run(x => Init.XavierUniform(x, 784, 256, 1.0, 5), 1000));
        // normal(mean, std) is the std draw shifted: same stream, so the same seed gives the same noise.
        float[] plain = Run(x => Init.Normal(x, 0.02f, 5), 1000);
        Assert.Equal(plain.Select(v => v + 3f), Run(x => Init.Normal(x, 3f, 0.02f, 5), 1000));
        Assert.All(Run(x => Init.Constant(x, 0f), 1001), x => Assert.Equal(0f, x));
        Assert.All(Run(x => Init.Constant(x, 1f), 1001), x => Assert.Equal(1f, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => Init.Uniform(new float[3], 1f, 0.5f, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Init.KaimingNormal(new float[3], 0, 1.0, 1));
    }
}
