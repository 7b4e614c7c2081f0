// Trains BinaryClassifier (binary_classifier.model: 10 -> 64 -> 64 -> 1, BCE with logits, Adam).
//
//   dotnet run --project examples/BinaryClassifier -c Release -- [data.csv] [--epochs N] [--save file] [--plot file.png]
//
// With a CSV file: ten numeric feature columns and a 0/1 column named "label". Without one: a synthetic, seeded
// data set whose label is a nonlinear function of the features (a linear model cannot fit it; the MLP can).
// Prints a line per epoch (a live bar on a terminal), writes the curves to --plot (default
// runs/binary_classifier_curves.png), keeps the best epoch in --save when given, and ends with "test accuracy: 0.XXXX"
// on a held-out fifth of the data.
using BinaryClassifierExample;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Training;

string? csv = null, save = null;
string plot = Path.Combine("runs", "binary_classifier_curves.png");
int epochs = 20;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--epochs" && i + 1 < args.Length && int.TryParse(args[i + 1], out int e) && e > 0) { epochs = e; i++; }
    else if (args[i] == "--save" && i + 1 < args.Length) save = args[++i];
    else if (args[i] == "--plot" && i + 1 < args.Length) plot = args[++i];
    else if (!args[i].StartsWith('-') && csv is null) csv = args[i];
    else
    {
        Console.Error.WriteLine("usage: BinaryClassifier [data.csv] [--epochs N] [--save file] [--plot file.png]");
        return 2;
    }
}

Dataset all;
try
{
    all = csv is null
        ? SyntheticData.Create(count: 5000, seed: 7)
        : CsvDataset.Load(csv, new CsvOptions { LabelColumns = ["label"], LabelKind = CsvLabelKind.Value });
    if (all.FeatureCount != 10) throw new InvalidDataException($"{all.Source}: the model takes 10 features but the data has {all.FeatureCount}");
}
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
var (train, test) = SyntheticData.Split(all, testFraction: 0.2);
Console.WriteLine($"data: {all.Source}: {train.Count:N0} training and {test.Count:N0} test rows");

var model = new BinaryClassifier(seed: 1);
var batches = new MiniBatches(train, batchSize: 32, seed: 1);
var x = new Tensor(batches.Features, 32, 10);
var y = new Tensor(batches.Targets, 32, 1);
var testX = new Tensor(test.Features, test.Count, 10);
var testY = new Tensor(test.Targets!, test.Count, 1);

var trainer = new Trainer
{
    Epochs = epochs,
    Checkpoint = save is null ? null : new BestCheckpoint(save, model.Save, Restore: model.Load),
};
var history = trainer.Run(batches,
    trainStep: b =>
    {
        x.SetBatch(b.CurrentBatchSize);
        y.SetBatch(b.CurrentBatchSize);
        return model.TrainStep(x, y);
    },
    evaluate: () => (model.Evaluate(testX, testY), Accuracy(model, test)));

history.SavePlot(plot);
Console.WriteLine($"curves in {plot}");
if (save is not null) Console.WriteLine($"saved the best epoch ({history.BestEpoch?.Epoch}) to {save}");
Console.WriteLine($"test accuracy: {Accuracy(model, test):F4}");
return 0;

static double Accuracy(BinaryClassifier model, Dataset data)
{
    var probability = model.Forward(new Tensor(data.Features, data.Count, 10));
    return (double)Metrics.CountCorrectBinary(probability.Span, data.Targets, threshold: 0.5f) / data.Count;
}
