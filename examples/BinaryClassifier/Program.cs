// Trains BinaryClassifier (binary_classifier.model: 10 -> 64 -> 64 -> 1, BCE with logits, Adam).
//
//   dotnet run --project examples/BinaryClassifier -c Release -- [data.csv] [--epochs N] [--save file] [--plot file.png]
//                                                               [--device cpu|cuda|emulated]
//
// With a CSV file: ten numeric feature columns and a 0/1 column named "label". Without one: a synthetic, seeded
// data set whose label is a nonlinear function of the features (a linear model cannot fit it; the MLP can).
// Prints a line per epoch (a live bar on a terminal), writes the curves to --plot (default
// runs/binary_classifier_curves.png), keeps the best epoch in --save when given, and ends with "test accuracy: 0.XXXX"
// on a held-out fifth of the data, measured once after training. A tenth of the training rows is held out as the
// validation set that the curves and the best epoch use (the test rows are never looked at before the end). --device cuda trains on the first NVIDIA GPU (the generated GPU session);
// --device emulated runs the same CUDA C on the CPU emulator (docs/cuda.md).
using BinaryClassifierExample;
using ModelDsl.Cuda;
using ModelDsl.Examples;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Training;

ExampleErrors.Install();
string? csv = null, save = null;
string plot = Path.Combine("runs", "binary_classifier_curves.png");
int epochs = 20;
string device = "cpu";
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--epochs" && i + 1 < args.Length && int.TryParse(args[i + 1], out int e) && e > 0) { epochs = e; i++; }
    else if (args[i] == "--save" && i + 1 < args.Length) save = args[++i];
    else if (args[i] == "--plot" && i + 1 < args.Length) plot = args[++i];
    else if (args[i] == "--device" && i + 1 < args.Length && args[i + 1] is "cpu" or "cuda" or "emulated") device = args[++i];
    else if (!args[i].StartsWith('-') && csv is null) csv = args[i];
    else
    {
        Console.Error.WriteLine("usage: BinaryClassifier [data.csv] [--epochs N] [--save file] [--plot file.png] [--device cpu|cuda|emulated]");
        return 2;
    }
}

// Output paths first: a bad one should cost a second, not an epoch of training.
if (((save is null ? null : ExampleErrors.CheckCheckpointPath("--save", save)) ?? ExampleErrors.CheckOutputFile("--plot", plot)) is { } badPath)
    return ExampleErrors.Fail(badPath);

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
var (trainAll, test) = SyntheticData.Split(all, testFraction: 0.2);
var (train, validation) = ValidationSplit.Split(trainAll, fraction: 0.1, seed: 1);
Console.WriteLine($"data: {all.Source}: {train.Count:N0} training, {validation.Count:N0} validation and {test.Count:N0} test rows");

GpuContext? gpu;
try
{
    gpu = GpuContext.ForDevice(device);
}
catch (CudaUnavailableException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
using var _ = gpu;
var model = new BinaryClassifier(seed: 1);
// On a GPU the session trains and evaluates; the model's CPU copy is refreshed before a checkpoint is saved.
using var session = gpu is null ? null : model.ToGpu(gpu);
Func<Tensor, Tensor, float> trainStep = session is null ? model.TrainStep : session.TrainStep;
Func<Tensor, Tensor, float> evaluate = session is null ? model.Evaluate : session.Evaluate;
Func<Tensor, Tensor> forward = session is null ? model.Forward : session.Forward;
Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");
var batches = new MiniBatches(train, batchSize: 32, seed: 1);
var x = new Tensor(batches.Features, 32, 10);
var y = new Tensor(batches.Targets, 32, 1);
var validationX = new Tensor(validation.Features, validation.Count, 10);
var validationY = new Tensor(validation.Targets!, validation.Count, 1);

var trainer = new Trainer
{
    Epochs = epochs,
    Checkpoint = save is null ? null : new BestCheckpoint(save,
        path =>
        {
            session?.CopyToHost();
            model.Save(path);
        },
        Restore: path =>
        {
            model.Load(path);
            session?.CopyFromHost();
        }),
};
var history = trainer.Run(batches,
    trainStep: b =>
    {
        x.SetBatch(b.CurrentBatchSize);
        y.SetBatch(b.CurrentBatchSize);
        return trainStep(x, y);
    },
    evaluate: () => (evaluate(validationX, validationY), Accuracy(forward, validation)));

history.SavePlot(plot);
Console.WriteLine($"curves in {plot}");
if (save is not null) Console.WriteLine($"saved the best epoch ({history.BestEpoch?.Epoch}) to {save}");
Console.WriteLine($"test accuracy: {Accuracy(forward, test):F4}");
return 0;

static double Accuracy(Func<Tensor, Tensor> forward, Dataset data)
{
    var probability = forward(new Tensor(data.Features, data.Count, 10));
    return (double)Metrics.CountCorrectBinary(probability.Span, data.Targets, threshold: 0.5f) / data.Count;
}
