using System;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Mini-batch iteration for a training loop. Each <see cref="MoveNext"/> copies the next batch's rows into the same
/// preallocated <see cref="Features"/> / <see cref="Labels"/> / <see cref="Targets"/> arrays, so iterating allocates
/// nothing on the managed heap after construction.
/// <code>
/// var batches = new MiniBatches(train, batchSize: 64, seed: 42);
/// var x = new Tensor(batches.Features, 64, train.FeatureCount);
/// var y = new IntTensor(batches.Labels, 64);
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     batches.StartEpoch(epoch);
///     while (batches.MoveNext())
///     {
///         x.SetBatch(batches.CurrentBatchSize);
///         y.SetBatch(batches.CurrentBatchSize);
///         model.TrainStep(x, y);
///     }
/// }
/// </code>
/// The order of epoch e is a Fisher–Yates shuffle that depends only on (seed, e): reproducible, and resumable mid-run.
/// <para>
/// Data-parallel training (docs/distributed.md) gives each rank a shard, like PyTorch's <c>DistributedSampler</c>:
/// with <c>rank</c>/<c>ranks</c>, <see cref="BatchSize"/> is the global batch; every rank orders the epoch the same way
/// (same seed) and takes its contiguous part of each global batch, rows <c>[n·rank/ranks, n·(rank+1)/ranks)</c> of
/// its n rows. So 2 ranks × B/2 train on exactly the rows 1 rank × B would, step for step. A last global batch with
/// fewer rows than ranks is skipped (some rank would get none).
/// </para>
/// </summary>
public sealed class MiniBatches
{
    private readonly Dataset _data;
    private readonly int[] _order;
    private readonly bool _shuffle;
    private int _position;
    private int _shardStart;

