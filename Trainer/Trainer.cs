using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using Spectre.Console;

namespace ModelDsl.Training;

/// <summary>
/// Runs epochs over a <see cref="MiniBatches"/> source, evaluates after each one, and reports as it goes: a live
/// progress bar per epoch on a terminal, one plain line per epoch in logs. Optional: a learning-rate schedule, early
/// stopping on the validation metric, and a checkpoint of the best epoch.
/// <code>
/// var trainer = new Trainer { Epochs = 12, Patience = 3 };
/// var history = trainer.Run(batches,
///     trainStep: b => { x.SetBatch(b.CurrentBatchSize); y.SetBatch(b.CurrentBatchSize); return model.TrainStep(x, y); },
///     evaluate: () => Validate(model, validation)); // yours: (loss, metric) on rows held out of training
/// </code>
/// The one-call form for the common case is <see cref="Fitting"/>.Fit.
/// <code>
/// history.SavePlot("runs/curves.png");
/// </code>
/// The trainer knows nothing about models: generated classes have typed methods, so it takes delegates.
/// </summary>
public sealed class Trainer
{
    /// <summary>Epochs to run (fewer when early stopping triggers).</summary>
    public required int Epochs { get; init; }

    /// <summary>Stop after this many epochs in a row without a better validation metric; null: never stop early.</summary>
    public int? Patience { get; init; }

    /// <summary>How much the metric must beat the best so far to count as better.</summary>
    public double MinDelta { get; init; }

    /// <summary>Whether a larger metric is better (accuracy: yes; an error rate: set false).</summary>
    public bool HigherIsBetter { get; init; } = true;

    /// <summary>Name of the metric <c>evaluate</c> returns, for output, CSV and plot.</summary>
    public string MetricName { get; init; } = "accuracy";

    /// <summary>Sets the learning rate before each epoch; see <see cref="LearningRateSchedule.Cosine"/>.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>Saves the model whenever an epoch is the best so far, and optionally restores the best at the end.</summary>
    public BestCheckpoint? Checkpoint { get; init; }

    /// <summary>Live progress, plain lines or nothing; <see cref="TrainerDisplay.Auto"/> picks from the terminal.</summary>
    public TrainerDisplay Display { get; init; } = TrainerDisplay.Auto;

    /// <summary>Where plain lines go; default <see cref="System.Console.Out"/>. Setting it makes Auto choose plain lines.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>The console for live progress; default <see cref="AnsiConsole.Console"/>.</summary>
    public IAnsiConsole? Console { get; init; }

