using System;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Random windows of an encoded corpus for next-token training: row b of <see cref="Inputs"/> is
/// <c>tokens[s .. s+T)</c> and the same row of <see cref="Targets"/> is <c>tokens[s+1 .. s+T+1)</c>, for a start s
/// drawn uniformly from every position that leaves room for the shifted target.
/// <code>
/// var batches = new LanguageModelBatches(trainIds, batchSize: 32, length: 64, seed: 1);
/// var idx = new IntTensor(batches.Inputs, 32, 64);          // i32[B, T]
/// var targets = new IntTensor(batches.Targets, 32, 64);     // i32[B, T]
/// for (int step = 0; step &lt; steps; step++) { batches.Next(); model.TrainStep(idx, targets); }
/// </code>
/// The buffers are allocated once and <see cref="Next"/> allocates nothing. The starts come from SplitMix64, seeded
/// once: the sequence of batches depends only on (seed, number of <see cref="Next"/> calls), on every machine, and
/// <see cref="Reset"/> replays it (so a validation estimate can use the same windows every time it is taken).
/// </summary>
public sealed class LanguageModelBatches
{
    private readonly int[] _tokens;
    private SplitMix64 _rng;

    public LanguageModelBatches(int[] tokens, int batchSize, int length, int seed)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (tokens.Length < length + 1)
            throw new ArgumentException(
                $"a window of {length} tokens plus its shifted target needs {length + 1} tokens; the corpus has {tokens.Length}", nameof(tokens));
        _tokens = tokens;
        BatchSize = batchSize;
        Length = length;
        Seed = seed;
        Inputs = new int[checked(batchSize * length)];
        Targets = new int[checked(batchSize * length)];
        Reset();
    }

    public int BatchSize { get; }

    /// <summary>Tokens per window: the sequence length T.</summary>
    public int Length { get; }

    public int Seed { get; }

    /// <summary>Distinct windows available: each start position that leaves room for the target.</summary>
    public int WindowCount => _tokens.Length - Length;

    /// <summary>[BatchSize, Length] input ids of the last <see cref="Next"/>.</summary>
    public int[] Inputs { get; }

    /// <summary>[BatchSize, Length] target ids: the inputs shifted left by one token.</summary>
    public int[] Targets { get; }

    /// <summary>Restarts the sequence of windows from the seed.</summary>
    public void Reset() => _rng = new SplitMix64(new SplitMix64((ulong)(uint)Seed).Next());

    /// <summary>Fills <see cref="Inputs"/> and <see cref="Targets"/> with <see cref="BatchSize"/> new windows.</summary>
    public void Next()
    {
        int t = Length;
        for (int b = 0; b < BatchSize; b++)
        {
            int start = _rng.NextBelow(WindowCount);
            _tokens.AsSpan(start, t).CopyTo(Inputs.AsSpan(b * t, t));
            _tokens.AsSpan(start + 1, t).CopyTo(Targets.AsSpan(b * t, t));
        }
    }
}
