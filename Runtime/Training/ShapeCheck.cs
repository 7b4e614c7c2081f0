using System;
using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime;

/// <summary>
/// Shape and label checks the generated code runs at entry, only for what the compiler could not prove
/// (batch sizes, symbolic dims, label values). The passing path allocates nothing; messages are built only on failure.
/// </summary>
public static class ShapeCheck
{
    /// <summary>
    /// Checks one input's shape. <paramref name="expected"/>: a positive number is a fixed size; <c>-k</c> is symbolic
    /// dimension slot <c>k-1</c>, bound on its first use within the call (<paramref name="bound"/> holds the values,
    /// 0 = unbound; start it zeroed, pass the same span for every input of one call).
    /// </summary>
    /// <param name="model">Message prefix, used verbatim: <c>FashionMlp.TrainStep</c>.</param>
    /// <param name="expectedText">The declared shape as written: <c>[B, 784]</c>.</param>
    /// <exception cref="ArgumentException">
    /// <c>FashionMlp.TrainStep: input 'x' must have shape [B, 784] but has shape [128, 785]</c>; for a conflict with an
    /// earlier input, <c>symbolic dimension B is 128 from an earlier input but 64 from 'y'</c> (use the overload
    /// with <c>boundBy</c> to name that input).
    /// </exception>
    public static void Input(string model, string input, string expectedText, int[] actual, ReadOnlySpan<int> expected,
        Span<int> bound, ReadOnlySpan<string> symbolNames) =>
        Input(model, input, expectedText, actual, expected, bound, symbolNames, boundBy: default);

    /// <summary>
    /// As the other overload, also recording in <paramref name="boundBy"/> (parallel to <paramref name="bound"/>)
    /// which input bound each symbol, so a conflict names both inputs:
    /// <c>symbolic dimension B is 128 from 'x' but 64 from 'y'</c>. An empty span records nothing.
    /// Generated code can keep it on the stack with an <c>[InlineArray]</c> struct of strings.
    /// </summary>
    public static void Input(string model, string input, string expectedText, int[] actual, ReadOnlySpan<int> expected,
        Span<int> bound, ReadOnlySpan<string> symbolNames, Span<string?> boundBy)
    {
        ArgumentNullException.ThrowIfNull(actual);
        if (actual.Length != expected.Length) ThrowRank(model, input, expectedText, actual, expected.Length);
        for (int d = 0; d < expected.Length; d++)
        {
            int want = expected[d];
            int got = actual[d];
            if (want > 0)
            {
                if (got != want) ThrowShape(model, input, expectedText, actual);
                continue;
            }
            int slot = -want - 1;
            if (want == 0 || slot >= bound.Length || slot >= symbolNames.Length)
                throw new ArgumentException($"{model}: input '{input}' dimension {d} refers to symbol slot {slot} ({want}); there are {Math.Min(bound.Length, symbolNames.Length)} slots.", nameof(expected));
            if (bound[slot] == 0)
            {
                bound[slot] = got;
                if (slot < boundBy.Length) boundBy[slot] = input;
            }
            else if (bound[slot] != got)
            {
                // Bound earlier in this same input ([N, N] given [3, 4]): the shape message says it best.
                if (expected[..d].Contains(want)) ThrowShape(model, input, expectedText, actual);
                string? from = slot < boundBy.Length ? boundBy[slot] : null;
                ThrowConflict(model, input, symbolNames[slot], bound[slot], from, got);
            }
        }
    }

    /// <summary>Checks every class id is in [0, classes): <c>FashionMlp.TrainStep: label 'y' holds 12 at position 5; classes are 0..9</c>.</summary>
    public static void Labels(string model, string label, ReadOnlySpan<int> values, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (values.IsEmpty) return;
        // Two vectorised reductions on the passing path; the slow scan only runs to find the culprit.
        if (TensorPrimitives.Min(values) >= 0 && TensorPrimitives.Max(values) < classes) return;
        for (int i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= (uint)classes)
                throw new ArgumentException($"{model}: label '{label}' holds {values[i]} at position {i}; classes are 0..{classes - 1}");
        }
    }

    /// <summary>
    /// Checks every id is in [0, <paramref name="count"/>) before an embedding reads them:
    /// <c>CharGpt.TrainStep: input 'idx' holds 120 at position 7; embedding 'tok' has ids 0..95</c>.
    /// </summary>
    /// <param name="layer">How the message names the table, used verbatim: <c>embedding 'tok'</c>.</param>
    public static void Ids(string model, string input, ReadOnlySpan<int> values, int count, string layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (values.IsEmpty) return;
        if (TensorPrimitives.Min(values) >= 0 && TensorPrimitives.Max(values) < count) return;
        for (int i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= (uint)count)
                throw new ArgumentException($"{model}: input '{input}' holds {values[i]} at position {i}; {layer} has ids 0..{count - 1}");
        }
    }

    /// <summary>
    /// Checks a size bound at the call against a layer's limit:
    /// <c>CharGpt.TrainStep: input 'idx' has T = 80, but positional(max_len=64) 'pos' at char_gpt.model:25 allows at most 64</c>.
    /// </summary>
    /// <param name="dimension">The symbolic dimension as declared (<c>T</c>).</param>
    /// <param name="layer">How the message names the limiting layer, used verbatim.</param>
    public static void AtMost(string model, string input, string dimension, int value, int limit, string layer)
    {
        if (value > limit)
            throw new ArgumentException($"{model}: input '{input}' has {dimension} = {value}, but {layer} allows at most {limit}");
    }

    [DoesNotReturn]
    private static void ThrowRank(string model, string input, string expectedText, int[] actual, int rank) =>
        throw new ArgumentException(
            $"{model}: input '{input}' must have shape {expectedText} (rank {rank}) but has shape {Shapes.Format(actual)} (rank {actual.Length})");

    [DoesNotReturn]
    private static void ThrowShape(string model, string input, string expectedText, int[] actual) =>
        throw new ArgumentException($"{model}: input '{input}' must have shape {expectedText} but has shape {Shapes.Format(actual)}");

    [DoesNotReturn]
    private static void ThrowConflict(string model, string input, string symbol, int first, string? firstInput, int now) =>
        throw new ArgumentException(
            $"{model}: symbolic dimension {symbol} is {first} from {(firstInput is null ? "an earlier input" : $"'{firstInput}'")} but {now} from '{input}'");
}
