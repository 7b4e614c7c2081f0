using ModelDsl.Runtime.Data;

namespace BinaryClassifierExample;

/// <summary>A seeded, reproducible binary classification problem over ten features, and a train/test split.</summary>
internal static class SyntheticData
{
    public static Dataset Create(int count, int seed)
    {
        var random = new Random(seed);
        var features = new float[count * 10];
        var targets = new float[count];
        for (int i = 0; i < count; i++)
        {
            var row = features.AsSpan(i * 10, 10);
            for (int j = 0; j < 10; j++) row[j] = (float)(random.NextDouble() * 4 - 2);
            // An interaction, a curve and a threshold: not linearly separable.
            double score = row[0] * row[1] + Math.Sin(2 * row[2]) + 0.5 * row[3] * row[3] - row[4] - 0.5;
            targets[i] = score > 0 ? 1f : 0f;
        }
        return new Dataset(features, 10, targets: targets, targetCount: 1, source: $"synthetic (seed {seed})");
    }

    public static (Dataset Train, Dataset Test) Split(Dataset data, double testFraction)
    {
        int testCount = (int)(data.Count * testFraction);
        int trainCount = data.Count - testCount;
        Dataset Slice(int start, int count) => new(
            data.Features.AsSpan(start * data.FeatureCount, count * data.FeatureCount).ToArray(), data.FeatureCount,
            data.Labels?.AsSpan(start, count).ToArray(),
            data.Targets?.AsSpan(start * data.TargetCount, count * data.TargetCount).ToArray(), data.TargetCount, data.Source);
        return (Slice(0, trainCount), Slice(trainCount, testCount));
    }
}
