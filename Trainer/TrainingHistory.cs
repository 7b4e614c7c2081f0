using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ScottPlot;

namespace ModelDsl.Training;

/// <summary>One finished epoch. <see cref="Epoch"/> counts from 1; <see cref="LearningRate"/> is NaN without a schedule.</summary>
public sealed record EpochRecord(
    int Epoch, double TrainLoss, double ValLoss, double Metric, double Seconds, double SamplesPerSecond, double LearningRate, bool IsBest)
{
    /// <summary>The training loss, validation loss or metric was NaN or ±∞: the epoch is reported as such and never counts as best.</summary>
    public bool NonFinite { get; init; }
}

/// <summary>What a <see cref="Trainer"/> run did, epoch by epoch; saves as CSV and as a PNG of the curves.</summary>
public sealed class TrainingHistory
{
    private readonly List<EpochRecord> _epochs = [];

    public TrainingHistory(string metricName = "accuracy") => MetricName = metricName;

    public string MetricName { get; }

    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    /// <summary>The last epoch whose metric was the best so far (the one a <see cref="BestCheckpoint"/> holds).</summary>
    public EpochRecord? BestEpoch => _epochs.LastOrDefault(e => e.IsBest);

    /// <summary>Whether early stopping ended the run before the configured number of epochs.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>Whether the best checkpoint was loaded back at the end.</summary>
    public bool Restored { get; internal set; }

    public double TotalSeconds { get; internal set; }

    public void Add(EpochRecord record) => _epochs.Add(record);

    /// <summary>Header <c>epoch,train_loss,val_loss,val_{metric},seconds,samples_per_second,learning_rate,best</c>; invariant culture.</summary>
    public void SaveCsv(string path)
    {
        CreateFolderFor(path);
        var csv = new StringBuilder();
        csv.Append(CultureInfo.InvariantCulture, $"epoch,train_loss,val_loss,val_{MetricName},seconds,samples_per_second,learning_rate,best\n");
        foreach (var e in _epochs)
            csv.Append(CultureInfo.InvariantCulture,
                $"{e.Epoch},{e.TrainLoss:R},{e.ValLoss:R},{e.Metric:R},{e.Seconds:F3},{e.SamplesPerSecond:F1},{(double.IsNaN(e.LearningRate) ? "" : e.LearningRate.ToString("R", CultureInfo.InvariantCulture))},{(e.IsBest ? 1 : 0)}\n");
        File.WriteAllText(path, csv.ToString());
    }

    /// <summary>
    /// Writes the curves as a <paramref name="width"/> × <paramref name="height"/> PNG: train and validation loss on
    /// top, the validation metric below, the best epoch marked in both.
    /// </summary>
    public void SavePlot(string pngPath, int width = 900, int height = 700)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 200);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 200);
        CreateFolderFor(pngPath);
        PlotFonts.EnsureAvailable();
        double[] epochs = _epochs.Select(e => (double)e.Epoch).ToArray();

        var loss = new Plot();
        AddLine(loss, epochs, _epochs.Select(e => e.TrainLoss).ToArray(), "train loss", Colors.C0);
        AddLine(loss, epochs, _epochs.Select(e => e.ValLoss).ToArray(), "validation loss", Colors.C1);
        loss.Title("Loss");
        loss.YLabel("loss");

        var metric = new Plot();
        AddLine(metric, epochs, _epochs.Select(e => e.Metric).ToArray(), $"validation {MetricName}", Colors.C2);
        metric.Title(char.ToUpperInvariant(MetricName[0]) + MetricName[1..]);
        metric.YLabel(MetricName);

        foreach (var plot in new[] { loss, metric })
        {
            plot.XLabel("epoch");
            if (BestEpoch is { } best)
            {
                var line = plot.Add.VerticalLine(best.Epoch, width: 1, color: Colors.Gray, pattern: LinePattern.Dashed);
                line.LegendText = $"best epoch ({best.Epoch})";
            }
            plot.ShowLegend(Alignment.UpperRight);
            // Integer epochs only; fixed limits keep the image the same from run to run.
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.Axes.SetLimitsX(0.5, Math.Max(epochs.Length, 1) + 0.5);
        }
        metric.Legend.Alignment = Alignment.LowerRight;

        var figure = new Multiplot();
        figure.AddPlot(loss);
        figure.AddPlot(metric);
        figure.RemovePlot(figure.GetPlot(0)); // a new Multiplot starts with one empty plot
        figure.SavePng(pngPath, width, height);
    }

    private static void AddLine(Plot plot, double[] xs, double[] ys, string label, Color color)
    {
        if (xs.Length == 0) return;
        var scatter = plot.Add.Scatter(xs, ys, color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = 6;
    }

    private static void CreateFolderFor(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
    }
}
