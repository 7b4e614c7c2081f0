using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Labelled texts as fixed-length rows of token ids: <see cref="Tokens"/> is [Count, Length] row-major, ready to wrap
/// in an <c>IntTensor</c>; <see cref="Texts"/> keeps the originals for baselines and for showing mistakes.
/// </summary>
public sealed class TokenizedTexts
{
    public TokenizedTexts(int[] tokens, int length, int[] labels, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (tokens.Length != checked(labels.Length * length))
            throw new ArgumentException($"{tokens.Length} token ids are not {labels.Length} rows of {length}", nameof(tokens));
        if (texts.Count != labels.Length)
            throw new ArgumentException($"{texts.Count} texts for {labels.Length} labels", nameof(texts));
        Tokens = tokens;
        Length = length;
        Labels = labels;
        Texts = texts;
    }

    public int Count => Labels.Length;

    /// <summary>Tokens per row: the sequence length T.</summary>
    public int Length { get; }

    /// <summary>[Count, Length] token ids, row-major.</summary>
    public int[] Tokens { get; }

    /// <summary>Class id per row.</summary>
    public int[] Labels { get; }

    public IReadOnlyList<string> Texts { get; }

    public ReadOnlySpan<int> Row(int index) => Tokens.AsSpan(checked(index * Length), Length);

    public override string ToString() => $"{Count} texts × {Length} tokens";
}
