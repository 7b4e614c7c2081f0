using BertClassifierExample.Reviews;
using ModelDsl.Runtime.Data;

namespace BertClassifierExample;

/// <summary>
/// The three parts every model of the program is trained and judged on: training, validation (held out of the training
/// data, 10%, for choosing the epoch) and test (the package's testing_data, used once at the end).
/// </summary>
internal sealed record ReviewSplit(IReadOnlyList<Review> Train, IReadOnlyList<Review> Validation, IReadOnlyList<Review> Test, string Source)
{
    public const double ValidationFraction = 0.1;

    public static ReviewSplit Load(Options options)
    {
        var data = FineFoodReviews.Load(options.DataFolder, Options.SampleFolder);
        var all = data.Train;
        if (options.TrainLimit > 0 && options.TrainLimit < all.Count) all = all.Take(options.TrainLimit).ToArray();
        var (train, validation) = ValidationSplit.Indices(all.Count, ValidationFraction, options.Seed);
        return new ReviewSplit(train.Select(i => all[i]).ToArray(), validation.Select(i => all[i]).ToArray(), data.Test, data.Source);
    }
}
