using System;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>
/// Each optimizer against a literal, double-precision transcription of PyTorch's update rule, over several steps
/// with changing gradients, at lengths that leave a scalar tail after the vector loop.
/// </summary>
public class OptimizerTests
{
    private static readonly int[] Lengths = [1, 7, 8, 17, 33, 1027];
    private const int Steps = 6;

    private static float[] Random(int n, uint seed, float scale) =>
        Array.ConvertAll(Sample(n, seed), u => (2 * u - 1) * scale);

    private static float[] Sample(int n, uint seed)
    {
        var x = new float[n];
        CounterRng.Fill(x, seed, 0);
        return x;
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tolerance * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Theory]
    [InlineData(0f, 0f, false)]
    [InlineData(0f, 0.01f, false)]
    [InlineData(0.9f, 0f, false)]
    [InlineData(0.9f, 0.05f, false)]
    [InlineData(0.9f, 0.05f, true)]
    public void Sgd_matches_pytorch(float momentum, float weightDecay, bool nesterov)
    {
        const float lr = 0.1f;
        foreach (int n in Lengths)
        {
            float[] p = Random(n, 1, 1f);
            double[] rp = Array.ConvertAll(p, x => (double)x);
            float[] buf = new float[momentum != 0 ? n : 0];
            double[]? rbuf = null;
            for (int step = 1; step <= Steps; step++)
            {
                float[] g = Random(n, (uint)(100 + step), 0.5f);
                Optimizers.Sgd(p, g, buf, lr, momentum, weightDecay, nesterov);

                // torch/optim/sgd.py, _single_tensor_sgd (dampening = 0).
                var d = new double[n];
                for (int i = 0; i < n; i++) d[i] = g[i] + weightDecay * rp[i];
                if (momentum != 0)
                {
                    if (rbuf is null) rbuf = (double[])d.Clone();          // first step: buf = clone(grad)
                    else for (int i = 0; i < n; i++) rbuf[i] = momentum * rbuf[i] + d[i];
                    for (int i = 0; i < n; i++) d[i] = nesterov ? d[i] + momentum * rbuf[i] : rbuf[i];
                }
                for (int i = 0; i < n; i++) rp[i] -= lr * d[i];
            }
            AssertClose(rp, p, 1e-5);
            if (rbuf is not null) AssertClose(rbuf, buf, 1e-5);
        }
    }

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(false, 0.01f)]
    [InlineData(true, 0f)]
    [InlineData(true, 0.1f)]
    public void Adam_and_AdamW_match_pytorch(bool decoupled, float weightDecay)
    {
        const float lr = 0.01f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
        foreach (int n in Lengths)
        {
            float[] p = Random(n, 2, 1f);
            float[] m = new float[n], v = new float[n];
            double[] rp = Array.ConvertAll(p, x => (double)x);
            double[] rm = new double[n], rv = new double[n];
            for (int step = 1; step <= Steps; step++)
            {
                float[] g = Random(n, (uint)(200 + step), 0.5f);
                if (decoupled) Optimizers.AdamW(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step);
                else Optimizers.Adam(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step);

                // torch/optim/adam.py, _single_tensor_adam (amsgrad off); AdamW decays the parameter first.
                double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
                for (int i = 0; i < n; i++)
                {
                    double grad = g[i];
                    if (decoupled) rp[i] *= 1 - lr * weightDecay;
                    else grad += weightDecay * rp[i];
                    rm[i] = beta1 * rm[i] + (1 - beta1) * grad;
                    rv[i] = beta2 * rv[i] + (1 - beta2) * grad * grad;
                    double denom = Math.Sqrt(rv[i]) / Math.Sqrt(bc2) + eps;
                    rp[i] -= lr / bc1 * rm[i] / denom;
                }
            }
            AssertClose(rp, p, 2e-5);
            AssertClose(rm, m, 1e-5);
            AssertClose(rv, v, 1e-5);
        }
    }

    [Theory]
    [InlineData(0f, 0f, false)]
    [InlineData(0f, 0.01f, false)]
    [InlineData(0.9f, 0f, false)]
    [InlineData(0.5f, 0.05f, false)]
    [InlineData(0f, 0f, true)]
    [InlineData(0f, 0.05f, true)]
    public void Rmsprop_matches_pytorch(float momentum, float weightDecay, bool centered)
    {
        const float lr = 0.01f, alpha = 0.99f, eps = 1e-8f;
        foreach (int n in Lengths)
        {
            float[] p = Random(n, 7, 1f);
            float[] squareAvg = new float[n], second = new float[momentum != 0 || centered ? n : 0];
            double[] rp = Array.ConvertAll(p, x => (double)x);
            double[] rsq = new double[n], rbuf = new double[n], rga = new double[n];
            for (int step = 1; step <= Steps; step++)
            {
                float[] g = Random(n, (uint)(300 + step), 0.5f);
                Optimizers.Rmsprop(p, g, squareAvg, momentum != 0 ? second : default, centered ? second : default,
                    lr, alpha, eps, weightDecay, momentum, centered);

                // torch/optim/rmsprop.py, _single_tensor_rmsprop.
                for (int i = 0; i < n; i++)
                {
                    double grad = g[i] + weightDecay * rp[i];
                    rsq[i] = alpha * rsq[i] + (1 - alpha) * grad * grad;           // square_avg.mul_(alpha).addcmul_(grad, grad, 1 - alpha)
                    double avg;
                    if (centered)
                    {
                        rga[i] += (1 - alpha) * (grad - rga[i]);                    // grad_avg.lerp_(grad, 1 - alpha)
                        avg = Math.Sqrt(rsq[i] - rga[i] * rga[i]) + eps;           // square_avg.addcmul(grad_avg, grad_avg, -1).sqrt_().add_(eps)
                    }
                    else avg = Math.Sqrt(rsq[i]) + eps;
                    if (momentum > 0)
                    {
                        rbuf[i] = momentum * rbuf[i] + grad / avg;                  // buf.mul_(momentum).addcdiv_(grad, avg)
                        rp[i] -= lr * rbuf[i];
                    }
                    else rp[i] -= lr * grad / avg;                                  // param.addcdiv_(grad, avg, value=-lr)
                }
            }
            AssertClose(rp, p, 2e-5);
            AssertClose(rsq, squareAvg, 1e-5);
            if (momentum != 0) AssertClose(rbuf, second, 1e-4);
            if (centered) AssertClose(rga, second, 1e-5);
        }
    }

    [Fact]
    public void Rmsprop_first_step_moves_each_element_by_lr_over_the_square_root_of_one_minus_alpha()
    {
        // From zero state, square_avg = (1 − α)·g², so the step is lr·g/(|g|·√(1 − α)) = lr·10·sign(g) for α = 0.99 (eps aside):
        // PyTorch's well-known first RMSprop step, a figure independent of the transcription above.
        float[] p = new float[9], g = Random(9, 8, 3f), sq = new float[9];
        Optimizers.Rmsprop(p, g, sq, default, default, 0.01f, 0.99f, 1e-8f, 0f, 0f, false);
        for (int i = 0; i < 9; i++) Assert.Equal(-0.1 * Math.Sign(g[i]), p[i], 1e-5);
    }

    [Fact]
    public void Rmsprop_vector_body_and_scalar_tail_give_identical_bits()
    {
        foreach (bool centered in new[] { false, true })
        {
            float[] p = Random(64, 3, 1f), g = Random(64, 4, 1f), sq = Sample(64, 6), second = Random(64, 5, 0.1f);
            float[] p1 = [p[0]], sq1 = [sq[0]], second1 = [second[0]];
            float momentum = centered ? 0f : 0.9f;
            Optimizers.Rmsprop(p, g, sq, centered ? default : second, centered ? second : default, 0.01f, 0.99f, 1e-8f, 0.01f, momentum, centered);
            Optimizers.Rmsprop(p1, g.AsSpan(0, 1), sq1, centered ? default : second1, centered ? second1 : default, 0.01f, 0.99f, 1e-8f, 0.01f, momentum, centered);
            Assert.Equal(p[0], p1[0]);
            Assert.Equal(sq[0], sq1[0]);
            Assert.Equal(second[0], second1[0]);
        }
    }

    [Fact]
    public void Vector_body_and_scalar_tail_give_identical_bits()
    {
        // The same (p, g, m, v) at index 0 of a long span (vector loop) and of a length-1 span (scalar tail).
        float[] p = Random(64, 3, 1f), g = Random(64, 4, 1f), m = Random(64, 5, 0.1f), v = Sample(64, 6);
        float[] p1 = [p[0]], m1 = [m[0]], v1 = [v[0]];
        Optimizers.AdamW(p, g, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
        Optimizers.AdamW(p1, g.AsSpan(0, 1), m1, v1, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
        Assert.Equal(p[0], p1[0]);
        Assert.Equal(m[0], m1[0]);
        Assert.Equal(v[0], v1[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Large_parameters_split_across_threads_give_the_bits_of_small_pieces(bool decoupled)
    {
        // Over 2 × ParallelChunk elements, an odd length: the update is split across the worker threads (when there
        // are two) in 512-bit vectors; pieces of 23 elements go through 512-bit, Vector<T> and scalar code instead.
        int n = 2 * Optimizers.ParallelChunk + 12345;
        float[] p = Random(n, 13, 1f), g = Random(n, 14, 1f), m = Random(n, 15, 0.1f), v = Sample(n, 16);
        float[] p2 = (float[])p.Clone(), m2 = (float[])m.Clone(), v2 = (float[])v.Clone();
        void Update(Span<float> pp, ReadOnlySpan<float> gg, Span<float> mm, Span<float> vv)
        {
            if (decoupled) Optimizers.AdamW(pp, gg, mm, vv, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 4);
            else Optimizers.Adam(pp, gg, mm, vv, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 4);
        }
        Update(p, g, m, v);
        for (int start = 0; start < n; start += 23)
        {
            int len = Math.Min(23, n - start);
            Update(p2.AsSpan(start, len), g.AsSpan(start, len), m2.AsSpan(start, len), v2.AsSpan(start, len));
        }
        Assert.Equal(p2, p);
        Assert.Equal(m2, m);
        Assert.Equal(v2, v);
    }

    [Fact]
    public void Sgd_without_momentum_accepts_an_empty_velocity()
    {
        float[] p = [1f, 2f];
        Optimizers.Sgd(p, [1f, 1f], Span<float>.Empty, 0.5f, 0f, 0f, false);
        Assert.Equal([0.5f, 1.5f], p);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        float[] p = new float[4];
        Assert.Throws<ArgumentException>(() => Optimizers.Sgd(p, new float[3], new float[4], 0.1f, 0.9f, 0, false));
        Assert.Throws<ArgumentException>(() => Optimizers.Sgd(p, new float[4], new float[2], 0.1f, 0.9f, 0, false));
        Assert.Throws<ArgumentException>(() => Optimizers.Sgd(p, new float[4], new float[4], 0.1f, 0f, 0, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optimizers.Adam(p, new float[4], new float[4], new float[4], 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0));
        Assert.Throws<ArgumentException>(() => Optimizers.AdamW(p, new float[4], new float[4], new float[3], 0.1f, 0.9f, 0.999f, 1e-8f, 0, 1));
    }
}
