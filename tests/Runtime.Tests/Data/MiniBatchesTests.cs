using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Data;

public class MiniBatchesTests
{
    // Row i has features [i, -i] and label i % 10, so a batch row shows which sample it came from.
    private static Dataset Rows(int count, bool targets = false) => new(
        Enumerable.Range(0, count).SelectMany(i => new[] { (float)i, -i }).ToArray(), 2,
        labels: Enumerable.Range(0, count).Select(i => i % 10).ToArray(),
        targets: targets ? Enumerable.Range(0, count).Select(i => i * 0.5f).ToArray() : null,
        targetCount: targets ? 1 : 0);

    private static List<int> Epoch(MiniBatches batches, int epoch, List<int>? sizes = null)
    {
        var seen = new List<int>();
        batches.StartEpoch(epoch);
        while (batches.MoveNext())
        {
            sizes?.Add(batches.CurrentBatchSize);
            for (int r = 0; r < batches.CurrentBatchSize; r++)
            {
                int sample = (int)batches.Features[2 * r];
                Assert.Equal(-sample, batches.Features[2 * r + 1]);
                Assert.Equal(sample % 10, batches.Labels[r]);
                Assert.Equal(sample, batches.CurrentIndices[r]);
                seen.Add(sample);
            }
        }
        return seen;
    }

    [Fact]
    public void Every_sample_exactly_once_per_epoch_with_a_partial_last_batch()
    {
        var batches = new MiniBatches(Rows(103), batchSize: 10, seed: 1);
        Assert.Equal(11, batches.BatchesPerEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var sizes = new List<int>();
            List<int> seen = Epoch(batches, epoch, sizes);
            Assert.Equal(Enumerable.Range(0, 103), seen.Order());
            Assert.Equal(Enumerable.Repeat(10, 10).Append(3), sizes);
        }
    }

    [Fact]
    public void Drop_last_skips_the_partial_batch()
    {
        var batches = new MiniBatches(Rows(103), batchSize: 10, seed: 1, dropLast: true);
        var sizes = new List<int>();
        List<int> seen = Epoch(batches, 0, sizes);
        Assert.Equal(10, batches.BatchesPerEpoch);
        Assert.Equal(Enumerable.Repeat(10, 10), sizes);
        Assert.Equal(100, seen.Distinct().Count());
        Assert.Equal(0, batches.CurrentBatchSize);
    }

    [Fact]
    public void Same_seed_same_order_different_seed_or_epoch_different_order()
    {
        List<int> a = Epoch(new MiniBatches(Rows(200), 16, seed: 7), 0);
        List<int> again = Epoch(new MiniBatches(Rows(200), 16, seed: 7), 0);
        List<int> otherSeed = Epoch(new MiniBatches(Rows(200), 16, seed: 8), 0);
        List<int> nextEpoch = Epoch(new MiniBatches(Rows(200), 16, seed: 7), 1);

        Assert.Equal(a, again);
        Assert.NotEqual(a, otherSeed);
        Assert.NotEqual(a, nextEpoch);
        Assert.NotEqual(Enumerable.Range(0, 200), a); // actually shuffled

        // An epoch's order depends on (seed, epoch) only, not on the epochs run before it: runs can resume.
        var resumed = new MiniBatches(Rows(200), 16, seed: 7);
        Epoch(resumed, 0);
        Epoch(resumed, 5);
        Assert.Equal(nextEpoch, Epoch(resumed, 1));
    }

    [Fact]
    public void Unshuffled_keeps_data_order_and_copies_targets()
    {
        var batches = new MiniBatches(Rows(5, targets: true), 2, seed: 0, shuffle: false);
        Assert.Equal([0, 1, 2, 3, 4], Epoch(batches, 0));

        batches.StartEpoch(1);
        Assert.True(batches.MoveNext());
        Assert.True(batches.MoveNext());
        Assert.Equal([1f, 1.5f], batches.CurrentTargets.ToArray());
        Assert.Equal([2, 3], batches.CurrentLabels.ToArray());
        Assert.Equal([2f, -2f, 3f, -3f], batches.CurrentFeatures.ToArray());
    }

    [Fact]
    public void Moving_before_an_epoch_starts_is_an_error()
    {
        var batches = new MiniBatches(Rows(5), 2, seed: 0);
        Assert.Throws<InvalidOperationException>(() => batches.MoveNext());
    }

    [Fact]
    public void Iterating_batches_allocates_nothing()
    {
        var batches = new MiniBatches(Rows(1000, targets: true), batchSize: 32, seed: 3);
        float checksum = 0;

        // Warm up so the measured loop runs already-compiled code.
        batches.StartEpoch(0);
        while (batches.MoveNext()) checksum += batches.CurrentFeatures[0];

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int epoch = 1; epoch <= 5; epoch++)
        {
            batches.StartEpoch(epoch);
            while (batches.MoveNext())
                checksum += batches.CurrentFeatures[0] + batches.CurrentLabels[0] + batches.CurrentTargets[0] + batches.CurrentIndices[0];
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(checksum > 0);
    }
}
