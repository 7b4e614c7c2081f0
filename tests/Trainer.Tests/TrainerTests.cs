using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelDsl.Runtime.Data;
using Spectre.Console;

namespace ModelDsl.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "trainer-tests-" + Guid.NewGuid().ToString("N"));

    public TrainerTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // 10 rows in batches of 4: 3 batches per epoch (4, 4, 2).
    private static MiniBatches Batches() =>
        new(new Dataset(new float[10 * 2], 2, labels: new int[10]), batchSize: 4, seed: 1);

    /// <summary>A fake evaluation: epoch i (from 1) returns metrics[i - 1], and loss 1 - metric.</summary>
    private static Func<(double, double)> Scripted(params double[] metrics)
    {
        int calls = 0;
        return () => { double m = metrics[calls++]; return (1 - m, m); };
    }

    [Fact]
    public void Early_stopping_stops_after_patience_epochs_without_a_better_metric()
    {
        int steps = 0;
        var trainer = new Trainer { Epochs = 10, Patience = 3, Display = TrainerDisplay.None };
        // Best at epoch 3; 4, 5, 6 are no better (0.7 ties do not count), so the run ends after epoch 6.
        var history = trainer.Run(Batches(), _ => { steps++; return 0.5f; }, Scripted(0.5, 0.6, 0.7, 0.65, 0.7, 0.69, 0.95, 0.99, 0.99, 0.99));

        Assert.Equal(6, history.Epochs.Count);
        Assert.True(history.StoppedEarly);
        Assert.Equal(3, history.BestEpoch!.Epoch);
        Assert.Equal(6 * 3, steps);
        Assert.Equal([1, 2, 3, 4, 5, 6], history.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void Best_checkpoint_folder_is_created_before_the_first_save()
    {
        string path = Path.Combine(_folder, "runs", "best.ckpt");
        var folderExisted = new List<bool>();
        var trainer = new Trainer
        {
            Epochs = 2,
            Display = TrainerDisplay.None,
            Checkpoint = new BestCheckpoint(path, saved => folderExisted.Add(Directory.Exists(Path.GetDirectoryName(saved)))),
        };
        trainer.Run(Batches(), _ => 1f, Scripted(0.5, 0.6));
        Assert.Equal([true, true], folderExisted);
    }

    [Fact]
    public void Without_patience_all_epochs_run_and_a_lower_is_better_metric_works()
    {
        var trainer = new Trainer { Epochs = 4, Display = TrainerDisplay.None, HigherIsBetter = false, MetricName = "error" };
        var history = trainer.Run(Batches(), _ => 1f, Scripted(0.5, 0.3, 0.4, 0.6));
        Assert.Equal(4, history.Epochs.Count);
        Assert.False(history.StoppedEarly);
        Assert.Equal(2, history.BestEpoch!.Epoch);
    }

    [Fact]
    public void Best_checkpoint_is_saved_at_the_best_epoch_and_restored_at_the_end()
    {
        // The "model" is one number: the epoch it was trained to. Saving writes it; restoring reads it back.
        int modelEpoch = 0;
        var saves = new List<int>();
        string path = Path.Combine(_folder, "best.ckpt");
        var trainer = new Trainer
        {
            Epochs = 8,
            Patience = 2,
            Display = TrainerDisplay.None,
            Checkpoint = new BestCheckpoint(path,
                Save: p => { File.WriteAllText(p, modelEpoch.ToString(CultureInfo.InvariantCulture)); saves.Add(modelEpoch); },
                Restore: p => modelEpoch = int.Parse(File.ReadAllText(p), CultureInfo.InvariantCulture)),
        };
        var evaluate = Scripted(0.4, 0.8, 0.6, 0.7, 0.9, 0.9, 0.9, 0.9);
        var history = trainer.Run(Batches(), b => { if (b.CurrentBatchSize == 2) modelEpoch++; return 0.1f; }, evaluate);

        Assert.Equal([1, 2], saves); // improvements at epochs 1 and 2 only
        Assert.Equal(4, history.Epochs.Count); // epochs 3 and 4 are worse than 0.8: patience 2 ends the run
        Assert.Equal(2, history.BestEpoch!.Epoch);
        Assert.True(history.Restored);
        Assert.Equal(2, modelEpoch); // the best epoch's state is back
    }

    [Fact]
    public void A_non_finite_epoch_is_never_best_and_is_reported_as_such()
    {
        // Issue 17: a NaN first epoch made every later epoch "best" (NaN compares false) and each overwrote the checkpoint.
        var saves = new List<int>();
        int steps = 0, evaluations = 0;
        var output = new StringWriter();
        var trainer = new Trainer
        {
            Epochs = 5,
            Output = output,
            Checkpoint = new BestCheckpoint(Path.Combine(_folder, "best"), _ => saves.Add(evaluations)),
        };
        // 3 steps per epoch. Epoch 1: NaN metric; epoch 3 (steps 7-9): a finite metric but a NaN training loss.
        var scripted = Scripted(double.NaN, 0.5, 0.9, 0.4, 0.6);
        var history = trainer.Run(Batches(), _ => ++steps is >= 7 and <= 9 ? float.NaN : 0.5f, () => { evaluations++; return scripted(); });

        Assert.Equal([2, 5], saves); // saved after epochs 2 and 5 only
        Assert.Equal(5, history.BestEpoch!.Epoch);
        Assert.Equal([true, false, true, false, false], history.Epochs.Select(e => e.NonFinite));
        Assert.Equal([false, true, false, false, true], history.Epochs.Select(e => e.IsBest));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("NON-FINITE (NaN or infinity): not kept as best", lines[0]);
        Assert.Contains("NON-FINITE", lines[2]);
        Assert.DoesNotContain("NON-FINITE", lines[1]);
    }

    [Fact]
    public void A_step_that_throws_NonFiniteException_is_reported_with_its_epoch_and_batch()
    {
        var output = new StringWriter();
        var trainer = new Trainer { Epochs = 3, Output = output };
        int steps = 0;
        var e = Assert.Throws<ModelDsl.Runtime.NonFiniteException>(() => trainer.Run(Batches(), _ =>
        {
            if (++steps == 5) throw new ModelDsl.Runtime.NonFiniteException("M.TrainStep (step 5): the loss is NaN", ModelDsl.Runtime.NonFiniteSource.Loss, "loss", -1, 5, float.NaN);
            return 0.5f;
        }, Scripted(0.5, 0.6, 0.7)));
        Assert.Contains("epoch 2, batch 2: stopped, non-finite values: M.TrainStep (step 5): the loss is NaN", output.ToString());
    }

    [Fact]
    public void No_restore_when_the_last_epoch_is_the_best()
    {
        int restores = 0;
        var trainer = new Trainer
        {
            Epochs = 3,
            Display = TrainerDisplay.None,
            Checkpoint = new BestCheckpoint(Path.Combine(_folder, "b"), _ => { }, _ => restores++),
        };
        var history = trainer.Run(Batches(), _ => 1f, Scripted(0.1, 0.2, 0.3));
        Assert.Equal(0, restores);
        Assert.False(history.Restored);
    }

    [Fact]
    public void Plain_output_has_one_line_per_epoch_and_no_control_codes()
    {
        var output = new StringWriter();
        var trainer = new Trainer { Epochs = 5, Patience = 2, Output = output }; // Auto with a writer: plain lines
        trainer.Run(Batches(), _ => 0.25f, Scripted(0.5, 0.6, 0.55, 0.58, 0.9));

        string text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\r', text.Replace(Environment.NewLine, "\n"));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var epochLines = lines.Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, epochLines.Length); // stopped early after epoch 4
        Assert.StartsWith("epoch 1/5  train loss 0.2500  val loss 0.5000  val accuracy 0.5000", epochLines[0]);
        Assert.EndsWith("best", epochLines[1]);
        Assert.Equal("early stop: no better val accuracy for 2 epochs; best epoch 2 (accuracy 0.6000)", lines[^1]);
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public void Live_output_goes_to_the_injected_console()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(new StringWriter()),
        });
        var writer = (StringWriter)console.Profile.Out.Writer;
        var history = new Trainer { Epochs = 2, Console = console }.Run(Batches(), _ => 0.5f, Scripted(0.3, 0.4));
        Assert.Equal(2, history.Epochs.Count);
        Assert.Contains("epoch 2/2", writer.ToString());
        Assert.Contains("best epoch 2", writer.ToString());
    }

    [Fact]
    public void Cosine_schedule_decays_from_the_base_rate_and_is_applied_before_each_epoch()
    {
        var applied = new List<float>();
        var trainer = new Trainer { Epochs = 4, Display = TrainerDisplay.None, Schedule = LearningRateSchedule.Cosine(1f, 4, applied.Add, floor: 0.1f) };
        var history = trainer.Run(Batches(), _ => 1f, Scripted(0.1, 0.2, 0.3, 0.4));
        Assert.Equal(1f, applied[0], 6);
        Assert.Equal(0.55f, applied[2], 6); // halfway: floor + (1 - floor) / 2
        Assert.True(applied.Zip(applied.Skip(1)).All(p => p.Second < p.First));
        Assert.Equal(applied.Select(r => (double)r), history.Epochs.Select(e => e.LearningRate));
    }

    [Fact]
    public void Train_loss_is_the_sample_weighted_mean_of_batch_losses()
    {
        // Batches of 4, 4 and 2 rows with losses 1, 1 and 4: (4 + 4 + 8) / 10.
        var history = new Trainer { Epochs = 1, Display = TrainerDisplay.None }
            .Run(Batches(), b => b.CurrentBatchSize == 2 ? 4f : 1f, Scripted(0.5));
        Assert.Equal(1.6, history.Epochs[0].TrainLoss, 9);
        Assert.True(history.Epochs[0].SamplesPerSecond > 0);
    }

    [Fact]
    public void History_saves_as_csv()
    {
        var history = new Trainer { Epochs = 3, Display = TrainerDisplay.None }.Run(Batches(), _ => 0.5f, Scripted(0.25, 0.75, 0.5));
        string path = Path.Combine(_folder, "sub", "history.csv");
        history.SaveCsv(path);
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,train_loss,val_loss,val_accuracy,seconds,samples_per_second,learning_rate,best", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("2,0.5,0.25,0.75,", lines[2]);
        Assert.EndsWith(",,1", lines[2]); // no schedule: empty learning rate; best epoch flagged
        Assert.EndsWith(",0", lines[3]);
    }

    [Theory]
    [InlineData(900, 700, 12)]
    [InlineData(640, 480, 1)]
    public void SavePlot_writes_a_png_of_the_requested_size(int width, int height, int epochs)
    {
        var history = new TrainingHistory();
        for (int e = 1; e <= epochs; e++)
            history.Add(new EpochRecord(e, 1.0 / e, 1.2 / e, 1 - 0.5 / e, 1.5, 1000, double.NaN, IsBest: true));
        string path = Path.Combine(_folder, "runs", "curves.png");
        history.SavePlot(path, width, height);

        byte[] png = File.ReadAllBytes(path);
        Assert.True(png.Length > 1000, $"{png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4)); // the first chunk
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }

    [Fact]
    public void SavePlot_of_an_empty_history_still_writes_a_png()
    {
        string path = Path.Combine(_folder, "empty.png");
        new TrainingHistory().SavePlot(path, 300, 200);
        Assert.Equal(0x89, File.ReadAllBytes(path)[0]);
    }
}

public sealed class PlotFontTests
{
    [Fact]
    public void The_fallback_font_for_machines_without_fonts_is_embedded()
    {
        // PlotFonts answers every font request with it when SkiaSharp finds no system font (bare CI images).
        using var stream = typeof(Trainer).Assembly.GetManifestResourceStream("ModelDsl.Training.Fonts.DejaVuSans.ttf");
        Assert.NotNull(stream);
        Assert.True(stream.Length > 100_000);
    }
}
