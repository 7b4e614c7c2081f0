using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Runtime.Sampling;

namespace ModelDsl.Runtime.Tests.Text;

public class TokenSamplerTests
{
    private static double[] Softmax(float[] logits, double temperature)
    {
        double max = logits.Max();
        double[] e = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    private static int[] Counts(TokenSampler sampler, float[] logits, int draws)
    {
        var counts = new int[logits.Length];
        for (int i = 0; i < draws; i++) counts[sampler.Sample(logits)]++;
        return counts;
    }

    // Every frequency within 5 binomial standard deviations of its probability. The draws are fixed by the seed, so
    // the test gives the same answer every run; 5 sigma also means a different seed would pass with near certainty.
    private static void AssertMatches(double[] expected, int[] counts, int draws)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double p = expected[i], f = counts[i] / (double)draws;
            double bound = 5 * Math.Sqrt(p * (1 - p) / draws) + 1e-12;
            Assert.True(Math.Abs(f - p) <= bound, $"token {i}: frequency {f:F5}, softmax {p:F5}, bound ±{bound:F5}");
        }
    }

    [Fact]
    public void Temperature_zero_is_argmax_with_ties_to_the_lowest_id()
    {
        var greedy = new TokenSampler(temperature: 0, topK: 3, seed: 9);
        Assert.True(greedy.IsGreedy);
        Assert.Equal(2, greedy.Sample([0.1f, -1f, 3f, 2.9f]));
        Assert.Equal(1, greedy.Sample([0f, 5f, 5f, 5f]));
        Assert.Equal(2, greedy.Sample([float.NegativeInfinity, float.NegativeInfinity, 1f, 1f]));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(2, greedy.Sample([0.1f, -1f, 3f, 2.9f])));
    }

    [Fact]
    public void Temperature_one_draws_from_the_softmax()
    {
        float[] logits = [2f, 1f, 0.5f, 0f, -1f, -3f, float.NegativeInfinity];
        const int draws = 200_000;
        int[] counts = Counts(new TokenSampler(temperature: 1, seed: 42), logits, draws);
        AssertMatches(Softmax(logits, 1), counts, draws);
        Assert.Equal(0, counts[6]); // a masked token is never drawn
    }

    [Fact]
    public void Temperature_rescales_the_logits()
    {
        float[] logits = [1f, 0.5f, 0f, -0.5f];
        const int draws = 100_000;
        AssertMatches(Softmax(logits, 0.5), Counts(new TokenSampler(0.5f, seed: 1), logits, draws), draws);
        AssertMatches(Softmax(logits, 3), Counts(new TokenSampler(3f, seed: 2), logits, draws), draws);
    }

    [Fact]
    public void Top_k_renormalises_over_the_k_highest()
    {
        float[] logits = [0f, 2f, -1f, 1.5f, 1f];
        const int draws = 100_000;
        int[] counts = Counts(new TokenSampler(1f, topK: 2, seed: 3), logits, draws);
        double[] top2 = Softmax([2f, 1.5f], 1);
        AssertMatches([0, top2[0], 0, top2[1], 0], counts, draws);
    }

    [Fact]
    public void Top_k_never_picks_outside_the_top_k()
    {
        var random = new Random(123);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = random.Next(1, 120);
            // Few distinct values, so ties at the k-th place are common.
            float[] logits = Enumerable.Range(0, n).Select(_ => (float)random.Next(-4, 5)).ToArray();
            int k = random.Next(1, n + 2);
            // The top k by value, ties to the lower id: what the sampler documents.
            HashSet<int> allowed = Enumerable.Range(0, n).OrderByDescending(i => logits[i]).ThenBy(i => i)
                .Take(k).ToHashSet();
            // A high temperature makes the allowed tokens nearly equally likely, so all of them show up.
            var sampler = new TokenSampler(temperature: 50, topK: k, seed: trial);
            var seen = new HashSet<int>();
            for (int d = 0; d < 60 * Math.Min(k, n) + 200; d++) seen.Add(sampler.Sample(logits));
            Assert.True(seen.IsSubsetOf(allowed), $"trial {trial}: n={n}, k={k}, drew {string.Join(",", seen.Except(allowed))}");
            Assert.Equal(allowed.Order(), seen.Order());
        }
    }

    [Fact]
    public void Same_seed_same_draws_and_reset_replays()
    {
        float[] logits = Enumerable.Range(0, 50).Select(i => MathF.Sin(i)).ToArray();
        var a = new TokenSampler(0.8f, 10, seed: 7);
        var b = new TokenSampler(0.8f, 10, seed: 7);
        int[] first = Enumerable.Range(0, 100).Select(_ => a.Sample(logits)).ToArray();
        Assert.Equal(first, Enumerable.Range(0, 100).Select(_ => b.Sample(logits)));
        var other = new TokenSampler(0.8f, 10, seed: 8);
        Assert.NotEqual(first, Enumerable.Range(0, 100).Select(_ => other.Sample(logits)));
        a.Reset();
        Assert.Equal(first, Enumerable.Range(0, 100).Select(_ => a.Sample(logits)));
    }

    [Fact]
    public void Arguments_are_checked_with_clear_messages()
    {
        Assert.Contains("finite number ≥ 0", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(-0.5f)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(float.PositiveInfinity));
        Assert.Contains("topK must be ≥ 0", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(1, topK: -1)).Message);

        var sampler = new TokenSampler();
        Assert.Contains("logits are empty", Assert.Throws<ArgumentException>(() => sampler.Sample([])).Message);
        Assert.Contains("logits[1] is NaN", Assert.Throws<ArgumentException>(() => sampler.Sample([0f, float.NaN])).Message);
        Assert.Contains("logits[0] is +∞", Assert.Throws<ArgumentException>(() => sampler.Sample([float.PositiveInfinity])).Message);
        Assert.Contains("every logit is −∞",
            Assert.Throws<ArgumentException>(() => sampler.Sample([float.NegativeInfinity, float.NegativeInfinity])).Message);
    }

    [Fact]
    public void Sampling_allocates_nothing_after_the_first_call()
    {
        float[] logits = Enumerable.Range(0, 256).Select(i => MathF.Cos(i * 0.1f)).ToArray();
        var sampler = new TokenSampler(0.9f, topK: 40, seed: 1);
        sampler.Sample(logits);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) sampler.Sample(logits);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
