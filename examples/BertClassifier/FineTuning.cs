using System.Diagnostics;
using System.Globalization;
using BertClassifierExample.Bert;
using BertClassifierExample.Reviews;
using ModelDsl.Runtime;

namespace BertClassifierExample;

/// <summary>
/// Trains BertClassifier (bert_classifier.model) on the reviews with what the model declares: AdamW, the linear
/// warm-up and decay (the program gives the total number of steps, TotalSteps) and clipping to a global norm of 1.0,
/// all in the generated TrainStep (on the CPU or the GPU session, <see cref="DeviceModel"/>); the epoch with the best
/// validation accuracy is kept.
/// </summary>
/// <remarks>
/// Batches hold reviews of similar length (sorted by token count, cut into batches, the batch order shuffled each
/// epoch): each is padded only to its own longest review, which keeps the padding, and so the work, small.
/// </remarks>
internal sealed class FineTuning
{
    /// <summary>bert_classifier.model's <c>schedule linear(warmup=20)</c>.</summary>
    public const int Warmup = 20;

    private readonly WordPiece _wordPiece;
    private readonly Options _options;

    public FineTuning(WordPiece wordPiece, Options options)
    {
        _wordPiece = wordPiece;
        _options = options;
    }

    /// <summary>
    /// Trains <paramref name="model"/> for the configured epochs, the schedule peaking at <paramref name="peak"/>;
    /// returns the best validation accuracy.
    /// </summary>
    public double Train(DeviceModel device, IReadOnlyList<Review> train, IReadOnlyList<Review> validation, float peak, string name)
    {
        var model = device.Model;
        var batches = Batches(train, _options.BatchSize);
        model.TotalSteps = batches.Count * _options.Epochs;
        if (model.TotalSteps <= Warmup)
            throw new InvalidDataException($"{model.TotalSteps} training steps ({train.Count} reviews in batches of {_options.BatchSize}, {_options.Epochs} epoch(s)) do not pass the {Warmup} warm-up steps of bert_classifier.model: train on more reviews or for more epochs");
        model.LearningRate = peak;
        // The training batches' largest shape, reserved once: every step then reuses the same buffers.
        device.ReserveWorkspace(_options.BatchSize, train.Max(r => _wordPiece.Encode(r.Text, _options.MaxLength).Length));
        var random = new Random(_options.Seed);
        var best = (Accuracy: -1.0, Epoch: 0, Values: Array.Empty<float[]>());
        for (int epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var order = Enumerable.Range(0, batches.Count).ToArray();
            random.Shuffle(order);
            double lossSum = 0;
            foreach (int b in order)
            {
                var (ids, segment, mask, labels) = Tensors(batches[b], train);
                lossSum += device.TrainStep(ids, segment, mask, labels);
            }
            double accuracy = Accuracy(device, validation);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name} epoch {epoch}: train loss {lossSum / batches.Count:F4}, validation accuracy {accuracy:F4} ({batches.Count} steps, {clock.Elapsed.TotalSeconds:F0} s)"));
            if (accuracy > best.Accuracy)
            {
                device.CopyToHost();
                best = (accuracy, epoch, model.Parameters.Select(p => (float[])p.Value.Clone()).ToArray());
            }
        }
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            best.Values[i].CopyTo(model.Parameters[i].Value, 0);
            model.Parameters[i].MarkChanged();
        }
        device.CopyFromHost();
        Console.WriteLine($"  {name}: kept epoch {best.Epoch}");
        return best.Accuracy;
    }

    /// <summary>The share of <paramref name="reviews"/> whose class <paramref name="model"/> predicts (dropout off).</summary>
    public double Accuracy(DeviceModel model, IReadOnlyList<Review> reviews)
    {
        int right = 0;
        foreach (var batch in Batches(reviews, Math.Max(_options.BatchSize, 32)))
        {
            var (ids, segment, mask, labels) = Tensors(batch, reviews);
            var predicted = model.Predict(ids, segment, mask);
            for (int i = 0; i < batch.Length; i++)
                if (predicted.Data[i] == labels.Data[i]) right++;
        }
        return right / (double)reviews.Count;
    }

    // Rows of reviews sorted by token count, cut into batches of batchSize (each batch's rows in that order).
    internal List<int[]> Batches(IReadOnlyList<Review> reviews, int batchSize)
    {
        var lengths = reviews.Select(r => _wordPiece.Encode(r.Text, _options.MaxLength).Length).ToArray();
        var sorted = Enumerable.Range(0, reviews.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToArray();
        return sorted.Chunk(batchSize).ToList();
    }

    internal (IntTensor Ids, IntTensor Segment, IntTensor Mask, IntTensor Labels) Tensors(int[] rows, IReadOnlyList<Review> reviews)
    {
        var batch = _wordPiece.Batch(rows.Select(i => reviews[i].Text).ToArray(), _options.MaxLength);
        return (new IntTensor(batch.InputIds, batch.Count, batch.Length), new IntTensor(batch.TokenTypeIds, batch.Count, batch.Length),
            new IntTensor(batch.AttentionMask, batch.Count, batch.Length), new IntTensor(rows.Select(i => reviews[i].Label).ToArray(), batch.Count));
    }
}
