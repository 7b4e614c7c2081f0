using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Spectre.Console;

namespace ModelDsl.Training;

/// <summary>Receives the trainer's events during <see cref="IProgressReporter.Run"/>.</summary>
internal interface IEpochReport
{
    void EpochStarted(int epoch);
    void BatchDone(int steps, double meanLoss, double samplesPerSecond);
    void EpochDone(EpochRecord record);
    /// <summary>A step threw <c>NonFiniteException</c>: one line saying where, before the exception ends the run.</summary>
    void Stopped(string line);
}

internal interface IProgressReporter
{
    void Run(Action<IEpochReport> loop);
    void Summary(TrainingHistory history);
}

internal static class Text
{
    public static string Epoch(int epoch, int epochs) =>
        string.Create(CultureInfo.InvariantCulture, $"epoch {epoch.ToString(CultureInfo.InvariantCulture).PadLeft(epochs.ToString(CultureInfo.InvariantCulture).Length)}/{epochs}");

    public static string Finished(EpochRecord r, int epochs, string metric) => string.Create(CultureInfo.InvariantCulture,
        $"{Epoch(r.Epoch, epochs)}  train loss {r.TrainLoss:F4}  val loss {r.ValLoss:F4}  val {metric} {r.Metric:F4}  {r.SamplesPerSecond,7:N0} samples/s  {r.Seconds,5:F1} s{(r.IsBest ? "  best" : "")}{NonFinite(r)}");

    /// <summary>What a non-finite epoch's line ends with.</summary>
    public static string NonFinite(EpochRecord r) => r.NonFinite ? "  NON-FINITE (NaN or infinity): not kept as best" : "";

    public static string? Ending(TrainingHistory h)
    {
        if (h.BestEpoch is not { } best) return null;
        string text = h.StoppedEarly
            ? string.Create(CultureInfo.InvariantCulture, $"early stop: no better val {h.MetricName} for {h.Epochs[^1].Epoch - best.Epoch} epochs; best epoch {best.Epoch} ({h.MetricName} {best.Metric:F4})")
            : string.Create(CultureInfo.InvariantCulture, $"best epoch {best.Epoch} ({h.MetricName} {best.Metric:F4})");
        return h.Restored ? text + "; restored its checkpoint" : text;
    }
}

/// <summary>One line per finished epoch, for logs: nothing is rewritten, no control codes.</summary>
internal sealed class PlainReporter(TextWriter output, int epochs, string metric) : IProgressReporter, IEpochReport
{
    public void Run(Action<IEpochReport> loop) => loop(this);

    public void EpochStarted(int epoch) { }

    public void BatchDone(int steps, double meanLoss, double samplesPerSecond) { }

    public void EpochDone(EpochRecord record)
    {
        output.WriteLine(Text.Finished(record, epochs, metric));
        output.Flush();
    }

    public void Stopped(string line)
    {
        output.WriteLine(line);
        output.Flush();
    }

    public void Summary(TrainingHistory history)
    {
        if (Text.Ending(history) is { } line) output.WriteLine(line);
        output.Flush();
    }
}

internal sealed class SilentReporter : IProgressReporter, IEpochReport
{
    public void Run(Action<IEpochReport> loop) => loop(this);
    public void Summary(TrainingHistory history) { }
    public void EpochStarted(int epoch) { }
    public void BatchDone(int steps, double meanLoss, double samplesPerSecond) { }
    public void EpochDone(EpochRecord record) { }
    public void Stopped(string line) { }
}

/// <summary>A Spectre.Console progress bar per epoch: running loss, samples/s, ETA; finished epochs stay on screen.</summary>
internal sealed class LiveReporter(IAnsiConsole console, int epochs, int batchesPerEpoch, string metric) : IProgressReporter
{
    public void Run(Action<IEpochReport> loop) =>
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn { Width = 24 },
                new PercentageColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn())
            .Start(context => loop(new Report(context, epochs, Math.Max(batchesPerEpoch, 1), metric)));

    public void Summary(TrainingHistory history)
    {
        if (Text.Ending(history) is { } line) console.MarkupLine("[bold]" + Markup.Escape(line) + "[/]");
    }

    private sealed class Report(ProgressContext context, int epochs, int batchesPerEpoch, string metric) : IEpochReport
    {
        private readonly Stopwatch _sinceUpdate = new();
        private ProgressTask? _task;
        private int _epoch;

        public void EpochStarted(int epoch)
        {
            _epoch = epoch;
            _task = context.AddTask(Markup.Escape(Text.Epoch(epoch, epochs)), maxValue: batchesPerEpoch);
            _sinceUpdate.Restart();
        }

        public void BatchDone(int steps, double meanLoss, double samplesPerSecond)
        {
            if (_task is null) return;
            _task.Value = steps;
            // The description is markup to be re-parsed: refresh it a few times a second, not every batch.
            if (_sinceUpdate.ElapsedMilliseconds < 200) return;
            _sinceUpdate.Restart();
            _task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{Text.Epoch(_epoch, epochs)}  loss {meanLoss:F4}  {samplesPerSecond:N0} samples/s"));
        }

        public void EpochDone(EpochRecord r)
        {
            if (_task is null) return;
            string text = string.Create(CultureInfo.InvariantCulture,
                $"{Text.Epoch(r.Epoch, epochs)}  loss {r.TrainLoss:F4}  val {r.ValLoss:F4}  {metric} {r.Metric:F4}");
            _task.Description = r.IsBest ? $"[green]{Markup.Escape(text)}  best[/]"
                : r.NonFinite ? $"[red]{Markup.Escape(text + Text.NonFinite(r))}[/]"
                : Markup.Escape(text);
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }

        public void Stopped(string line)
        {
            if (_task is null) return;
            _task.Description = $"[red]{Markup.Escape(line)}[/]";
            _task.StopTask();
        }
    }
}
