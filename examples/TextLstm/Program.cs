// Which Debian fortune file does a fortune come from? The embedding + LSTM classifier in fortune_lstm.model against a
// bag-of-words logistic regression trained on the same split in the same program.
//
//   dotnet run --project examples/TextLstm -c Release -- [fortunes-folder] [--epochs N] [--batch N] [--seed N]
//                                                         [--device cpu|cuda|emulated]
//
// Data: the folder given, else /usr/share/games/fortunes (Debian package fortunes), else the 1,200-fortune sample in
// examples/TextLstm/sample. Classes: computers, men-women, songs-poems, zippy (FortuneClassification.DefaultClasses).
// Ends with the line "test accuracy: 0.XXXX (bag of words: 0.XXXX)".
// --device cuda trains on the first NVIDIA GPU (the generated GPU session: embedding and LSTM kernels, cuBLAS);
// --device emulated runs the same CUDA C on the CPU emulator (slow: it checks the kernels without a GPU). docs/cuda.md.
using System.Globalization;
using ModelDsl.Cuda;
using ModelDsl.Examples;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Training;
using TextLstmExample;

ExampleErrors.Install();
string? folder = null;
int epochs = 12, batchSize = 32;
ulong seed = 7;
string device = "cpu";
for (int i = 0; i < args.Length; i++)
{
    string? Next() => i + 1 < args.Length ? args[++i] : null;
    switch (args[i])
    {
        case "--epochs" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e > 0: epochs = e; break;
        case "--batch" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0: batchSize = b; break;
        case "--seed" when ulong.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong s): seed = s; break;
        case "--device" when Next() is "cpu" or "cuda" or "emulated": device = args[i]; break;
        case var a when !a.StartsWith('-') && folder is null: folder = a; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: TextLstm [fortunes-folder] [--epochs N] [--batch N] [--seed N] [--device cpu|cuda|emulated]");
            return 2;
    }
}

// fortune_lstm.model: vocab = 8192 embedding rows; the vocabulary reserves 0 (padding) and 1 (unknown) besides its words.
const int Words = 8190, Length = 64;
FortuneClassification data;
try
{
    data = FortuneClassification.Load(folder, FortuneClassification.DefaultClasses, vocabularySize: Words, length: Length);
}
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}
Console.WriteLine($"data: {data.Corpus.Folder}");
Console.WriteLine($"      {data.Train.Count:N0} training, {data.Validation.Count:N0} validation and {data.Test.Count:N0} test fortunes of {string.Join(", ", data.Classes)}; first {Length} words each");

var baseline = BagOfWords.Train(data.Train, data.Vocabulary, data.Classes.Count);
double baselineAccuracy = baseline.Accuracy(data.Test);
Console.WriteLine($"bag of words (logistic regression): test accuracy {baselineAccuracy:F4}");

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
var model = new FortuneLstm(seed);
// On a GPU the session trains and evaluates; the model's CPU copy is refreshed before each checkpoint is saved.
using var session = gpu is null ? null : model.ToGpu(gpu);
Func<IntTensor, IntTensor, float> trainStep = session is null ? model.TrainStep : session.TrainStep;
Func<IntTensor, IntTensor, float> evaluate = session is null ? model.Evaluate : session.Evaluate;
Func<IntTensor, IntTensor> predict = session is null ? model.Predict : session.Predict;
Console.WriteLine($"model: FortuneLstm, {FortuneLstm.ParameterCount:N0} parameters; {epochs} epochs of batch {batchSize}");
Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");
var batches = new TokenBatches(data.Train, batchSize, seed: (int)seed);
var tokens = new IntTensor(batches.Tokens, batchSize, Length);
var labels = new IntTensor(batches.Labels, batchSize);
var validation = new TextEvaluation(data.Validation, batchSize: 256);
var test = new TextEvaluation(data.Test, batchSize: 256);

// The training split is small (about 2,300 fortunes) and the LSTM overfits within a few epochs: keep the best
// validation epoch (early stopping with its checkpoint restored) rather than the last.
string checkpoint = Path.Combine(Path.GetTempPath(), $"fortune_lstm_{Environment.ProcessId}.safetensors");
var trainer = new Trainer
{
    Epochs = epochs,
    Patience = 3,
    Checkpoint = new BestCheckpoint(checkpoint,
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
var history = trainer.Run(batches.Rows,
    trainStep: rows =>
    {
        batches.CopyCurrent();
        tokens.SetBatch(rows.CurrentBatchSize);
        labels.SetBatch(rows.CurrentBatchSize);
        return trainStep(tokens, labels);
    },
    evaluate: () => validation.Run(evaluate, predict));
File.Delete(checkpoint);
Console.WriteLine($"trained in {history.TotalSeconds:F1} s; best epoch {history.BestEpoch?.Epoch}");
var (_, accuracy) = test.Run(evaluate, predict);
Console.WriteLine($"test accuracy: {accuracy:F4} (bag of words: {baselineAccuracy:F4})");
return 0;
