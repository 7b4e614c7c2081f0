using System;
using System.Globalization;

namespace ModelDsl.Runtime;

/// <summary>
/// Buffer lengths for the generated workspaces, computed in double so that a batch too large for an array gives a
/// message naming the binding and the buffer instead of a bare <see cref="OverflowException"/> from <c>checked(256 * B)</c>.
/// </summary>
public static class BufferSize
{
    /// <summary>
    /// <paramref name="elements"/> as an array length:
    /// <c>FashionMlp: B = 33554432 makes buffer 'logits_0' f32[B, 256] 8589934592 elements, more than one array can hold (2147483591); use a smaller batch</c>.
    /// </summary>
    /// <param name="binding">The symbol values, for the message: <c>B = 33554432</c>.</param>
    /// <param name="buffer">The buffer and its declared shape: <c>'logits_0' f32[B, 256]</c>.</param>
    public static int Elements(string model, string binding, string buffer, double elements)
    {
        if (elements >= 0 && elements <= Array.MaxLength) return (int)elements;
        throw new ArgumentOutOfRangeException(nameof(elements), elements,
            $"{model}: {binding} makes buffer {buffer} {elements.ToString("0", CultureInfo.InvariantCulture)} elements, more than one array can hold "
            + $"({Array.MaxLength.ToString(CultureInfo.InvariantCulture)}); use a smaller batch (or shorter sequences).");
    }
}

/// <summary>Validation of the hyperparameters a generated model lets callers set.</summary>
public static class Hyperparameters
{
    /// <summary>
    /// A learning rate must be finite and not negative (0 freezes the parameters):
    /// <c>FashionMlp.LearningRate must be finite and ≥ 0, but was NaN</c>.
    /// </summary>
    public static float LearningRate(string model, float value)
    {
        if (float.IsFinite(value) && value >= 0) return value;
        throw new ArgumentOutOfRangeException("value", value,
            $"{model}.LearningRate must be finite and >= 0, but was {value.ToString("R", CultureInfo.InvariantCulture)}.");
    }
}
