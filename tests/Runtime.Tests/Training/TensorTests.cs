using System;

namespace ModelDsl.Runtime.Tests.Training;

public class TensorTests
{
    [Fact]
    public void Shape_length_span_and_text()
    {
        var t = Tensor.Zeros(128, 784);
        Assert.Equal(2, t.Rank);
        Assert.Equal(128 * 784, t.Length);
        Assert.Equal(t.Length, t.Span.Length);
        Assert.Same(t.Shape, t.Shape);
        Assert.Equal("Tensor f32[128, 784]", t.ToString());
        Assert.Equal("IntTensor i32[128]", IntTensor.Zeros(128).ToString());
    }

    [Fact]
    public void Constructor_validates_and_copies_the_shape()
    {
        int[] shape = [2, 3];
        var t = new Tensor(new float[10], shape);   // data may be longer than the shape needs
        shape[0] = 99;
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(6, t.Length);
        var e = Assert.Throws<ArgumentException>(() => new Tensor(new float[5], 2, 3));
        Assert.Contains("needs 6 elements but the data holds 5", e.Message);
        Assert.Throws<ArgumentException>(() => new Tensor(new float[5], 2, 0));
        Assert.Throws<ArgumentException>(() => new IntTensor(new int[5], -1));
    }

    [Fact]
    public void SetBatch_shrinks_the_leading_dim_in_place()
    {
        var t = Tensor.Zeros(128, 10);
        int[] shape = t.Shape;
        t.SetBatch(37);
        Assert.Same(shape, t.Shape);
        Assert.Equal([37, 10], t.Shape);
        Assert.Equal(370, t.Span.Length);
        t.SetBatch(128);
        Assert.Equal(1280, t.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.SetBatch(129));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.SetBatch(0));

        var labels = IntTensor.Zeros(64);
        labels.SetBatch(5);
        Assert.Equal(5, labels.Span.Length);
    }

    [Fact]
    public void Reshape_keeps_the_array_when_the_rank_matches()
    {
        var t = Tensor.Zeros(4, 6);
        int[] shape = t.Shape;
        t.Reshape(6, 4);
        Assert.Same(shape, t.Shape);
        t.Reshape(2, 3, 4);
        Assert.Equal([2, 3, 4], t.Shape);
        Assert.Equal(24, t.Length);
        t.Reshape(5);
        Assert.Equal(5, t.Span.Length);
        Assert.Throws<ArgumentException>(() => t.Reshape(5, 5));
    }

    [Fact]
    public void Parameter_allocates_state_once()
    {
        var p = new Parameter("logits.0.weight", [256, 784], "fashion_mlp.model:13");
        Assert.Equal(256L * 784, p.Length);
        Assert.Equal(p.Length, p.Value.Length);
        Assert.Equal(p.Length, p.Gradient.Length);
        Assert.Equal(0, p.StateCount);
        Assert.Empty(p.State1);
        p.EnsureState(1);
        float[] s1 = p.State1;
        Assert.Equal(p.Length, s1.Length);
        Assert.Empty(p.State2);
        p.EnsureState(2);
        p.EnsureState(1);
        Assert.Same(s1, p.State1);
        Assert.Equal(2, p.StateCount);
        Assert.Equal("logits.0.weight [256, 784] (fashion_mlp.model:13)", p.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => p.EnsureState(3));
    }
}
