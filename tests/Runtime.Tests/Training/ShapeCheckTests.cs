using System;

namespace ModelDsl.Runtime.Tests.Training;

public class ShapeCheckTests
{
    private const string Model = "FashionMlp.TrainStep";
    private static readonly string[] Symbols = ["B", "T"];

    private static string Fails(Action check) => Assert.Throws<ArgumentException>(check).Message;

    [Fact]
    public void Passing_shapes_bind_symbols()
    {
        var bound = new int[2];
        ShapeCheck.Input(Model, "x", "[B, 784]", [128, 784], [-1, 784], bound, Symbols);
        Assert.Equal([128, 0], bound);
        ShapeCheck.Input(Model, "y", "[B]", [128], [-1], bound, Symbols);
        ShapeCheck.Input(Model, "tokens", "[B, T]", [128, 33], [-1, -2], bound, Symbols);
        Assert.Equal([128, 33], bound);
    }

    [Fact]
    public void Fixed_dimension_mismatch()
    {
        var bound = new int[2];
        Assert.Equal("FashionMlp.TrainStep: input 'x' must have shape [B, 784] but has shape [128, 785]",
            Fails(() => ShapeCheck.Input(Model, "x", "[B, 784]", [128, 785], [-1, 784], bound, Symbols)));
    }

    [Fact]
    public void Rank_mismatch()
    {
        var bound = new int[2];
        Assert.Equal("FashionMlp.TrainStep: input 'x' must have shape [B, 784] (rank 2) but has shape [128, 28, 28] (rank 3)",
            Fails(() => ShapeCheck.Input(Model, "x", "[B, 784]", [128, 28, 28], [-1, 784], bound, Symbols)));
    }

    [Fact]
    public void Symbol_conflict_between_inputs()
    {
        var bound = new int[2];
        ShapeCheck.Input(Model, "x", "[B, 784]", [128, 784], [-1, 784], bound, Symbols);
        Assert.Equal("FashionMlp.TrainStep: symbolic dimension B is 128 from an earlier input but 64 from 'y'",
            Fails(() => ShapeCheck.Input(Model, "y", "[B]", [64], [-1], bound, Symbols)));

        // With the boundBy overload the message names the input that fixed the symbol.
        bound = new int[2];
        var boundBy = new string?[2];
        ShapeCheck.Input(Model, "x", "[B, 784]", [128, 784], [-1, 784], bound, Symbols, boundBy);
        Assert.Equal("x", boundBy[0]);
        Assert.Equal("FashionMlp.TrainStep: symbolic dimension B is 128 from 'x' but 64 from 'y'",
            Fails(() => ShapeCheck.Input(Model, "y", "[B]", [64], [-1], bound, Symbols, boundBy)));
    }

    [Fact]
    public void Symbol_conflict_within_one_input_reports_its_shape()
    {
        var bound = new int[2];
        Assert.Equal("FashionMlp.TrainStep: input 'a' must have shape [T, T] but has shape [3, 4]",
            Fails(() => ShapeCheck.Input(Model, "a", "[T, T]", [3, 4], [-2, -2], bound, Symbols)));
    }

    [Fact]
    public void Labels_out_of_range()
    {
        ShapeCheck.Labels(Model, "y", [0, 9, 3], 10);
        ShapeCheck.Labels(Model, "y", [], 10);
        Assert.Equal("FashionMlp.TrainStep: label 'y' holds 12 at position 5; classes are 0..9",
            Fails(() => ShapeCheck.Labels(Model, "y", [0, 1, 2, 3, 4, 12, 3, -1], 10)));
        Assert.Equal("FashionMlp.TrainStep: label 'y' holds -1 at position 1; classes are 0..9",
            Fails(() => ShapeCheck.Labels(Model, "y", [0, -1], 10)));
    }

    [Fact]
    public void Ids_out_of_range()
    {
        ShapeCheck.Ids("CharGpt.Forward", "idx", [0, 95, 7], 96, "embedding 'tok'");
        ShapeCheck.Ids("CharGpt.Forward", "idx", [], 96, "embedding 'tok'");
        Assert.Equal("CharGpt.Forward: input 'idx' holds 96 at position 2; embedding 'tok' has ids 0..95",
            Fails(() => ShapeCheck.Ids("CharGpt.Forward", "idx", [0, 1, 96, -3], 96, "embedding 'tok'")));
        Assert.Equal("CharGpt.Forward: input 'idx' holds -3 at position 1; embedding 'tok' has ids 0..95",
            Fails(() => ShapeCheck.Ids("CharGpt.Forward", "idx", [0, -3], 96, "embedding 'tok'")));
    }

    [Fact]
    public void A_size_over_a_layer_limit()
    {
        ShapeCheck.AtMost("CharGpt.TrainStep", "idx", "T", 64, 64, "positional(max_len=64) 'pos'");
        Assert.Equal("CharGpt.TrainStep: input 'idx' has T = 65, but positional(max_len=64) 'pos' allows at most 64",
            Fails(() => ShapeCheck.AtMost("CharGpt.TrainStep", "idx", "T", 65, 64, "positional(max_len=64) 'pos'")));
    }
}
