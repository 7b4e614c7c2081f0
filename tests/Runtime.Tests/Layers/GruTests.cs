using System;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

public class GruTests
{
    private readonly ITestOutputHelper _output;

    public GruTests(ITestOutputHelper output) => _output = output;

    private sealed class Problem
    {
        public int B, T, In, H;
        public float[] X = null!, Wih = null!, Whh = null!, Bih = null!, Bhh = null!;

        public static Problem Create(int b, int t, int input, int h, int seed)
        {
            var rng = new Random(seed);
            float scale = 1f / MathF.Sqrt(h) * 2f; // a little above PyTorch's init range, so the gates leave their linear zone
            return new Problem
            {
                B = b, T = t, In = input, H = h,
                X = GradCheck.Random(rng, b * t * input),
                Wih = GradCheck.Random(rng, 3 * h * input, scale),
                Whh = GradCheck.Random(rng, 3 * h * h, scale),
                Bih = GradCheck.Random(rng, 3 * h, scale),
                Bhh = GradCheck.Random(rng, 3 * h, scale),
            };
        }

        /// <summary>torch.nn.GRU's documented recurrence in double, one element at a time: hidden states [B, T, H].</summary>
        public double[] Naive()
        {
            var hs = new double[B * T * H];
            for (int b = 0; b < B; b++)
            {
                var h = new double[H];
                for (int t = 0; t < T; t++)
                {
                    var gi = new double[3 * H];
                    var gh = new double[3 * H];
                    for (int r = 0; r < 3 * H; r++)
                    {
                        double si = Bih[r], sh = Bhh[r];
                        for (int i = 0; i < In; i++) si += Wih[r * In + i] * (double)X[(b * T + t) * In + i];
                        for (int j = 0; j < H; j++) sh += Whh[r * H + j] * h[j];
                        gi[r] = si;
                        gh[r] = sh;
                    }
                    var next = new double[H];
                    for (int j = 0; j < H; j++)
                    {
                        double rg = Sigmoid(gi[j] + gh[j]), zg = Sigmoid(gi[H + j] + gh[H + j]);
                        double ng = Math.Tanh(gi[2 * H + j] + rg * gh[2 * H + j]);
                        next[j] = (1 - zg) * ng + zg * h[j];
                        hs[(b * T + t) * H + j] = next[j];
                    }
                    h = next;
                }
            }
            return hs;
        }

