using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class TokenBatchesTests
{
    // Row i is [i, i+1, i+2] with label i % 4, so a batch row shows which text it came from.
    private static TokenizedTexts Rows(int count) => new(
        Enumerable.Range(0, count).SelectMany(i => new[] { i, i + 1, i + 2 }).ToArray(), 3,
        Enumerable.Range(0, count).Select(i => i % 4).ToArray(),
        Enumerable.Range(0, count).Select(i => $"text {i}").ToArray());

    private static List<int> Epoch(TokenBatches batches, int epoch, List<int>? sizes = null)
    {
        var seen = new List<int>();
        batches.StartEpoch(epoch);
        while (batches.MoveNext())
        {
            sizes?.Add(batches.CurrentBatchSize);
            Assert.Equal(batches.CurrentBatchSize * 3, batches.CurrentTokens.Length);
            for (int r = 0; r < batches.CurrentBatchSize; r++)
            {
                int row = batches.Tokens[3 * r];
                Assert.Equal([row, row + 1, row + 2], batches.Tokens.AsSpan(3 * r, 3).ToArray());
                Assert.Equal(row % 4, batches.Labels[r]);
                seen.Add(row);
            }
        }
        return seen;
    }

    [Fact]
    public void Every_row_once_per_epoch_in_batch_shaped_buffers()
    {
        var batches = new TokenBatches(Rows(23), batchSize: 5, seed: 7);
        Assert.Equal((15, 5, 5), (batches.Tokens.Length, batches.Labels.Length, batches.BatchesPerEpoch));

        var sizes = new List<int>();
        List<int> seen = Epoch(batches, 0, sizes);
        Assert.Equal(Enumerable.Range(0, 23), seen.Order());
        Assert.Equal([5, 5, 5, 5, 3], sizes);
        Assert.NotEqual(Enumerable.Range(0, 23), seen); // shuffled
    }

    [Fact]
    public void Order_depends_only_on_seed_and_epoch()
    {
        var a = new TokenBatches(Rows(50), 8, seed: 3);
        var b = new TokenBatches(Rows(50), 8, seed: 3);
        Assert.Equal(Epoch(a, 2), Epoch(b, 2));
        Assert.NotEqual(Epoch(a, 1), Epoch(b, 2));
        Assert.Equal(Enumerable.Range(0, 50), Epoch(new TokenBatches(Rows(50), 8, seed: 3, shuffle: false), 0));
        Assert.Equal([8, 8, 8, 8, 8, 8], EpochSizes(new TokenBatches(Rows(50), 8, seed: 3, dropLast: true)));
    }

    [Fact]
    public void A_loop_driving_Rows_gets_the_same_batches_through_CopyCurrent()
    {
        var direct = new TokenBatches(Rows(30), 4, seed: 11);
        var viaRows = new TokenBatches(Rows(30), 4, seed: 11);
        direct.StartEpoch(0);
        viaRows.Rows.StartEpoch(0);
        while (direct.MoveNext())
        {
            Assert.True(viaRows.Rows.MoveNext());
            viaRows.CopyCurrent();
            Assert.Equal(direct.CurrentTokens.ToArray(), viaRows.CurrentTokens.ToArray());
            Assert.Equal(direct.CurrentLabels.ToArray(), viaRows.CurrentLabels.ToArray());
        }
    }

    [Fact]
    public void Steady_state_allocates_nothing()
    {
        var batches = new TokenBatches(Rows(200), 16, seed: 1);
        Epoch(batches, 0); // warm-up: JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int epoch = 1; epoch < 4; epoch++)
        {
            batches.StartEpoch(epoch);
            while (batches.MoveNext()) { }
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static List<int> EpochSizes(TokenBatches batches)
    {
        var sizes = new List<int>();
        Epoch(batches, 0, sizes);
        return sizes;
    }
}
