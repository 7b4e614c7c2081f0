using System;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// Rows of float features in one row-major array, with optional class labels (one int per row) and optional float
/// targets (<see cref="TargetCount"/> per row). This is what <see cref="MiniBatches"/> draws from.
/// </summary>
public class Dataset
{
    public Dataset(float[] features, int featureCount, int[]? labels = null, float[]? targets = null, int targetCount = 0, string source = "")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        ArgumentOutOfRangeException.ThrowIfNegative(targetCount);
        if (features.Length % featureCount != 0)
            throw new ArgumentException($"{features.Length} feature values are not a whole number of rows of {featureCount}", nameof(features));

        int count = features.Length / featureCount;
        if (labels is not null && labels.Length != count)
            throw new ArgumentException($"{labels.Length} labels for {count} rows", nameof(labels));
        if ((targets is null) != (targetCount == 0))
            throw new ArgumentException("targets and a positive targetCount go together", nameof(targetCount));
        if (targets is not null && targets.Length != count * targetCount)
            throw new ArgumentException($"{targets.Length} target values for {count} rows of {targetCount}", nameof(targets));

        Features = features;
        FeatureCount = featureCount;
        Count = count;
        Labels = labels;
        Targets = targets;
        TargetCount = targetCount;
        Source = source;
    }

    /// <summary>Number of rows (samples).</summary>
    public int Count { get; }

    public int FeatureCount { get; }

    /// <summary>Row-major features: row i is <c>Features[i*FeatureCount .. (i+1)*FeatureCount)</c>.</summary>
    public float[] Features { get; }

    /// <summary>Class index per row, or null when the data set has no class labels.</summary>
    public int[]? Labels { get; }

    /// <summary>Row-major float targets (regression / multi-output), or null.</summary>
    public float[]? Targets { get; }

    public int TargetCount { get; }

    /// <summary>Where the data came from (file or folder), for logs.</summary>
    public string Source { get; }

    public ReadOnlySpan<float> Row(int index) => Features.AsSpan(checked(index * FeatureCount), FeatureCount);

    public override string ToString() =>
        $"{Count} rows × {FeatureCount} features" + (Labels is null ? "" : ", class labels") +
        (TargetCount == 0 ? "" : $", {TargetCount} targets") + (Source.Length == 0 ? "" : $" from {Source}");
}