    /// <param name="rank">This process's shard, 0 ≤ rank &lt; ranks (data-parallel training); 0 alone.</param>
    /// <param name="ranks">How many shards each global batch of <paramref name="batchSize"/> rows is split into.</param>
    public MiniBatches(Dataset data, int batchSize, int seed, bool dropLast = false, bool shuffle = true, int rank = 0, int ranks = 1)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ranks);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, ranks);
        if (batchSize < ranks)
            throw new ArgumentException($"a global batch of {batchSize} rows cannot be split over {ranks} ranks: each rank needs at least one row.", nameof(batchSize));
        _data = data;
        BatchSize = batchSize;
        Seed = seed;
        DropLast = dropLast;
        _shuffle = shuffle;
        Rank = rank;
        Ranks = ranks;
        _order = new int[data.Count];
        int capacity = (batchSize + ranks - 1) / ranks;
        Features = new float[BufferSize.Elements("MiniBatches", $"batch size {batchSize}", $"'Features' ({data.FeatureCount} per row)", (double)capacity * data.FeatureCount)];
        Labels = new int[data.Labels is null ? 0 : capacity];
        Targets = new float[BufferSize.Elements("MiniBatches", $"batch size {batchSize}", $"'Targets' ({data.TargetCount} per row)", (double)capacity * data.TargetCount)];
        Epoch = -1;
    }

    /// <summary>Rows in a full batch: the global batch when sharded (this rank's buffers hold its part of it).</summary>
    public int BatchSize { get; }

    /// <summary>This process's shard of every batch (0 unsharded).</summary>
    public int Rank { get; }

    /// <summary>How many shards every batch is split into (1 unsharded).</summary>
    public int Ranks { get; }

    /// <summary>Rows this rank holds now: its part of <see cref="GlobalBatchSize"/> (all of it unsharded).</summary>
    public int CurrentBatchSize { get; private set; }

    /// <summary>Rows in the current batch over all ranks: <see cref="BatchSize"/>, or fewer for the last batch unless <see cref="DropLast"/>.</summary>
    public int GlobalBatchSize { get; private set; }

    public int FeatureCount => _data.FeatureCount;

    public int TargetCount => _data.TargetCount;

    public int Seed { get; }

    /// <summary>Whether a last batch smaller than <see cref="BatchSize"/> is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The epoch last started; -1 before the first <see cref="StartEpoch"/>.</summary>
    public int Epoch { get; private set; }

    public int BatchesPerEpoch => _data.Count / BatchSize + (!DropLast && _data.Count % BatchSize >= Ranks ? 1 : 0);

    /// <summary>Batch features, row-major; only the first CurrentBatchSize × FeatureCount values are the current batch.</summary>
    public float[] Features { get; }

    /// <summary>Batch class labels (empty when the data set has none); only the first CurrentBatchSize are current.</summary>
    public int[] Labels { get; }

    /// <summary>Batch float targets, row-major (empty when the data set has none).</summary>
    public float[] Targets { get; }

    public ReadOnlySpan<float> CurrentFeatures => Features.AsSpan(0, CurrentBatchSize * FeatureCount);

    public ReadOnlySpan<int> CurrentLabels => Labels.AsSpan(0, Labels.Length == 0 ? 0 : CurrentBatchSize);

    public ReadOnlySpan<float> CurrentTargets => Targets.AsSpan(0, CurrentBatchSize * TargetCount);

    /// <summary>Data set row indices of the current batch, in batch order.</summary>
    public ReadOnlySpan<int> CurrentIndices => _order.AsSpan(_position - GlobalBatchSize + _shardStart, CurrentBatchSize);

    /// <summary>Orders the rows for <paramref name="epoch"/> and rewinds to its first batch.</summary>
    public void StartEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        Epoch = epoch;
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        if (_shuffle)
        {
            // Seed and epoch are mixed through SplitMix64's own output so that neighbouring seeds/epochs are unrelated.
            var rng = new SplitMix64(new SplitMix64(((ulong)(uint)Seed << 32) | (uint)epoch).Next());
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = rng.NextBelow(i + 1);
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
        }
        _position = 0;
        CurrentBatchSize = 0;
        GlobalBatchSize = 0;
    }

    /// <summary>Skips the next <paramref name="count"/> batches without copying them: resuming mid-epoch from a checkpoint's step.</summary>
    public void Skip(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (Epoch < 0)
            throw new InvalidOperationException("call StartEpoch(epoch) before Skip(count)");
        _position = (int)Math.Min(_order.Length, _position + (long)count * BatchSize);
        CurrentBatchSize = 0;
        GlobalBatchSize = 0;
    }

    /// <summary>Fills the buffers with the next batch; false when the epoch is done (start the next with <see cref="StartEpoch"/>).</summary>
    public bool MoveNext()
    {
        if (Epoch < 0)
            throw new InvalidOperationException("call StartEpoch(epoch) before MoveNext()");
        int remaining = _order.Length - _position;
        int rows = Math.Min(BatchSize, remaining);
        if (rows == 0 || (DropLast && rows < BatchSize) || rows < Ranks)
        {
            _position = _order.Length;
            CurrentBatchSize = 0;
            GlobalBatchSize = 0;
            return false;
        }
        GlobalBatchSize = rows;
        // This rank's contiguous part of the global batch; the parts of all ranks tile it exactly.
        _shardStart = (int)((long)rows * Rank / Ranks);
        int shardEnd = (int)((long)rows * (Rank + 1) / Ranks);
        int global = rows;
        rows = shardEnd - _shardStart;

        int f = _data.FeatureCount, t = _data.TargetCount;
        float[] features = _data.Features;
        int[]? labels = _data.Labels;
        float[]? targets = _data.Targets;
        for (int r = 0; r < rows; r++)
        {
            int index = _order[_position + _shardStart + r];
            features.AsSpan(index * f, f).CopyTo(Features.AsSpan(r * f, f));
            if (labels is not null) Labels[r] = labels[index];
            if (targets is not null) targets.AsSpan(index * t, t).CopyTo(Targets.AsSpan(r * t, t));
        }
        _position += global;
        CurrentBatchSize = rows;
        return true;
    }
}
