using System;
using System.IO;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Training;

/// <summary>
/// The common case in one call, like Keras' <c>model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2)</c>:
/// <code>
/// var history = model.Fit(model.TrainStep, model.Evaluate, model.Forward, train, epochs: 10, batchSize: 32, validationSplit: 0.2);
/// </code>
/// Holds out <c>validationSplit</c> of the training rows (<see cref="ValidationSplit"/>; the test set is never looked at),
/// shuffles the rest into mini-batches each epoch, reports progress, evaluates on the held-out rows after every epoch
/// (loss, and accuracy for class labels), and with <c>patience</c> stops early; with <c>bestCheckpoint</c> saves the best
/// epoch there and loads it back at the end (Keras' <c>restore_best_weights</c>). The returned history has the curves
/// (<see cref="TrainingHistory.SavePlot"/>, <see cref="TrainingHistory.SaveCsv"/>). For anything else (schedules, GPU
/// sessions, data-parallel steps), use <see cref="Trainer.Run"/> with delegates.
/// Generated classes pass their own typed methods: their argument types differ per model, so they are delegates here.
/// </summary>
public static class Fitting
{
    /// <summary>A model with class labels (<c>label y: i32[B]</c>): validation loss and accuracy, best = highest accuracy.</summary>
    /// <param name="model">The generated model (its learning rate, checkpoints).</param>
    /// <param name="trainStep">The model's <c>TrainStep</c>.</param>
    /// <param name="evaluate">The model's <c>Evaluate</c> (mean loss without training).</param>
    /// <param name="forward">The model's <c>Forward</c> (logits, for accuracy).</param>
    /// <param name="data">The training data; <paramref name="validationSplit"/> of its rows are held out.</param>
    /// <param name="sampleShape">One row as the model's input wants it (<c>[1, 28, 28]</c> for a CNN); default the flat row.</param>
    public static TrainingHistory Fit(this ITrainableModel model, Func<Tensor, IntTensor, float> trainStep, Func<Tensor, IntTensor, float> evaluate,
        Func<Tensor, Tensor> forward, Dataset data, int epochs = 10, int batchSize = 32, double validationSplit = 0.2, int? patience = null,
        string? bestCheckpoint = null, int seed = 0, int[]? sampleShape = null, TrainerDisplay display = TrainerDisplay.Auto, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(trainStep);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Labels is null) throw new ArgumentException($"{data} has no class labels; a model with float targets takes the Fit overload without forward", nameof(data));
        var (train, validation) = Prepare(model, data, batchSize, validationSplit, seed, sampleShape);

        var batches = new MiniBatches(train, batchSize, seed);
        PlanSchedule(model, epochs, batches);
        var x = Input(batches.Features, batchSize, train.FeatureCount, sampleShape);
        var y = new IntTensor(batches.Labels, batchSize);
        var vx = Input(new float[Math.Min(batchSize, validation.Count) * validation.FeatureCount], Math.Min(batchSize, validation.Count), validation.FeatureCount, sampleShape);
        var vy = new IntTensor(new int[vx.Shape[0]], vx.Shape[0]);

        (double, double) Validate()
        {
            double lossSum = 0;
            long correct = 0;
            int size = vx.Shape[0];
            for (int start = 0; start < validation.Count; start += size)
            {
                int rows = Math.Min(size, validation.Count - start);
                vx.SetBatch(rows);
                vy.SetBatch(rows);
                validation.Features.AsSpan(start * validation.FeatureCount, rows * validation.FeatureCount).CopyTo(vx.Data);
                validation.Labels.AsSpan(start, rows).CopyTo(vy.Data);
                lossSum += (double)evaluate(vx, vy) * rows;
                var logits = forward(vx);
                correct += Metrics.CountCorrect(logits.Span, rows, logits.Length / rows, vy.Span);
            }
            return (lossSum / validation.Count, (double)correct / validation.Count);
        }

