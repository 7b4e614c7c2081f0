// Trains BinaryClassifier (binary_classifier.model: 10 -> 64 -> 64 -> 1, BCE with logits, Adam).
//
//   dotnet run --project examples/BinaryClassifier -c Release -- [data.csv] [--epochs N]
//
// With a CSV file: ten numeric feature columns and a 0/1 column named "label". Without one: a synthetic, seeded
// data set whose label is a nonlinear function of the features (a linear model cannot fit it; the MLP can).
// Prints the loss per epoch and ends with "test accuracy: 0.XXXX" on a held-out fifth of the data.
using BinaryClassifierExample;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

string? csv = null;
int epochs = 20;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--epochs" && i + 1 < args.Length && int.TryParse(args[i + 1], out int e) && e > 0) { epochs = e; i++; }
    else if (!args[i].StartsWith('-') && csv is null) csv = args[i];
    else
    {
        Console.Error.WriteLine("usage: BinaryClassifier [data.csv] [--epochs N]");
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
for (int epoch = 0; epoch < epochs; epoch++)
{
    double lossSum = 0;
    batches.StartEpoch(epoch);
    while (batches.MoveNext())
    {
        x.SetBatch(batches.CurrentBatchSize);
        y.SetBatch(batches.CurrentBatchSize);
        lossSum += model.TrainStep(x, y) * batches.CurrentBatchSize;
    }
    if (epoch % 5 == 4 || epoch == epochs - 1)
        Console.WriteLine($"epoch {epoch + 1,3}/{epochs}  train loss {lossSum / train.Count:F4}  test accuracy {Accuracy(model, test):F4}");
}
Console.WriteLine($"test accuracy: {Accuracy(model, test):F4}");
return 0;

static double Accuracy(BinaryClassifier model, Dataset data)
{
    var probability = model.Forward(new Tensor(data.Features, data.Count, 10));
    return (double)Metrics.CountCorrectBinary(probability.Span, data.Targets, threshold: 0.5f) / data.Count;
}
