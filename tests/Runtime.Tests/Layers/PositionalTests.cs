using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Runtime.Tests.Layers;

public class PositionalTests
{
    [Fact]
    public void ForwardAddsTheRowOfEachPosition()
    {
        float[] x = { 1, 2, 3, 4, 5, 6, 7, 8 };        // [B=2, T=2, d=2]
        float[] table = { 10, 20, 30, 40, 50, 60 };     // [max_len=3, d=2]
        var y = new float[8];
        Positional.Forward(2, 2, 3, 2, x, table, y);
        Assert.Equal(new float[] { 11, 22, 33, 44, 15, 26, 37, 48 }, y);
    }

    [Fact]
    public void BackwardSumsOverTheBatchAndPassesTheGradientThrough()
    {
        float[] dy = { 1, 2, 3, 4, 5, 6, 7, 8 };
        var dx = new float[8];
        var dTable = new float[] { 9, 9, 9, 9, 9, 9 };
        Positional.Backward(2, 2, 3, 2, dy, dx, dTable);
        Assert.Equal(dy, dx);
        Assert.Equal(new float[] { 6, 8, 10, 12, 0, 0 }, dTable); // the row no position reaches gets zero
        Positional.Backward(2, 2, 3, 2, dy, dx, dTable, accumulateInputGradient: true, accumulateTableGradient: true);
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12, 14, 16 }, dx);
        Assert.Equal(new float[] { 12, 16, 20, 24, 0, 0 }, dTable);
        Positional.Backward(2, 2, 3, 2, dy, default, dTable); // no input gradient wanted
        Assert.Equal(new float[] { 6, 8, 10, 12, 0, 0 }, dTable);
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        const int b = 3, t = 4, maxLength = 6, d = 5;
        var rng = new Random(7);
        var x = GradCheck.Random(rng, b * t * d);
        var table = GradCheck.Random(rng, maxLength * d);
        var r = GradCheck.Random(rng, b * t * d);
        var y = new float[b * t * d];
        var dx = new float[x.Length];
        var dTable = new float[table.Length];
        Positional.Backward(b, t, maxLength, d, r, dx, dTable);
        double Loss()
        {
            Positional.Forward(b, t, maxLength, d, x, table, y);
            return GradCheck.Dot(y, r);
        }
        GradCheck.Within(GradCheck.MaxError(x, dx, Loss), GradCheck.Tolerance, "positional dx");
        GradCheck.Within(GradCheck.MaxError(table, dTable, Loss), GradCheck.Tolerance, "positional dTable");
    }

    [Fact]
    public void ASequenceLongerThanTheTableIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Positional.Forward(1, 4, 3, 2, new float[8], new float[6], new float[8]));
        Assert.Equal("steps", e.ParamName);
        Assert.StartsWith("The sequence has 4 positions but the positional table holds 3.", e.Message);
        var s = Assert.Throws<ArgumentException>(() => Positional.Forward(2, 2, 3, 2, new float[8], new float[5], new float[8]));
        Assert.Contains("Span 'table' has 5 elements; [max_len, d] = [3, 2] needs 6.", s.Message);
    }
}
