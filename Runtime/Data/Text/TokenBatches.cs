using System;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Mini-batches of token rows and their labels, with <see cref="MiniBatches"/>' contract: the same preallocated
/// <see cref="Tokens"/> [BatchSize, Length] and <see cref="Labels"/> [BatchSize] buffers every batch, nothing
/// allocated per batch, and epoch order fixed by (seed, epoch).
/// <code>
/// var batches = new TokenBatches(data.Train, batchSize: 64, seed: 1);
/// var x = new IntTensor(batches.Tokens, 64, data.Length);
/// var y = new IntTensor(batches.Labels, 64);
/// batches.StartEpoch(epoch);
/// while (batches.MoveNext()) { x.SetBatch(batches.CurrentBatchSize); y.SetBatch(batches.CurrentBatchSize); model.TrainStep(x, y); }
/// </code>
/// The shuffling is a <see cref="MiniBatches"/> over the row numbers (<see cref="Rows"/>): a loop that takes a
/// MiniBatches (the Trainer's) can drive <see cref="Rows"/> and call <see cref="CopyCurrent"/> in its step.
/// </summary>
public sealed class TokenBatches
{
    private readonly TokenizedTexts _data;

    public TokenBatches(TokenizedTexts data, int batchSize, int seed, bool dropLast = false, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        // Row numbers ride through MiniBatches as its one float feature: exact below 2^24 rows.
        if (data.Count >= 1 << 24)
            throw new ArgumentException($"{data.Count} rows: TokenBatches handles fewer than 2^24", nameof(data));
        _data = data;
        var rowNumbers = new float[data.Count];
        for (int i = 0; i < rowNumbers.Length; i++) rowNumbers[i] = i;
        Rows = new MiniBatches(new Dataset(rowNumbers, 1, data.Labels), batchSize, seed, dropLast, shuffle);
        Tokens = new int[checked(batchSize * data.Length)];
    }

    /// <summary>The row order and labels; drive it directly when a loop wants a <see cref="MiniBatches"/>.</summary>
    public MiniBatches Rows { get; }

    public int BatchSize => Rows.BatchSize;

    public int Length => _data.Length;

    public int CurrentBatchSize => Rows.CurrentBatchSize;

    public int BatchesPerEpoch => Rows.BatchesPerEpoch;

    /// <summary>[BatchSize, Length] token ids; the first CurrentBatchSize rows are the current batch.</summary>
    public int[] Tokens { get; }

    /// <summary>[BatchSize] class ids (the buffer of <see cref="Rows"/>).</summary>
    public int[] Labels => Rows.Labels;

    public ReadOnlySpan<int> CurrentTokens => Tokens.AsSpan(0, CurrentBatchSize * Length);

    public ReadOnlySpan<int> CurrentLabels => Rows.CurrentLabels;

    public void StartEpoch(int epoch) => Rows.StartEpoch(epoch);

    /// <summary>Fills <see cref="Tokens"/> and <see cref="Labels"/> with the next batch; false at the end of the epoch.</summary>
    public bool MoveNext()
    {
        if (!Rows.MoveNext()) return false;
        CopyCurrent();
        return true;
    }

    /// <summary>Copies the token rows of <see cref="Rows"/>' current batch into <see cref="Tokens"/>.</summary>
    public void CopyCurrent()
    {
        ReadOnlySpan<int> indices = Rows.CurrentIndices;
        int t = _data.Length;
        for (int r = 0; r < indices.Length; r++)
            _data.Tokens.AsSpan(indices[r] * t, t).CopyTo(Tokens.AsSpan(r * t, t));
    }
}
