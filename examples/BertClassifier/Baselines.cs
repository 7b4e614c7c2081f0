using BertClassifierExample.Reviews;
using ModelDsl.Runtime.Data;

namespace BertClassifierExample;

/// <summary>The bag-of-words baseline the fine-tuned model has to beat: the repository's logistic regression on word counts.</summary>
internal static class Baselines
{
    public const int VocabularyWords = 20000;

    /// <summary>Test accuracy of <see cref="BagOfWords"/> trained on the training part (every word of each review).</summary>
    public static double BagOfWordsAccuracy(ReviewSplit data)
    {
        var vocabulary = WordVocabulary.Build(data.Train.Select(r => r.Text), VocabularyWords);
        var model = BagOfWords.Train(Texts(data.Train, vocabulary), vocabulary, FineFoodReviews.Classes.Count);
        return model.Accuracy(Texts(data.Test, vocabulary));
    }

    // BagOfWords reads the texts and labels; the fixed-length ids (one per row here) are what TokenizedTexts requires.
    private static TokenizedTexts Texts(IReadOnlyList<Review> reviews, WordVocabulary vocabulary) =>
        new(new int[reviews.Count], 1, reviews.Select(r => r.Label).ToArray(), reviews.Select(r => r.Text).ToArray());
}
