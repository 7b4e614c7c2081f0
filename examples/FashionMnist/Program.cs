// Trains FashionMlp (fashion_mlp.model, AdamW) or, with --model cnn, FashionCnn (fashion_cnn.model: 2 conv + pooling,
// Adam) on Fashion-MNIST with the optimizer the .model file declares.
//
//   dotnet run --project examples/FashionMnist -c Release -- [data-folder] [--epochs N] [--batch N] [--seed N]
//                                                            [--patience N] [--save file] [--plot file.png]
//                                                            [--device cpu|cuda|emulated] [--model mlp|cnn]
//
// Data: the folder given, else /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), else the
// small sample shipped in examples/FashionMnist/sample. Progress: a live bar per epoch on a terminal, one line per
// epoch in logs. Writes the loss/accuracy curves to --plot (default runs/fashion_<model>_curves.png); with --save, keeps
// the best epoch's checkpoint there and ends with it loaded. Ends with the line "test accuracy: 0.XXXX".
// --device cuda trains on the first NVIDIA GPU (the generated CUDA kernels, cuBLAS); --device emulated runs the same
// CUDA C on the CPU emulator (slow: it exists to check the kernels without a GPU). docs/cuda.md.
using FashionMnistExample;
using ModelDsl.Cuda;
using ModelDsl.Examples;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Training;

ExampleErrors.Install();
var options = Options.Parse(args);
if (options is null) return 2;
// Output paths first: a bad one should cost a second, not an epoch of training.
if (((options.SavePath is { } savePath ? ExampleErrors.CheckCheckpointPath("--save", savePath) : null)
    ?? ExampleErrors.CheckOutputFile("--plot", options.PlotPath)) is { } badPath)
    return ExampleErrors.Fail(badPath);

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
GpuContext? gpu;
FashionNet net;
try
{
    gpu = GpuContext.ForDevice(options.Device);
    net = FashionNet.Create(options.Model, options.Seed, gpu);
}
catch (CudaUnavailableException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
using var device = gpu;
using var _ = net;
Console.WriteLine($"model: {net.Name}, {net.ParameterCount:N0} parameters; {epochs} epochs of batch {options.BatchSize}");
Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");

var batches = new MiniBatches(data.Train, options.BatchSize, seed: (int)options.Seed);
var x = net.Batch(batches.Features, options.BatchSize);
var y = new IntTensor(batches.Labels, options.BatchSize);
// The test set doubles as the validation set here: Fashion-MNIST ships no separate one.
var evaluation = new Evaluation(data.Test, batchSize: 1000, net.Batch);

var trainer = new Trainer
{
    Epochs = epochs,
    Patience = options.Patience,
    // Cosine decay from the .model file's learning rate to a tenth of it over the run.
    Schedule = LearningRateSchedule.Cosine(net.GetLearningRate(), epochs, net.SetLearningRate),
    Checkpoint = options.SavePath is { } path ? new BestCheckpoint(path, net.Save, Restore: net.Load) : null,
};
var history = trainer.Run(batches,
    trainStep: b =>
    {
        x.SetBatch(b.CurrentBatchSize);
        y.SetBatch(b.CurrentBatchSize);
        return net.TrainStep(x, y);
    },
    evaluate: Evaluate);

history.SavePlot(options.PlotPath);
Console.WriteLine($"trained in {history.TotalSeconds:F1} s; curves in {options.PlotPath}");
if (options.SavePath is not null)
    Console.WriteLine($"saved the best epoch ({history.BestEpoch?.Epoch}) to {options.SavePath}");
var (_, accuracy) = Evaluate();
Console.WriteLine($"test accuracy: {accuracy:F4}");
return 0;

(double Loss, double Accuracy) Evaluate() => evaluation.Run(net.Evaluate, net.Forward);
