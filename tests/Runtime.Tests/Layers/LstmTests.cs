using System;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Layers;

public class LstmTests
{
    private readonly ITestOutputHelper _output;

    public LstmTests(ITestOutputHelper output) => _output = output;

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
                Wih = GradCheck.Random(rng, 4 * h * input, scale),
                Whh = GradCheck.Random(rng, 4 * h * h, scale),
                Bih = GradCheck.Random(rng, 4 * h, scale),
                Bhh = GradCheck.Random(rng, 4 * h, scale),
            };
        }

        /// <summary>The textbook recurrence in double, one element at a time: hidden states [B, T, H] and the last cell.</summary>
        public (double[] Hs, double[] LastC) Naive()
        {
            var hs = new double[B * T * H];
            var lastC = new double[B * H];
            for (int b = 0; b < B; b++)
            {
                var h = new double[H];
                var c = new double[H];
                for (int t = 0; t < T; t++)
                {
                    var pre = new double[4 * H];
                    for (int r = 0; r < 4 * H; r++)
                    {
                        double s = Bih[r] + Bhh[r];
                        for (int i = 0; i < In; i++) s += Wih[r * In + i] * (double)X[(b * T + t) * In + i];
                        for (int j = 0; j < H; j++) s += Whh[r * H + j] * h[j];
                        pre[r] = s;
                    }
                    for (int j = 0; j < H; j++)
                    {
                        double ig = Sigmoid(pre[j]), fg = Sigmoid(pre[H + j]), gg = Math.Tanh(pre[2 * H + j]), og = Sigmoid(pre[3 * H + j]);
                        c[j] = fg * c[j] + ig * gg;
                        h[j] = og * Math.Tanh(c[j]);
                        hs[(b * T + t) * H + j] = h[j];
                    }
                }
                Array.Copy(c, 0, lastC, b * H, H);
            }
            return (hs, lastC);
        }

        private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 4, 3, 5)]     // scalar gate loop only
    [InlineData(3, 5, 4, 9)]     // one vector and a tail
    [InlineData(2, 6, 7, 16)]
    public void ForwardMatchesTheTextbookRecurrence(int b, int t, int input, int h)
    {
        var p = Problem.Create(b, t, input, h, b * 1000 + t * 100 + h);
        var hs = new float[b * t * h];
        var lastH = new float[b * h];
        var lastC = new float[b * h];
        var ws = new float[Lstm.WorkspaceSize(b, t, h)];
        Lstm.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, lastC, ws);
        var (expected, expectedC) = p.Naive();
        GradCheck.Within(GradCheck.MaxDiff(hs, expected), 1e-5, "lstm hidden states");
        GradCheck.Within(GradCheck.MaxDiff(lastC, expectedC), 1e-5, "lstm last cell");
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
        var ws = new float[Lstm.WorkspaceSize(b, t, h)];
        double Loss()
        {
            Lstm.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, Span<float>.Empty, ws);
            return GradCheck.Dot(hs, rSeq) + GradCheck.Dot(lastH, rLast);
        }
        Loss();
        var dx = new float[p.X.Length];
        var dWih = new float[p.Wih.Length];
        var dWhh = new float[p.Whh.Length];
        var dBih = new float[p.Bih.Length];
        var dBhh = new float[p.Bhh.Length];
        Lstm.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, rSeq, rLast, ws, dx, dWih, dWhh, dBih, dBhh);

        double ex = GradCheck.MaxError(p.X, dx, Loss);
        double ewi = GradCheck.MaxError(p.Wih, dWih, Loss), ewh = GradCheck.MaxError(p.Whh, dWhh, Loss);
        double ebi = GradCheck.MaxError(p.Bih, dBih, Loss), ebh = GradCheck.MaxError(p.Bhh, dBhh, Loss);
        _output.WriteLine($"lstm B={b} T={t} In={input} H={h}: dx {ex:E2}  dW_ih {ewi:E2}  dW_hh {ewh:E2}  db_ih {ebi:E2}  db_hh {ebh:E2}");
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
        var ws = new float[Lstm.WorkspaceSize(b, t, h)];
        double Loss()
        {
            Lstm.Forward(b, t, input, h, p.X, p.Wih, p.Whh, p.Bih, p.Bhh, hs, lastH, Span<float>.Empty, ws);
            return GradCheck.Dot(lastH, rLast);
        }
        Loss();
        var dWhh = new float[p.Whh.Length];
        var dBih = new float[4 * h];
        var dBhh = new float[4 * h];
        var dWih = new float[p.Wih.Length];
        // return_sequences=false and x a model input: no sequence gradient, no dx.
        Lstm.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, ReadOnlySpan<float>.Empty, rLast, ws,
            Span<float>.Empty, dWih, dWhh, dBih, dBhh);
        GradCheck.Within(GradCheck.MaxError(p.Whh, dWhh, Loss), GradCheck.Tolerance, "dW_hh");

        Loss();
        var acc = (float[])dWhh.Clone();
        var accB = (float[])dBih.Clone();
        Lstm.Backward(b, t, input, h, p.X, p.Wih, p.Whh, hs, ReadOnlySpan<float>.Empty, rLast, ws,
            Span<float>.Empty, dWih, acc, accB, dBhh, accumulateParameterGradients: true);
        for (int i = 0; i < acc.Length; i++) Assert.Equal(2 * dWhh[i], acc[i], 1e-5f);
        for (int i = 0; i < accB.Length; i++) Assert.Equal(2 * dBih[i], accB[i], 1e-5f);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        const int b = 2, t = 3, input = 4, h = 5;
        var ws = new float[Lstm.WorkspaceSize(b, t, h)];
        Assert.Equal(b * t * 4 * h + 2 * b * t * h + 2 * b * h, ws.Length);
        var e = Assert.Throws<ArgumentException>(() => Lstm.Forward(b, t, input, h, new float[b * t * input], new float[4 * h * input],
            new float[4 * h * h - 1], new float[4 * h], new float[4 * h], new float[b * t * h], Span<float>.Empty, Span<float>.Empty, ws));
        Assert.Contains("Span 'weightHh' has 99 elements; [4H, H] = [20, 5] needs 100.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Lstm.Forward(b, t, input, h, new float[b * t * input], new float[4 * h * input],
            new float[4 * h * h], new float[4 * h], new float[4 * h], new float[b * t * h], Span<float>.Empty, Span<float>.Empty, new float[ws.Length - 1]));
        Assert.Equal("workspace", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Lstm.Forward(b, t, input, h, new float[b * t * input], new float[4 * h * input],
            new float[4 * h * h], new float[4 * h], new float[4 * h], new float[b * t * h], new float[3], Span<float>.Empty, ws));
        Assert.Equal("lastHidden", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Lstm.WorkspaceSize(b, 0, h));
    }
}