        private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 4, 3, 5)]
    [InlineData(3, 5, 4, 9)]
    [InlineData(2, 6, 7, 16)]
    public void ForwardMatchesTorchsRecurrence(int b, int t, int input, int h)
    {
        var p = Problem.Create(b, t, input, h, b * 1000 + t * 100 + h);
        var hs = new float[b * t * h];
        var lastH = new float[b * h];
        var ws = new float[Gru.WorkspaceSize(b, t, h)];
        Gru.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, ws);
        GradCheck.Within(GradCheck.MaxDiff(hs, p.Naive()), 1e-5, "gru hidden states");
        for (int n = 0; n < b; n++)
            for (int j = 0; j < h; j++) Assert.Equal(hs[(n * t + t - 1) * h + j], lastH[n * h + j]);
    }

    [Theory]
    [InlineData(1, 1, 2, 3)]
    [InlineData(2, 4, 3, 5)]
    [InlineData(3, 5, 4, 9)]
    public void GradientsMatchFiniteDifferences(int b, int t, int input, int h)
    {
        var p = Problem.Create(b, t, input, h, b * 7 + t * 5 + h);
        var rng = new Random(h);
        var rSeq = GradCheck.Random(rng, b * t * h);   // a loss on every step (return_sequences=true) ...
        var rLast = GradCheck.Random(rng, b * h);      // ... plus one on the last hidden state
        var hs = new float[b * t * h];
        var lastH = new float[b * h];
        var ws = new float[Gru.WorkspaceSize(b, t, h)];
        double Loss()
        {
            Gru.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, ws);
            return GradCheck.Dot(hs, rSeq) + GradCheck.Dot(lastH, rLast);
        }
        Loss();
        var dx = new float[p.X.Length];
        var dWih = new float[p.Wih.Length];
        var dWhh = new float[p.Whh.Length];
        var dBih = new float[p.Bih.Length];
        var dBhh = new float[p.Bhh.Length];
        Gru.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, rSeq, rLast, ws, dx, dWih, dWhh, dBih, dBhh);

        double ex = GradCheck.MaxError(p.X, dx, Loss);
        double ewi = GradCheck.MaxError(p.Wih, dWih, Loss), ewh = GradCheck.MaxError(p.Whh, dWhh, Loss);
        double ebi = GradCheck.MaxError(p.Bih, dBih, Loss), ebh = GradCheck.MaxError(p.Bhh, dBhh, Loss);
        _output.WriteLine($"gru B={b} T={t} In={input} H={h}: dx {ex:E2}  dW_ih {ewi:E2}  dW_hh {ewh:E2}  db_ih {ebi:E2}  db_hh {ebh:E2}");
        GradCheck.Within(ex, GradCheck.Tolerance, "dx");
        GradCheck.Within(ewi, GradCheck.Tolerance, "dW_ih");
        GradCheck.Within(ewh, GradCheck.Tolerance, "dW_hh");
        GradCheck.Within(ebi, GradCheck.Tolerance, "db_ih");
        GradCheck.Within(ebh, GradCheck.Tolerance, "db_hh");
    }

    [Fact]
    public void OnlyTheLastHiddenStateAndAccumulation()
    {
        const int b = 2, t = 3, input = 4, h = 8;
        var p = Problem.Create(b, t, input, h, 17);
        var rng = new Random(2);
        var rLast = GradCheck.Random(rng, b * h);
        var hs = new float[b * t * h];
        var lastH = new float[b * h];
        var ws = new float[Gru.WorkspaceSize(b, t, h)];
        double Loss()
        {
            Gru.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, ws);
            return GradCheck.Dot(lastH, rLast);
        }
        Loss();
        var dWhh = new float[p.Whh.Length];
        var dBih = new float[3 * h];
        var dBhh = new float[3 * h];
        var dWih = new float[p.Wih.Length];
        // return_sequences=false and x a model input: no sequence gradient, no dx.
        Gru.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, ReadOnlySpan<float>.Empty, rLast, ws,
            Span<float>.Empty, dWih, dWhh, dBih, dBhh);
        GradCheck.Within(GradCheck.MaxError(p.Whh, dWhh, Loss), GradCheck.Tolerance, "dW_hh");
        GradCheck.Within(GradCheck.MaxError(p.Bhh, dBhh, Loss), GradCheck.Tolerance, "db_hh");

        Loss();
        var acc = (float[])dWhh.Clone();
        var accB = (float[])dBhh.Clone();
        Gru.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, ReadOnlySpan<float>.Empty, rLast, ws,
            Span<float>.Empty, dWih, acc, dBih, accB, accumulateParameterGradients: true);
        for (int i = 0; i < acc.Length; i++) Assert.Equal(2 * dWhh[i], acc[i], 1e-5f);
        for (int i = 0; i < accB.Length; i++) Assert.Equal(2 * dBhh[i], accB[i], 1e-5f);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        const int b = 2, t = 3, input = 4, h = 5;
        var ws = new float[Gru.WorkspaceSize(b, t, h)];
        Assert.Equal(2 * b * t * 3 * h + b * t * h + b * h, ws.Length);
        var e = Assert.Throws<ArgumentException>(() => Gru.Forward(b, t, input, h, new float[b * t * input], new float[3 * h * input],
            new float[3 * h * h - 1], new float[3 * h], new float[3 * h], new float[b * t * h], Span<float>.Empty, ws));
        Assert.Contains("Span 'weightHh' has 74 elements; [3H, H] = [15, 5] needs 75.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gru.Forward(b, t, input, h, new float[b * t * input], new float[3 * h * input],
            new float[3 * h * h], new float[3 * h], new float[3 * h], new float[b * t * h], Span<float>.Empty, new float[ws.Length - 1]));
        Assert.Equal("workspace", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Gru.Forward(b, t, input, h, new float[b * t * input], new float[3 * h * input],
            new float[3 * h * h], new float[3 * h], new float[3 * h], new float[b * t * h], new float[3], ws));
        Assert.Equal("lastHidden", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gru.WorkspaceSize(b, 0, h));
    }
}
