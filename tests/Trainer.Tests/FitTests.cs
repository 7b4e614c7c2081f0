using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Training.Tests;

/// <summary>
/// <c>Fitting.Fit</c>:
/// the held-out rows are never trained on, every row is used once per epoch, accuracy is measured on the held-out
/// rows, early stopping and the best checkpoint work as in <see cref="Trainer"/>.
/// </summary>
public sealed class FitTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "fit-tests-" + Guid.NewGuid().ToString("N"));

    public FitTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A stand-in for a generated class: its "weights" are the number of training steps taken.</summary>
    private sealed class CountingModel : ITrainableModel
    {
        public IReadOnlyList<Parameter> Parameters { get; } = [];
        public ulong Seed => 0;
        public int Step { get; set; }
        public float LearningRate { get; set; } = 0.1f;
        public int DropoutStream { get; set; }
        public void ApplyGradients() => Step++;
        public void Save(string path) => File.WriteAllText(path, Step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        public void Load(string path) => Step = int.Parse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A stand-in for a generated class whose declared schedule takes its total from the caller.</summary>
    private sealed class ScheduledModel : ITrainableModel, IScheduledModel
    {
        public IReadOnlyList<Parameter> Parameters { get; } = [];
        public ulong Seed => 0;
        public int Step { get; set; }
        public float LearningRate { get; set; } = 0.1f;
        public int DropoutStream { get; set; }
        public int TotalSteps { get; set; }
        public int TotalStepsAtFirstStep { get; private set; } = -1;
        public void ApplyGradients()
        {
            if (Step++ == 0) TotalStepsAtFirstStep = TotalSteps;
        }
        public void Save(string path) { }
        public void Load(string path) { }
    }

    [Theory]
    [InlineData(0, 15)]   // not set: epochs × batches per epoch (80 training rows in batches of 16: 5 per epoch, 3 epochs)
    [InlineData(40, 40)]  // set by the caller: kept
    public void Fit_gives_a_declared_schedule_its_total_steps_before_the_first_step(int given, int expected)
    {
        var model = new ScheduledModel { TotalSteps = given };
        model.Fit((x, y) => { model.ApplyGradients(); return 1f; }, (x, y) => 1f, x => new Tensor(new float[x.Shape[0] * 3], x.Shape[0], 3),
            Rows(100), epochs: 3, batchSize: 16, validationSplit: 0.2, display: TrainerDisplay.None);
        Assert.Equal(expected, model.TotalStepsAtFirstStep);
        Assert.Equal(15, model.Step);
    }

    // Row i has features (i, 0, 0) and label i % 3: the row's index travels with it through the split and the batches.
    private static Dataset Rows(int count) =>
        new(Enumerable.Range(0, count).SelectMany(i => new float[] { i, 0, 0 }).ToArray(), 3, labels: Enumerable.Range(0, count).Select(i => i % 3).ToArray());

    [Fact]
    public void The_validation_rows_are_held_out_of_training_and_evaluated_every_epoch()
    {
        var model = new CountingModel();
        // 80 training rows in batches of 16: 5 steps per epoch, so the step count tells the epoch.
        var trained = Enumerable.Range(0, 3).Select(_ => new List<int>()).ToArray();
        var validated = Enumerable.Range(0, 3).Select(_ => new List<int>()).ToArray();
        var history = model.Fit(
            trainStep: (x, y) =>
            {
                for (int r = 0; r < x.Shape[0]; r++) trained[model.Step / 5].Add((int)x.Data[r * 3]);
                model.ApplyGradients();
                return 1f / model.Step;
            },
            evaluate: (x, y) =>
            {
                for (int r = 0; r < x.Shape[0]; r++)
                {
                    validated[model.Step / 5 - 1].Add((int)x.Data[r * 3]);
                    Assert.Equal((int)x.Data[r * 3] % 3, y.Data[r]);
                }
                return 0.5f;
            },
            // Logits that pick class 0 always: accuracy is the share of held-out rows with label 0.
            forward: x => new Tensor(new float[x.Shape[0] * 3].Select((_, k) => k % 3 == 0 ? 1f : 0f).ToArray(), x.Shape[0], 3),
            data: Rows(100), epochs: 3, batchSize: 16, validationSplit: 0.2, display: TrainerDisplay.None);

        Assert.Equal(3, history.Epochs.Count);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(80, trained[e].Count);
            Assert.Equal(80, trained[e].Distinct().Count());
            Assert.Equal(20, validated[e].Count);
            Assert.Empty(trained[e].Intersect(validated[e]));
            Assert.Equal(Enumerable.Range(0, 100), trained[e].Concat(validated[e]).Order());
            Assert.Equal(validated[0], validated[e]);
        }
        double expected = validated[0].Count(i => i % 3 == 0) / 20.0;
        Assert.All(history.Epochs, record => Assert.Equal(expected, record.Metric, 12));
        Assert.Equal("accuracy", history.MetricName);
        Assert.Equal(5 * 3, model.Step);
    }

    [Fact]
    public void Early_stopping_and_the_best_checkpoint_restore_the_best_epoch()
    {
        var model = new CountingModel();
        // Validation accuracy by epoch (from the number of steps taken): best at epoch 2, then worse.
        double[] accuracy = [0.5, 0.9, 0.6, 0.6, 0.6, 0.6];
        string checkpoint = Path.Combine(_folder, "best.safetensors");
        var history = model.Fit(
            (x, y) => { model.ApplyGradients(); return 1f; },
            (x, y) => 1f,
            x =>
            {
                // Row r predicts its own label (class r % 3) when the epoch's accuracy says it is "correct".
                int epoch = model.Step / 4 - 1, rows = x.Shape[0];
                var logits = new float[rows * 3];
                for (int r = 0; r < rows; r++)
                {
                    int label = (int)x.Data[r * 3] % 3;
                    int guess = r < accuracy[epoch] * rows ? label : (label + 1) % 3;
                    logits[r * 3 + guess] = 1;
                }
                return new Tensor(logits, rows, 3);
            },
            Rows(50), epochs: 6, batchSize: 10, validationSplit: 0.2, patience: 2, bestCheckpoint: checkpoint, display: TrainerDisplay.None);

        Assert.True(history.StoppedEarly);
        Assert.Equal(4, history.Epochs.Count);
        Assert.Equal(2, history.BestEpoch!.Epoch);
        Assert.True(history.Restored);
        Assert.Equal(8, model.Step); // the checkpoint of epoch 2 (4 batches of 10 per epoch)
    }

    [Fact]
    public void Float_targets_use_the_validation_loss_lower_is_better()
    {
        var model = new CountingModel();
        var data = new Dataset(Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), 1, targets: Enumerable.Range(0, 40).Select(i => i * 2f).ToArray(), targetCount: 1);
        double[] losses = [3, 2, 2.5];
        var history = model.Fit(
            (x, y) =>
            {
                for (int r = 0; r < x.Shape[0]; r++) Assert.Equal(2 * x.Data[r], y.Data[r]);
                model.ApplyGradients();
                return 1f;
            },
            (x, y) => (float)losses[model.Step / 4 - 1],
            data, epochs: 3, batchSize: 8, validationSplit: 0.2, display: TrainerDisplay.None);
        Assert.Equal("loss", history.MetricName);
        Assert.Equal(2, history.BestEpoch!.Epoch);
        Assert.Equal(2.5, history.Epochs[^1].ValLoss, 6);
    }

    [Fact]
    public void A_sample_shape_reshapes_each_row_and_a_wrong_one_is_refused()
    {
        var model = new CountingModel();
        var shapes = new HashSet<string>();
        model.Fit((x, y) => { shapes.Add(string.Join("x", x.Shape.Skip(1))); return 1f; }, (x, y) => 1f, x => new Tensor(new float[x.Shape[0] * 3], x.Shape[0], 3),
            Rows(20), epochs: 1, batchSize: 4, sampleShape: [1, 3], display: TrainerDisplay.None);
        Assert.Equal(["1x3"], shapes);
        var error = Assert.Throws<ArgumentException>(() => model.Fit((x, y) => 1f, (x, y) => 1f, x => x, Rows(20), sampleShape: [2, 2], display: TrainerDisplay.None));
        Assert.Contains("holds 4 values", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit((x, y) => 1f, (x, y) => 1f, x => x, Rows(20), validationSplit: 1.0, display: TrainerDisplay.None));
    }
}
