using System;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class LanguageModelBatchesTests
{
    // Token i is i itself, so a window shows where it starts.
    private static readonly int[] Corpus = Enumerable.Range(0, 1000).ToArray();

    [Fact]
    public void Windows_are_contiguous_and_targets_are_shifted_by_one()
    {
        var batches = new LanguageModelBatches(Corpus, batchSize: 4, length: 16, seed: 1);
        Assert.Equal((64, 64, 984), (batches.Inputs.Length, batches.Targets.Length, batches.WindowCount));
        for (int step = 0; step < 50; step++)
        {
            batches.Next();
            for (int b = 0; b < 4; b++)
            {
                int start = batches.Inputs[b * 16];
                Assert.InRange(start, 0, 1000 - 17);
                Assert.Equal(Enumerable.Range(start, 16), batches.Inputs.AsSpan(b * 16, 16).ToArray());
                Assert.Equal(Enumerable.Range(start + 1, 16), batches.Targets.AsSpan(b * 16, 16).ToArray());
            }
        }
    }

    [Fact]
    public void Same_seed_same_batches_and_reset_replays()
    {
        var a = new LanguageModelBatches(Corpus, 8, 10, seed: 5);
        var b = new LanguageModelBatches(Corpus, 8, 10, seed: 5);
        var c = new LanguageModelBatches(Corpus, 8, 10, seed: 6);
        a.Next(); b.Next(); c.Next();
        int[] first = a.Inputs.ToArray();
        Assert.Equal(first, b.Inputs);
        Assert.NotEqual(first, c.Inputs);
        a.Next();
        Assert.NotEqual(first, a.Inputs);
        a.Reset();
        a.Next();
        Assert.Equal(first, a.Inputs);
    }

    [Fact]
    public void Every_start_is_reachable_including_the_last()
    {
        var batches = new LanguageModelBatches([0, 1, 2, 3, 4], batchSize: 64, length: 3, seed: 2);
        batches.Next();
        // Starts 0 and 1: start 1 reads tokens 1..3 and targets 2..4, the last token.
        Assert.Equal(2, batches.WindowCount);
        Assert.Equal([0, 1], Enumerable.Range(0, 64).Select(b => batches.Inputs[3 * b]).Distinct().Order());
    }

    [Fact]
    public void Too_short_a_corpus_is_refused_with_the_numbers()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LanguageModelBatches(new int[64], 2, 64, 1));
        Assert.Contains("needs 65 tokens; the corpus has 64", ex.Message);
    }

    [Fact]
    public void Next_allocates_nothing()
    {
        var batches = new LanguageModelBatches(Corpus, 32, 64, seed: 1);
        batches.Next();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) batches.Next();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
