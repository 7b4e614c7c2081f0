using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Data;

/// <summary>MiniBatches with rank/ranks: the DistributedSampler of data-parallel training (docs/distributed.md).</summary>
public class ShardedMiniBatchesTests
{
    // Row i has features [i, -i] and label i % 10, so a batch row shows which sample it came from.
    private static Dataset Rows(int count) => new(
        Enumerable.Range(0, count).SelectMany(i => new[] { (float)i, -i }).ToArray(), 2,
        labels: Enumerable.Range(0, count).Select(i => i % 10).ToArray());

    /// <summary>Each batch's sample ids, in batch order, as this shard holds them.</summary>
    private static List<int[]> Batches(MiniBatches batches, int epoch, int skip = 0)
    {
        var result = new List<int[]>();
        batches.StartEpoch(epoch);
        batches.Skip(skip);
        while (batches.MoveNext())
        {
            var rows = new int[batches.CurrentBatchSize];
            for (int r = 0; r < rows.Length; r++)
            {
                rows[r] = (int)batches.Features[2 * r];
                Assert.Equal(rows[r] % 10, batches.Labels[r]);
                Assert.Equal(rows[r], batches.CurrentIndices[r]);
            }
            result.Add(rows);
        }
        return result;
    }

    [Theory]
    [InlineData(103, 10, 2)]
    [InlineData(103, 10, 3)]
    [InlineData(64, 16, 4)]
    public void The_shards_of_every_batch_tile_the_single_process_batch_in_order(int count, int batch, int ranks)
    {
        var whole = Batches(new MiniBatches(Rows(count), batch, seed: 5), epoch: 2);
        var shards = Enumerable.Range(0, ranks).Select(r => Batches(new MiniBatches(Rows(count), batch, seed: 5, rank: r, ranks: ranks), epoch: 2)).ToList();
        for (int b = 0; b < whole.Count; b++)
        {
            // Rank 0's rows, then rank 1's, ...: exactly the single-process batch, so 2 ranks x B/2 train on what 1 x B does.
            Assert.Equal(whole[b], shards.SelectMany(s => s[b]));
            int[] sizes = shards.Select(s => s[b].Length).ToArray();
            Assert.True(sizes.Max() - sizes.Min() <= 1, $"batch {b}: shard sizes {string.Join(", ", sizes)}");
        }
        Assert.All(shards, s => Assert.Equal(whole.Count, s.Count));
    }

    [Fact]
    public void A_last_batch_with_fewer_rows_than_ranks_is_skipped_on_every_rank()
    {
        // 42 rows in batches of 10: the last has 2 rows, fewer than 3 ranks.
        var shards = Enumerable.Range(0, 3).Select(r => new MiniBatches(Rows(42), 10, seed: 1, rank: r, ranks: 3)).ToList();
        Assert.All(shards, s => Assert.Equal(4, s.BatchesPerEpoch));
        Assert.All(shards, s => Assert.Equal(4, Batches(s, 0).Count));
        Assert.Equal(5, new MiniBatches(Rows(42), 10, seed: 1, rank: 0, ranks: 2).BatchesPerEpoch);
    }

    [Fact]
    public void Skip_resumes_mid_epoch_where_a_checkpoint_left_off()
    {
        var all = Batches(new MiniBatches(Rows(100), 8, seed: 3, rank: 1, ranks: 2), epoch: 4);
        var resumed = Batches(new MiniBatches(Rows(100), 8, seed: 3, rank: 1, ranks: 2), epoch: 4, skip: 5);
        Assert.Equal(all.Skip(5), resumed);
    }

    [Fact]
    public void A_rank_outside_the_job_or_a_batch_smaller_than_the_job_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniBatches(Rows(10), 4, seed: 0, rank: 2, ranks: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniBatches(Rows(10), 4, seed: 0, rank: 0, ranks: 0));
        var tooSmall = Assert.Throws<ArgumentException>(() => new MiniBatches(Rows(10), 2, seed: 0, rank: 0, ranks: 4));
        Assert.Contains("a global batch of 2 rows cannot be split over 4 ranks", tooSmall.Message);
    }
}
