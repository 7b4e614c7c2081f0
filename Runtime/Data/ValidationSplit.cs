using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Holds out a validation set from the training data (Keras' <c>validation_split</c>), so that early stopping and
/// best-epoch selection never look at the test set. Unlike Keras, which takes the last rows before shuffling (a trap for
/// data sorted by class), the held-out rows are a seeded random choice: reproducible for a given (seed, count), and each
/// part keeps the rows in their original order.
/// </summary>
public static class ValidationSplit
{
    /// <summary>
    /// Row indices of the two parts: <c>round(count × fraction)</c> rows (at least 1, and at least 1 left to train on)
    /// go to validation. <paramref name="fraction"/> is in (0, 1).
    /// </summary>
    public static (int[] Train, int[] Validation) Indices(int count, double fraction, int seed)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the validation fraction must be between 0 and 1 (exclusive), like Keras' validation_split");
        if (count < 2) throw new ArgumentException($"{count} row(s) cannot be split into a training and a validation part", nameof(count));
        int validation = (int)Math.Clamp(Math.Round(count * fraction), 1, count - 1);
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        // Fisher–Yates with the data pipeline's generator, so the split depends only on (seed, count).
        var random = new SplitMix64(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + 0x5EED));
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.NextBelow(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var held = order.AsSpan(0, validation).ToArray();
        var kept = order.AsSpan(validation).ToArray();
        Array.Sort(held);
        Array.Sort(kept);
        return (kept, held);
    }

    /// <summary>The training rows and the held-out validation rows of <paramref name="data"/> as two new data sets.</summary>
    public static (Dataset Train, Dataset Validation) Split(Dataset data, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (train, validation) = Indices(data.Count, fraction, seed);
        return (Rows(data, train, " (training part)"), Rows(data, validation, " (validation part)"));
    }

    /// <summary>The same for images: both parts stay <see cref="LabeledImages"/> of the same size and classes.</summary>
    public static (LabeledImages Train, LabeledImages Validation) Split(LabeledImages data, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (train, validation) = Indices(data.Count, fraction, seed);
        LabeledImages Part(int[] rows, string what) =>
            new(Copy(data.Features, data.FeatureCount, rows), data.Height, data.Width, Copy(data.Labels, 1, rows), data.ClassCount, data.Source + what);
        return (Part(train, " (training part)"), Part(validation, " (validation part)"));
    }

    private static Dataset Rows(Dataset data, int[] rows, string what) =>
        new(Copy(data.Features, data.FeatureCount, rows), data.FeatureCount,
            data.Labels is null ? null : Copy(data.Labels, 1, rows),
            data.Targets is null ? null : Copy(data.Targets, data.TargetCount, rows), data.TargetCount, data.Source + what);

    private static T[] Copy<T>(T[] source, int width, IReadOnlyList<int> rows)
    {
        var result = new T[checked(rows.Count * width)];
        for (int i = 0; i < rows.Count; i++) Array.Copy(source, (long)rows[i] * width, result, (long)i * width, width);
        return result;
    }
}
