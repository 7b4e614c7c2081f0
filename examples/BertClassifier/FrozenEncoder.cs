using BertClassifierExample.Bert;
using BertClassifierExample.Reviews;
using ModelDsl.Runtime;

namespace BertClassifierExample;

/// <summary>
/// The frozen-encoder baseline: BertClassifier with the pretrained weights, untouched, turns each review into one
/// feature vector (the mean of its second output, last_hidden_state, over the review's tokens: sentence-transformers'
/// pooling for this model), and a logistic regression on those features is the only thing trained (a linear probe).
/// </summary>
internal static class FrozenEncoder
{
    /// <summary>
    /// [reviews.Count][384] mean-pooled features. Reviews of the same token count are batched together (up to
    /// <paramref name="batchSize"/>), so no batch holds padding and the encoder needs no attention mask.
    /// </summary>
    public static float[][] Features(DeviceModel encoder, WordPiece wordPiece, IReadOnlyList<Review> reviews, int maxLength, int batchSize)
    {
        var ids = reviews.Select(r => wordPiece.Encode(r.Text, maxLength)).ToArray();
        var features = new float[reviews.Count][];
        foreach (var group in Enumerable.Range(0, ids.Length).GroupBy(i => ids[i].Length))
        {
            int length = group.Key;
            foreach (var chunk in group.Chunk(batchSize))
            {
                var tokens = new int[chunk.Length * length];
                for (int r = 0; r < chunk.Length; r++) ids[chunk[r]].CopyTo(tokens, r * length);
                var mask = new int[tokens.Length];
                Array.Fill(mask, 1);
                var hidden = encoder.ForwardAll(new IntTensor(tokens, chunk.Length, length), new IntTensor(new int[tokens.Length], chunk.Length, length),
                    new IntTensor(mask, chunk.Length, length)).l5_ffn_norm.Data;
                int d = OnnxReference.Hidden;
                for (int r = 0; r < chunk.Length; r++)
                {
                    var pooled = new float[d];
                    for (int t = 0; t < length; t++)
                        for (int k = 0; k < d; k++) pooled[k] += hidden[(r * length + t) * d + k];
                    for (int k = 0; k < d; k++) pooled[k] /= length;
                    features[chunk[r]] = pooled;
                }
            }
        }
        return features;
    }
}

/// <summary>
/// Binary logistic regression on dense features, standardised with the training part's mean and deviation; full-batch
/// gradient descent with L2, the epoch with the best validation accuracy kept (the test set is scored once).
/// </summary>
internal sealed class LogisticRegression
{
    private readonly double[] _mean, _scale, _weights;
    private double _bias;

    private LogisticRegression(int features)
    {
        _mean = new double[features];
        _scale = new double[features];
        _weights = new double[features];
    }

    public static LogisticRegression Train(float[][] train, int[] labels, float[][] validation, int[] validationLabels,
        int epochs = 300, double rate = 0.5, double l2 = 1e-3)
    {
        int n = train.Length, f = train[0].Length;
        var model = new LogisticRegression(f);
        for (int k = 0; k < f; k++)
        {
            double mean = train.Average(x => (double)x[k]);
            double variance = train.Average(x => (x[k] - mean) * (x[k] - mean));
            model._mean[k] = mean;
            model._scale[k] = 1 / Math.Sqrt(variance + 1e-12);
        }
        var x = train.Select(model.Standardise).ToArray();
        var best = (Accuracy: -1.0, Weights: new double[f], Bias: 0.0);
        var gradient = new double[f];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            Array.Clear(gradient);
            double biasGradient = 0;
            for (int i = 0; i < n; i++)
            {
                // Label 1 ("other") is the positive class: p = σ(w·x + b).
                double error = Sigmoid(Dot(model._weights, x[i]) + model._bias) - labels[i];
                for (int k = 0; k < f; k++) gradient[k] += error * x[i][k];
                biasGradient += error;
            }
            for (int k = 0; k < f; k++) model._weights[k] -= rate * (gradient[k] / n + l2 * model._weights[k]);
            model._bias -= rate * biasGradient / n;
            double accuracy = model.Accuracy(validation, validationLabels);
            if (accuracy > best.Accuracy) best = (accuracy, (double[])model._weights.Clone(), model._bias);
        }
        best.Weights.CopyTo(model._weights, 0);
        model._bias = best.Bias;
        return model;
    }

    public double Accuracy(float[][] features, int[] labels)
    {
        int right = 0;
        for (int i = 0; i < features.Length; i++)
            if ((Dot(_weights, Standardise(features[i])) + _bias > 0 ? 1 : 0) == labels[i]) right++;
        return right / (double)features.Length;
    }

    private double[] Standardise(float[] x)
    {
        var s = new double[x.Length];
        for (int k = 0; k < x.Length; k++) s[k] = (x[k] - _mean[k]) * _scale[k];
        return s;
    }

    private static double Dot(double[] w, double[] x)
    {
        double sum = 0;
        for (int k = 0; k < w.Length; k++) sum += w[k] * x[k];
        return sum;
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
