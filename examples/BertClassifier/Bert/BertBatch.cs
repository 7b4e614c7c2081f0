namespace BertClassifierExample.Bert;

/// <summary>
/// A batch of tokenized sentences as BERT takes them, padded to the longest sentence of the batch (so T varies from
/// batch to batch): <see cref="InputIds"/>, <see cref="AttentionMask"/> (1 at real tokens, [CLS] and [SEP] included,
/// 0 at padding) and <see cref="TokenTypeIds"/> (all 0: one segment), each [Count, Length] row-major.
/// </summary>
internal sealed record BertBatch(int Count, int Length, int[] InputIds, int[] AttentionMask, int[] TokenTypeIds)
{
    /// <summary>Real tokens of row <paramref name="row"/> ([CLS] and [SEP] included).</summary>
    public int Tokens(int row)
    {
        int n = 0;
        foreach (int m in AttentionMask.AsSpan(row * Length, Length)) n += m;
        return n;
    }
}
