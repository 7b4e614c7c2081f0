// A character-level GPT (char_gpt.model: 4 pre-norm Transformer blocks, d=128, 4 heads, context 64) trained on Debian
// fortunes; prints the training and validation loss and ends with a sampled fortune.
//
//   dotnet run --project examples/CharGpt -c Release -- [fortunes-folder] [--steps N] [--batch N] [--seed N]
//                                                        [--temperature T] [--top-k K] [--length N]
//                                                        [--device cpu|cuda|emulated]
//
// Data: the folder given, else /usr/share/games/fortunes (Debian package fortunes: the four files of the TextLstm
// example), else the sample in examples/TextLstm/sample. The tokenizer (a character vocabulary built from the training
// split), the batcher and the sampling (temperature, top-k) are the runtime's (ModelDsl.Runtime.Data, .Sampling).
// --device cuda trains on the first NVIDIA GPU (the generated GPU session: embedding, layer norm, fused attention,
// cuBLAS); --device emulated runs the same CUDA C on the CPU emulator (slow: it checks the kernels without a GPU).
// Sampling runs on the CPU either way, after the trained parameters are copied back. docs/cuda.md.
using System.Globalization;
using CharGptExample;
using ModelDsl.Cuda;
using ModelDsl.Examples;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;
using ModelDsl.Runtime.Sampling;

ExampleErrors.Install();
string? folder = null;
int steps = 1500, batchSize = 16, length = 400, topK = 20;
float temperature = 0.8f;
ulong seed = 3;
string device = "cpu";
for (int i = 0; i < args.Length; i++)
{
    string? Next() => i + 1 < args.Length ? args[++i] : null;
    switch (args[i])
    {
        case "--steps" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s > 0: steps = s; break;
        case "--batch" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0: batchSize = b; break;
        case "--seed" when ulong.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v): seed = v; break;
        case "--length" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0: length = n; break;
        case "--top-k" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int k): topK = k; break;
        case "--temperature" when float.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out float t) && t >= 0: temperature = t; break;
        case "--device" when Next() is "cpu" or "cuda" or "emulated": device = args[i]; break;
        case var a when !a.StartsWith('-') && folder is null: folder = a; break;
        default:
            Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
            Console.Error.WriteLine("usage: CharGpt [fortunes-folder] [--steps N] [--batch N] [--seed N] [--temperature T] [--top-k K] [--length N] [--device cpu|cuda|emulated]");
            return 2;
    }
}

FortuneCorpus corpus;
try
{
    corpus = Fortunes.Load(folder, FortuneClassification.DefaultClasses);
}
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

// The vocabulary comes from the training text only; char_gpt.model has 96 embedding rows (id 0: any other character).
const int Vocabulary = 96, Context = 64;
string trainText = corpus.JoinedText(DataSplit.Train), validationText = corpus.JoinedText(DataSplit.Validation);
var vocabulary = CharVocabulary.Build(trainText, maxSize: Vocabulary);
int[] train = vocabulary.Encode(trainText), held = vocabulary.Encode(validationText);
Console.WriteLine($"data: {corpus.Folder}");
Console.WriteLine($"      {train.Length:N0} training and {held.Length:N0} validation characters; {vocabulary}");

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
var model = new CharGpt(seed);
// On a GPU the session trains and evaluates (model.LearningRate is shared with it, so the schedule below applies).
using var session = gpu is null ? null : model.ToGpu(gpu);
Func<IntTensor, IntTensor, float> trainStep = session is null ? model.TrainStep : session.TrainStep;
Func<IntTensor, IntTensor, float> evaluate = session is null ? model.Evaluate : session.Evaluate;
Console.WriteLine($"model: CharGpt, {CharGpt.ParameterCount:N0} parameters; {steps} steps of {batchSize} windows of {Context} characters");
Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");
var batches = new LanguageModelBatches(train, batchSize, Context, seed: (int)seed);
var idx = new IntTensor(batches.Inputs, batchSize, Context);
var targets = new IntTensor(batches.Targets, batchSize, Context);
var validation = new LanguageModelLoss(held, batchSize, Context, windows: 64);

float baseRate = model.LearningRate;
var clock = System.Diagnostics.Stopwatch.StartNew();
double recent = 0;
int every = Math.Max(1, steps / 10);
for (int step = 1; step <= steps; step++)
{
    // AdamW with the .model's learning rate, cosine-decayed to a tenth over the run.
    model.LearningRate = baseRate * (0.55f + 0.45f * MathF.Cos(MathF.PI * (step - 1) / steps));
    batches.Next();
    recent += trainStep(idx, targets);
    if (step % every == 0 || step == steps)
    {
        int counted = step % every == 0 ? every : step % every;
        Console.WriteLine($"step {step,5}  train loss {recent / counted:F4}  validation loss {validation.Run(evaluate):F4}  {clock.Elapsed.TotalSeconds:F0} s");
        recent = 0;
    }
}

double final = validation.Run(evaluate);
Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");
Console.WriteLine($"validation loss: {final:F4} (a uniform guess over {vocabulary.Size} characters: {Math.Log(vocabulary.Size):F4})");

// Sampling: one sequence at a time; the model sees at most the last Context characters (learned positions). It runs on
// the CPU copy of the model: one short sequence per call is latency-bound, and every length would be a new GPU workspace.
session?.CopyToHost();
var context = new IntTensor(new int[Context], 1, Context);
int[] sample = Autoregressive.Generate([vocabulary.Id('\n')], length, Context, ids =>
{
    ids.CopyTo(context.Data);
    context.Reshape(1, ids.Length);
    return Autoregressive.LastPosition(model.Forward(context))[..vocabulary.Size];   // the sample's text has fewer than 96 ids
}, new TokenSampler(temperature, topK, seed: (int)seed));
Console.WriteLine($"sample (temperature {temperature.ToString(CultureInfo.InvariantCulture)}, top-k {topK}):");
Console.WriteLine(vocabulary.Decode(sample));
return 0;
