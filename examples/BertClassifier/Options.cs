using System.Globalization;

namespace BertClassifierExample;

/// <summary>The command line of the example (see Program.cs).</summary>
internal sealed record Options
{
    /// <summary>The converted sample shipped beside the program's sources.</summary>
    public static string SampleFolder => Path.Combine(AppContext.BaseDirectory, "sample");

    public const int SampleTrain = 400, SampleTest = 200;

    public string? DataFolder { get; init; }
    public string? ParityFile { get; init; }
    public string? WriteSample { get; init; }
    /// <summary>Use only the first N training reviews (0: all), for a short run.</summary>
    public int TrainLimit { get; init; }
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 16;
    /// <summary>The longest sequence, [CLS] and [SEP] included; batches are padded to their own longest row.</summary>
    public int MaxLength { get; init; } = 128;
    public int Seed { get; init; } = 13;
    /// <summary>cpu, cuda (the first NVIDIA GPU) or emulated (the generated CUDA C on the CPU emulator).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>A safetensors file with Hugging Face BERT names to load instead of the imported package weights.</summary>
    public string? Weights { get; init; }
    /// <summary>Where the fine-tuned classifier is exported to ONNX (default: BertClassifier.onnx next to the program).</summary>
    public string OnnxFile { get; init; } = Path.Combine(AppContext.BaseDirectory, "BertClassifier.onnx");
    /// <summary>Skip the frozen-encoder probe and the from-scratch run (the short run CI makes).</summary>
    public bool FineTuneOnly { get; init; }
    /// <summary>The fine-tuning schedule's peak learning rate: 2e-5, bert_classifier.model's, unless given.</summary>
    public float? LearningRate { get; init; }

    public const string Usage = "usage: BertClassifier [data-folder] [--parity sentences.txt] [--train N] [--epochs N] [--batch N] [--length T] [--seed N] [--device cpu|cuda|emulated] [--weights file.safetensors] [--onnx file.onnx] [--fine-tune-only] [--lr X] [--write-sample folder]";

    public static Options? Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            static bool Count(string? s, int min, out int n) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n >= min;
            switch (args[i])
            {
                case "--parity" when Next() is { } f: o = o with { ParityFile = f }; break;
                case "--write-sample" when Next() is { } f: o = o with { WriteSample = f }; break;
                case "--train" when Count(Next(), 1, out int n): o = o with { TrainLimit = n }; break;
                case "--epochs" when Count(Next(), 1, out int n): o = o with { Epochs = n }; break;
                case "--batch" when Count(Next(), 1, out int n): o = o with { BatchSize = n }; break;
                case "--length" when Count(Next(), 8, out int n) && n <= 512: o = o with { MaxLength = n }; break;
                case "--seed" when Count(Next(), 0, out int n): o = o with { Seed = n }; break;
                case "--fine-tune-only": o = o with { FineTuneOnly = true }; break;
                case "--lr" when float.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr > 0 && lr < 1: o = o with { LearningRate = lr }; break;
                case "--device" when Next() is "cpu" or "cuda" or "emulated": o = o with { Device = args[i] }; break;
                case "--weights" when Next() is { } f: o = o with { Weights = f }; break;
                case "--onnx" when Next() is { } f: o = o with { OnnxFile = f }; break;
                case var a when !a.StartsWith('-') && o.DataFolder is null: o = o with { DataFolder = a }; break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine(Usage);
                    return null;
            }
        }
        return o;
    }
}
