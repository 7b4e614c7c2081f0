using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Runtime.Sampling;

namespace ModelDsl.Runtime.Tests.Text;

public class AutoregressiveTests
{
    private const int Vocabulary = 10;

    // A stand-in model: the next token is (last + 1) mod 10, as one-hot logits; records the contexts it was given.
    private sealed class Counter
    {
        private readonly float[] _logits = new float[Vocabulary];
        public readonly List<int[]> Contexts = [];

        public ReadOnlySpan<float> Next(ReadOnlySpan<int> context)
        {
            Contexts.Add(context.ToArray());
            Array.Fill(_logits, -10f);
            _logits[(context[^1] + 1) % Vocabulary] = 10f;
            return _logits;
        }
    }

    [Fact]
    public void Generates_the_tokens_after_the_prompt_with_a_sliding_context()
    {
        var model = new Counter();
        var printed = new List<int>();
        int[] tokens = Autoregressive.Generate([7, 8], count: 6, contextLength: 4, model.Next, new TokenSampler(0), printed.Add);

        Assert.Equal([9, 0, 1, 2, 3, 4], tokens);
        Assert.Equal(tokens, printed);
        // The whole sequence while it fits, then its last 4 tokens.
        Assert.Equal([[7, 8], [7, 8, 9], [7, 8, 9, 0], [8, 9, 0, 1], [9, 0, 1, 2], [0, 1, 2, 3]], model.Contexts);
    }

    [Fact]
    public void A_long_prompt_is_cropped_to_the_context()
    {
        var model = new Counter();
        Autoregressive.Generate(Enumerable.Range(0, 9).ToArray(), 1, 3, model.Next, new TokenSampler(0));
        Assert.Equal([6, 7, 8], Assert.Single(model.Contexts));
    }

    [Fact]
    public void Sampled_generation_is_reproducible()
    {
        float[] logits = Enumerable.Range(0, Vocabulary).Select(i => (float)i / 3).ToArray();
        ReadOnlySpan<float> Next(ReadOnlySpan<int> context) => logits;
        int[] a = Autoregressive.Generate([0], 50, 8, Next, new TokenSampler(1f, topK: 5, seed: 4));
        int[] b = Autoregressive.Generate([0], 50, 8, Next, new TokenSampler(1f, topK: 5, seed: 4));
        Assert.Equal(a, b);
        Assert.All(a, t => Assert.InRange(t, 5, 9));
    }

    [Fact]
    public void Misuse_is_reported()
    {
        var model = new Counter();
        var greedy = new TokenSampler(0);
        Assert.Contains("the prompt is empty", Assert.Throws<ArgumentException>(() => Autoregressive.Generate([], 3, 4, model.Next, greedy)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Autoregressive.Generate([1], -1, 4, model.Next, greedy));
        Assert.Throws<ArgumentOutOfRangeException>(() => Autoregressive.Generate([1], 1, 0, model.Next, greedy));
        Assert.Empty(Autoregressive.Generate([1], 0, 4, model.Next, greedy));

        int calls = 0;
        float[] small = new float[3], large = new float[4];
        ReadOnlySpan<float> Changing(ReadOnlySpan<int> context) => ++calls == 1 ? small : large;
        var ex = Assert.Throws<InvalidOperationException>(() => Autoregressive.Generate([0], 3, 4, Changing, greedy));
        Assert.Equal("step 1: the model returned 4 logits, earlier steps 3", ex.Message);
    }

    [Fact]
    public void Last_position_reads_the_final_row_of_the_first_sequence()
    {
        // [B=2, T=3, V=2]: value = 100 b + 10 t + v.
        float[] data = [0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121];
        Assert.Equal([20f, 21f], Autoregressive.LastPosition(new Tensor(data, 2, 3, 2)).ToArray());
        Assert.Equal([20f, 21f], Autoregressive.LastPosition(new Tensor(data, 3, 2)).ToArray());
        Assert.Throws<ArgumentException>(() => Autoregressive.LastPosition(new Tensor(data, 12)));
    }
}