        return NewTrainer(model, epochs, patience, bestCheckpoint, "accuracy", higherIsBetter: true, display, output).Run(batches,
            b =>
            {
                x.SetBatch(b.CurrentBatchSize);
                y.SetBatch(b.CurrentBatchSize);
                return trainStep(x, y);
            },
            Validate);
    }

    /// <summary>A model with float targets (<c>label y: f32[B, k]</c>, mse or bce): the metric is the validation loss, best = lowest.</summary>
    public static TrainingHistory Fit(this ITrainableModel model, Func<Tensor, Tensor, float> trainStep, Func<Tensor, Tensor, float> evaluate,
        Dataset data, int epochs = 10, int batchSize = 32, double validationSplit = 0.2, int? patience = null,
        string? bestCheckpoint = null, int seed = 0, int[]? sampleShape = null, TrainerDisplay display = TrainerDisplay.Auto, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(trainStep);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Targets is null) throw new ArgumentException($"{data} has no float targets; a model with class labels takes the Fit overload with forward", nameof(data));
        var (train, validation) = Prepare(model, data, batchSize, validationSplit, seed, sampleShape);

        var batches = new MiniBatches(train, batchSize, seed);
        PlanSchedule(model, epochs, batches);
        var x = Input(batches.Features, batchSize, train.FeatureCount, sampleShape);
        var y = new Tensor(batches.Targets, batchSize, train.TargetCount);
        int size = Math.Min(batchSize, validation.Count);
        var vx = Input(new float[size * validation.FeatureCount], size, validation.FeatureCount, sampleShape);
        var vy = new Tensor(new float[size * validation.TargetCount], size, validation.TargetCount);

        (double, double) Validate()
        {
            double lossSum = 0;
            for (int start = 0; start < validation.Count; start += size)
            {
                int rows = Math.Min(size, validation.Count - start);
                vx.SetBatch(rows);
                vy.SetBatch(rows);
                validation.Features.AsSpan(start * validation.FeatureCount, rows * validation.FeatureCount).CopyTo(vx.Data);
                validation.Targets.AsSpan(start * validation.TargetCount, rows * validation.TargetCount).CopyTo(vy.Data);
                lossSum += (double)evaluate(vx, vy) * rows;
            }
            double loss = lossSum / validation.Count;
            return (loss, loss);
        }

        return NewTrainer(model, epochs, patience, bestCheckpoint, "loss", higherIsBetter: false, display, output).Run(batches,
            b =>
            {
                x.SetBatch(b.CurrentBatchSize);
                y.SetBatch(b.CurrentBatchSize);
                return trainStep(x, y);
            },
            Validate);
    }

    private static (Dataset Train, Dataset Validation) Prepare(ITrainableModel model, Dataset data, int batchSize, double validationSplit, int seed, int[]? sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (sampleShape is not null && Product(sampleShape) != data.FeatureCount)
            throw new ArgumentException($"sampleShape [{string.Join(", ", sampleShape)}] holds {Product(sampleShape)} values, but each row of {data} has {data.FeatureCount}", nameof(sampleShape));
        return ValidationSplit.Split(data, validationSplit, seed);
    }

    private static Tensor Input(float[] buffer, int rows, int featureCount, int[]? sampleShape) =>
        new(buffer, [rows, .. sampleShape ?? [featureCount]]);

    private static long Product(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    /// <summary>A model whose declared schedule takes its total from the caller decays over this run's updates (unless already set).</summary>
    private static void PlanSchedule(ITrainableModel model, int epochs, MiniBatches batches)
    {
        if (model is IScheduledModel { TotalSteps: 0 } scheduled) scheduled.TotalSteps = checked(epochs * batches.BatchesPerEpoch);
    }

    private static Trainer NewTrainer(ITrainableModel model, int epochs, int? patience, string? bestCheckpoint, string metric, bool higherIsBetter,
        TrainerDisplay display, TextWriter? output) => new()
    {
        Epochs = epochs,
        Patience = patience,
        MetricName = metric,
        HigherIsBetter = higherIsBetter,
        Checkpoint = bestCheckpoint is null ? null : new BestCheckpoint(bestCheckpoint, model.Save, model.Load),
        Display = display,
        Output = output,
    };
}
