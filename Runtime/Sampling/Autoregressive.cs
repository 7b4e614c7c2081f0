using System;

namespace ModelDsl.Runtime.Sampling;

/// <summary>
/// Returns the logits of the token that follows <paramref name="context"/>: one per vocabulary entry, read from the
/// model's output at the context's last position. The span may point into the model's own output buffer; it is
/// read before the next call.
/// </summary>
public delegate ReadOnlySpan<float> NextTokenLogits(ReadOnlySpan<int> context);

/// <summary>
/// The generation loop of a language model: feed the sequence so far, sample the next token, append, repeat.
/// <code>
/// var idx = new IntTensor(new int[context], 1, context);
/// int[] text = Autoregressive.Generate(prompt, 500, context, ids =>
/// {
///     ids.CopyTo(idx.Data);
///     idx.Reshape(1, ids.Length);                        // T = tokens so far, at most the context
///     return Autoregressive.LastPosition(model.Forward(idx));
/// }, new TokenSampler(temperature: 0.8f, topK: 20, seed: 1));
/// </code>
/// </summary>
public static class Autoregressive
{
    /// <summary>
    /// Generates <paramref name="count"/> tokens after <paramref name="prompt"/> and returns them (the prompt not
    /// included). Each step passes the last <paramref name="contextLength"/> tokens at most (a model with learned
    /// positions knows no more), the whole sequence while it is shorter. <paramref name="onToken"/>, when given,
    /// sees each token as it is chosen, to print text as it appears.
    /// </summary>
    public static int[] Generate(ReadOnlySpan<int> prompt, int count, int contextLength, NextTokenLogits next,
        TokenSampler sampler, Action<int>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        if (prompt.IsEmpty)
            throw new ArgumentException("the prompt is empty: start from at least one token (for a character model, e.g. the id of '\\n')", nameof(prompt));

        var sequence = new int[checked(prompt.Length + count)];
        prompt.CopyTo(sequence);
        int length = prompt.Length;
        int vocabulary = -1;
        for (int step = 0; step < count; step++)
        {
            int start = Math.Max(0, length - contextLength);
            ReadOnlySpan<float> logits = next(sequence.AsSpan(start, length - start));
            if (vocabulary < 0) vocabulary = logits.Length;
            else if (logits.Length != vocabulary)
                throw new InvalidOperationException($"step {step}: the model returned {logits.Length} logits, earlier steps {vocabulary}");
            int token = sampler.Sample(logits);
            sequence[length++] = token;
            onToken?.Invoke(token);
        }
        return sequence[prompt.Length..];
    }

    /// <summary>
    /// The logits at the last position of the first sequence of a [B, T, V] (or [T, V]) output: what
    /// <see cref="NextTokenLogits"/> returns for a batch of one.
    /// </summary>
    public static ReadOnlySpan<float> LastPosition(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        int[] shape = logits.Shape;
        if (shape.Length is not (2 or 3))
            throw new ArgumentException($"expected logits [B, T, V] or [T, V], got {logits}", nameof(logits));
        int v = shape[^1], t = shape[^2];
        return logits.Span.Slice((t - 1) * v, v);
    }
}
