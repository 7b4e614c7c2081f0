using System;
using ModelDsl.Runtime.Cpu.Layers;

namespace ModelDsl.Runtime.Tests.Layers;

public class EmbeddingTests
{
    [Fact]
    public void ForwardGathersRows()
    {
        float[] table = { 0, 1, 10, 11, 20, 21 }; // [3, 2]
        int[] ids = { 2, 0, 2, 1 };
        var y = new float[8];
        Embedding.Forward(4, 3, 2, ids, table, y);
        Assert.Equal(new float[] { 20, 21, 0, 1, 20, 21, 10, 11 }, y);
    }

    [Fact]
    public void BackwardScatterAddsRepeatedIds()
    {
        int[] ids = { 2, 0, 2 };
        float[] dy = { 1, 2, 3, 4, 5, 6 };
        var dw = new float[] { 9, 9, 9, 9, 9, 9, 9, 9 }; // [4, 2]: overwritten, row 1 and 3 get zero
        Embedding.Backward(3, 4, 2, -1, ids, dy, dw);
        Assert.Equal(new float[] { 3, 4, 0, 0, 6, 8, 0, 0 }, dw);
        Embedding.Backward(3, 4, 2, -1, ids, dy, dw, accumulate: true); // a tied weight: adds to what is there
        Assert.Equal(new float[] { 6, 8, 0, 0, 12, 16, 0, 0 }, dw);
    }

    [Fact]
    public void BackwardGivesThePaddingRowNoGradient()
    {
        int[] ids = { 2, 1, 2, 1 }; // 1 is padding_idx
        float[] dy = { 1, 2, 3, 4, 5, 6, 7, 8 };
        var dw = new float[] { 9, 9, 9, 9, 9, 9, 9, 9 }; // [4, 2]
        Embedding.Backward(4, 4, 2, 1, ids, dy, dw);
        Assert.Equal(new float[] { 0, 0, 0, 0, 6, 8, 0, 0 }, dw);
        Embedding.Backward(4, 4, 2, 1, ids, dy, dw, accumulate: true); // accumulating leaves the padding row as it is
        Assert.Equal(new float[] { 0, 0, 0, 0, 12, 16, 0, 0 }, dw);
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward(4, 4, 2, 4, ids, dy, dw));
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward(4, 4, 2, -2, ids, dy, dw));
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        const int count = 12, num = 5, dim = 3;
        var rng = new Random(4);
        var ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = rng.Next(num);
        var table = GradCheck.Random(rng, num * dim);
        var r = GradCheck.Random(rng, count * dim);
        var y = new float[count * dim];
        var dw = new float[table.Length];
        Embedding.Backward(count, num, dim, -1, ids, r, dw);
        double error = GradCheck.MaxError(table, dw, () =>
        {
            Embedding.Forward(count, num, dim, ids, table, y);
            return GradCheck.Dot(y, r);
        });
        GradCheck.Within(error, GradCheck.Tolerance, "embedding dW");
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-1)]
    public void AnIdOutOfRangeNamesTheIdAndItsPositionAndWritesNothing(int bad)
    {
        float[] table = new float[10]; // [5, 2]
        int[] ids = { 0, 4, 1, bad, 2 };
        var y = new float[10];
        Array.Fill(y, 7f);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward(5, 5, 2, ids, table, y));
        Assert.Equal("ids", e.ParamName);
        Assert.StartsWith($"Embedding id {bad} at position 3 is outside [0, 5).", e.Message);
        Assert.All(y, v => Assert.Equal(7f, v));
        var dw = new float[10];
        Array.Fill(dw, 7f);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward(5, 5, 2, -1, ids, new float[10], dw));
        Assert.StartsWith($"Embedding id {bad} at position 3", e.Message);
        Assert.All(dw, v => Assert.Equal(7f, v));
    }

    [Fact]
    public void ShortSpansAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Embedding.Forward(3, 5, 2, new int[2], new float[10], new float[6]));
        Assert.Equal("ids", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Embedding.Forward(3, 5, 2, new int[3], new float[9], new float[6]));
        Assert.Contains("Span 'weight' has 9 elements; [num, dim] = [5, 2] needs 10.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Embedding.Backward(3, 5, 2, -1, new int[3], new float[5], new float[10]));
        Assert.Equal("dy", e.ParamName);
    }
}