    /// <summary>
    /// Trains: for each epoch, applies the schedule, calls <paramref name="trainStep"/> once per batch (it returns the
    /// batch's mean loss; the batch is in <paramref name="batches"/>' buffers), then <paramref name="evaluate"/>
    /// (validation loss and metric).
    /// </summary>
    public TrainingHistory Run(MiniBatches batches, Func<MiniBatches, float> trainStep, Func<(double Loss, double Metric)> evaluate)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(trainStep);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs);
        if (Patience is < 1) throw new ArgumentOutOfRangeException(nameof(Patience), "patience must be at least 1");

        var history = new TrainingHistory(MetricName);
        IProgressReporter reporter = ChooseDisplay() switch
        {
            TrainerDisplay.Live => new LiveReporter(Console ?? AnsiConsole.Console, Epochs, batches.BatchesPerEpoch, MetricName),
            TrainerDisplay.Plain => new PlainReporter(Output ?? System.Console.Out, Epochs, MetricName),
            _ => new SilentReporter(),
        };
        var total = Stopwatch.StartNew();
        reporter.Run(report => Loop(batches, trainStep, evaluate, history, report));
        history.TotalSeconds = total.Elapsed.TotalSeconds;

        if (Checkpoint is { Restore: { } restore } checkpoint && history.BestEpoch is { } best && best.Epoch != history.Epochs[^1].Epoch)
        {
            restore(checkpoint.Path);
            history.Restored = true;
        }
        reporter.Summary(history);
        return history;
    }

    private void Loop(MiniBatches batches, Func<MiniBatches, float> trainStep, Func<(double Loss, double Metric)> evaluate,
        TrainingHistory history, IEpochReport report)
    {
        int sinceBest = 0;
        double best = double.NaN;
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            double rate = double.NaN;
            if (Schedule is { } schedule)
            {
                float r = schedule.RateAt(epoch);
                schedule.Apply(r);
                rate = r;
            }
            report.EpochStarted(epoch + 1);
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long seen = 0;
            int steps = 0;
            batches.StartEpoch(epoch);
            while (batches.MoveNext())
            {
                // The global batch: sharded for data-parallel training, trainStep returns the mean over all ranks' rows.
                int rows = batches.GlobalBatchSize;
                float batchLoss;
                try
                {
                    batchLoss = trainStep(batches);
                }
                catch (NonFiniteException e)
                {
                    // The model refused the step and changed nothing; say which epoch and batch before the exception ends the run.
                    report.Stopped(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}, batch {steps + 1}: stopped, non-finite values: {e.Message}"));
                    throw;
                }
                lossSum += (double)batchLoss * rows;
                seen += rows;
                report.BatchDone(++steps, lossSum / seen, seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var (valLoss, metric) = evaluate();

            // A NaN or ∞ training loss, validation loss or metric (models with CheckFinite off, or a custom evaluate) is never
            // "best": NaN compares false with everything, so without this check a NaN first epoch made every later epoch
            // "better" than it and each one overwrote the best checkpoint.
            double trainLoss = seen == 0 ? double.NaN : lossSum / seen;
            bool nonFinite = (seen > 0 && !double.IsFinite(trainLoss)) || !double.IsFinite(valLoss) || !double.IsFinite(metric);
            bool improved = !nonFinite && (double.IsNaN(best) || (HigherIsBetter ? metric > best + MinDelta : metric < best - MinDelta));
            if (improved)
            {
                best = metric;
                sinceBest = 0;
                if (Checkpoint is not null)
                {
                    // "runs/best.ckpt" as the docs write it: the folder is made, as SavePlot and SaveCsv make theirs.
                    if (Path.GetDirectoryName(Path.GetFullPath(Checkpoint.Path)) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
                    Checkpoint.Save(Checkpoint.Path);
                }
            }
            else sinceBest++;

            var record = new EpochRecord(epoch + 1, trainLoss, valLoss, metric, seconds,
                seen / Math.Max(seconds, 1e-9), rate, improved) { NonFinite = nonFinite };
            history.Add(record);
            report.EpochDone(record);

            if (Patience is { } patience && sinceBest >= patience && epoch + 1 < Epochs)
            {
                history.StoppedEarly = true;
                return;
            }
        }
    }

    private TrainerDisplay ChooseDisplay()
    {
        if (Display != TrainerDisplay.Auto) return Display;
        if (Output is not null) return TrainerDisplay.Plain;
        if (Console is not null) return TrainerDisplay.Live;
        return IsInteractiveTerminal() ? TrainerDisplay.Live : TrainerDisplay.Plain;
    }

    /// <summary>
    /// Live progress only on a real terminal: not when stdout is redirected (logs, pipes, tests) and not under CI
    /// (CI=true), where control codes would end up in the log.
    /// </summary>
    public static bool IsInteractiveTerminal() =>
        !System.Console.IsOutputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";
}

/// <summary>How a <see cref="Trainer"/> reports progress.</summary>
public enum TrainerDisplay
{
    /// <summary>Live on an interactive terminal, plain lines otherwise (redirected output or CI=true).</summary>
    Auto,
    /// <summary>A Spectre.Console progress bar per epoch with loss, samples/s and ETA.</summary>
    Live,
    /// <summary>One line per epoch, no control codes.</summary>
    Plain,
    /// <summary>Nothing.</summary>
    None,
}

/// <summary>Sets the learning rate before each epoch: <see cref="Apply"/>(<see cref="RateAt"/>(epoch)), epoch from 0.</summary>
public sealed record LearningRateSchedule(Func<int, float> RateAt, Action<float> Apply)
{
    /// <summary>
    /// Cosine decay from <paramref name="baseRate"/> at epoch 0 towards <paramref name="floor"/> × baseRate at
    /// epoch <paramref name="epochs"/> (the last epoch runs just above the floor).
    /// </summary>
    public static LearningRateSchedule Cosine(float baseRate, int epochs, Action<float> apply, float floor = 0.1f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        return new LearningRateSchedule(epoch => CosineRate(baseRate, epoch, epochs, floor), apply);
    }

    /// <summary>baseRate × (floor + (1 − floor) × (1 + cos(π·epoch/epochs)) / 2).</summary>
    public static float CosineRate(float baseRate, int epoch, int epochs, float floor = 0.1f) =>
        baseRate * (floor + (1f - floor) * 0.5f * (1f + MathF.Cos(MathF.PI * epoch / epochs)));
}

/// <summary>
/// Keeps the best epoch: <see cref="Save"/>(<see cref="Path"/>) runs after every epoch whose metric is the best so far;
/// when <see cref="Restore"/> is given and a later epoch ended the run, it loads the best back at the end.
/// </summary>
public sealed record BestCheckpoint(string Path, Action<string> Save, Action<string>? Restore = null);
