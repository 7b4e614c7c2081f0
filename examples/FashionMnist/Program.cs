// Trains FashionMlp (fashion_mlp.model) on Fashion-MNIST with the optimizer the .model file declares (AdamW).
//
//   dotnet run --project examples/FashionMnist -c Release -- [data-folder] [--epochs N] [--batch N] [--seed N] [--save file]
//
// Data: the folder given, else /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), else the
// small sample shipped in examples/FashionMnist/sample. Ends with the line "test accuracy: 0.XXXX".
using System.Diagnostics;
using FashionMnistExample;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

var options = Options.Parse(args);
if (options is null) return 2;

FashionMnistData data;
try
{
    data = FashionMnist.Load(options.DataFolder);
}
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
Console.WriteLine($"data: {data.Folder}");
Console.WriteLine($"      {data.Train.Count:N0} training and {data.Test.Count:N0} test images of {data.Train.Height}x{data.Train.Width}");

// The sample is small: more passes over it, so the run still shows learning.
int epochs = options.Epochs ?? (data.Train.Count >= 50_000 ? 12 : 30);
var model = new FashionMlp(options.Seed);
Console.WriteLine($"model: FashionMlp, {FashionMlp.ParameterCount:N0} parameters; {epochs} epochs of batch {options.BatchSize}");

var batches = new MiniBatches(data.Train, options.BatchSize, seed: (int)options.Seed);
var x = new Tensor(batches.Features, options.BatchSize, data.Train.FeatureCount);
var y = new IntTensor(batches.Labels, options.BatchSize);
var evaluation = new Evaluation(data.Test, batchSize: 1000);
var progress = new ProgressLine();
float baseRate = model.LearningRate;

var total = Stopwatch.StartNew();
for (int epoch = 0; epoch < epochs; epoch++)
{
    // Cosine decay from the .model file's learning rate to a tenth of it over the run.
    model.LearningRate = baseRate * (0.1f + 0.9f * 0.5f * (1f + MathF.Cos(MathF.PI * epoch / epochs)));
    var clock = Stopwatch.StartNew();
    double lossSum = 0;
    int seen = 0, steps = 0;
    batches.StartEpoch(epoch);
    while (batches.MoveNext())
    {
        int rows = batches.CurrentBatchSize;
        x.SetBatch(rows);
        y.SetBatch(rows);
        lossSum += model.TrainStep(x, y) * rows;
        seen += rows;
        if (++steps % 50 == 0) progress.Update($"epoch {epoch + 1}/{epochs}  {seen,6:N0}/{data.Train.Count:N0}  loss {lossSum / seen:F4}  {seen / clock.Elapsed.TotalSeconds,8:N0} samples/s");
    }
    double seconds = clock.Elapsed.TotalSeconds;
    var (testLoss, testAccuracy) = evaluation.Run(model);
    progress.Finish($"epoch {epoch + 1,2}/{epochs}  train loss {lossSum / seen:F4}  test loss {testLoss:F4}  test accuracy {testAccuracy:F4}  {seen / seconds:N0} samples/s  {seconds:F1} s");
}

var (_, accuracy) = evaluation.Run(model);
Console.WriteLine($"trained in {total.Elapsed.TotalSeconds:F1} s");
if (options.SavePath is { } path)
{
    model.Save(path);
    Console.WriteLine($"saved parameters and optimizer state to {path}");
}
Console.WriteLine($"test accuracy: {accuracy:F4}");
return 0;
