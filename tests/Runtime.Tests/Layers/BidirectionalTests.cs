using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// Lstm/Gru.ForwardBidirectional against PyTorch's definition of bidirectional=True, built here from the single-direction
/// kernel and index arithmetic written out: y[b, t] = (fwd[b, t], rev[b, T−1−t]) where rev runs over x[b, T−1], …, x[b, 0],
/// and the last state is (fwd[b, T−1], rev's last, which belongs to t = 0).
/// </summary>
public class BidirectionalTests
{
    [Theory]
    [InlineData("lstm", 2, 5, 3, 4)]
    [InlineData("lstm", 1, 1, 2, 9)]
    [InlineData("gru", 3, 4, 5, 3)]
    [InlineData("gru", 2, 7, 1, 10)]
    public void Both_directions_are_joined_as_pytorch_lays_them_out(string op, int b, int t, int input, int h)
    {
        var rng = new Random(b * 100 + t * 10 + h);
        int gates = op == "lstm" ? 4 * h : 3 * h;
        float[] R(int n) => GradCheck.Random(rng, n, 0.8f);
        float[] x = R(b * t * input), wih = R(gates * input), whh = R(gates * h), bih = R(gates), bhh = R(gates);
        float[] wihR = R(gates * input), whhR = R(gates * h), bihR = R(gates), bhhR = R(gates);

        float[] y = new float[b * t * 2 * h], last = new float[b * 2 * h];
        float[] fwd = new float[b * t * h], fwdLast = new float[b * h], rev = new float[b * t * h], revLast = new float[b * h];
        float[] xRev = new float[x.Length];
        for (int n = 0; n < b; n++)
            for (int s = 0; s < t; s++)
                Array.Copy(x, (n * t + s) * input, xRev, (n * t + (t - 1 - s)) * input, input);
        if (op == "lstm")
        {
            Lstm.ForwardBidirectional(b, t, input, h, x, wih, whh, bih, bhh, wihR, whhR, bihR, bhhR, y, last, new float[Lstm.BidirectionalWorkspaceSize(b, t, input, h)]);
            Lstm.Forward(b, t, input, h, x, wih, whh, bih, bhh, fwd, fwdLast, default, new float[Lstm.WorkspaceSize(b, t, h)]);
            Lstm.Forward(b, t, input, h, xRev, wihR, whhR, bihR, bhhR, rev, revLast, default, new float[Lstm.WorkspaceSize(b, t, h)]);
        }
        else
        {
            Gru.ForwardBidirectional(b, t, input, h, x, wih, whh, bih, bhh, wihR, whhR, bihR, bhhR, y, last, new float[Gru.BidirectionalWorkspaceSize(b, t, input, h)]);
            Gru.Forward(b, t, input, h, x, wih, whh, bih, bhh, fwd, fwdLast, new float[Gru.WorkspaceSize(b, t, h)]);
            Gru.Forward(b, t, input, h, xRev, wihR, whhR, bihR, bhhR, rev, revLast, new float[Gru.WorkspaceSize(b, t, h)]);
        }

        for (int n = 0; n < b; n++)
        {
            for (int s = 0; s < t; s++)
                for (int j = 0; j < h; j++)
                {
                    Assert.Equal(fwd[(n * t + s) * h + j], y[(n * t + s) * 2 * h + j]);
                    Assert.Equal(rev[(n * t + (t - 1 - s)) * h + j], y[(n * t + s) * 2 * h + h + j]);
                }
            for (int j = 0; j < h; j++)
            {
                Assert.Equal(fwdLast[n * h + j], last[n * 2 * h + j]);
                Assert.Equal(revLast[n * h + j], last[n * 2 * h + h + j]);
                // The two halves of the last state are the sequence output's forward half at T−1 and backward half at 0.
                Assert.Equal(y[(n * t + t - 1) * 2 * h + j], last[n * 2 * h + j]);
                Assert.Equal(y[(n * t) * 2 * h + h + j], last[n * 2 * h + h + j]);
            }
        }
    }

    [Fact]
    public void A_workspace_too_small_names_the_size_method()
    {
        var error = Assert.Throws<ArgumentException>(() => Lstm.ForwardBidirectional(1, 2, 3, 4, new float[6], new float[48], new float[64], new float[16], new float[16],
            new float[48], new float[64], new float[16], new float[16], new float[16], default, new float[Lstm.WorkspaceSize(1, 2, 4)]));
        Assert.Contains("Lstm.BidirectionalWorkspaceSize(B, T, In, H)", error.Message);
    }
}
