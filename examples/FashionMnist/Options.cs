using System.Globalization;

namespace FashionMnistExample;

internal sealed record Options(string? DataFolder, int? Epochs, int BatchSize, ulong Seed, string? SavePath, int? Patience, string PlotPath, string Device, string Model,
    bool Distributed = false, int? Threads = null, double Validation = 0.1)
{
    public static Options? Parse(string[] args)
    {
        string? folder = null, save = null;
        string? plot = null;
        int? epochs = null, patience = null;
        int batch = 128;
        ulong seed = 42;
        string device = "cpu", model = "mlp";
        bool distributed = false;
        int? threads = null;
        double validation = 0.1;
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--epochs" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e > 0: epochs = e; break;
                case "--batch" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0: batch = b; break;
                case "--seed" when ulong.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong s): seed = s; break;
                case "--patience" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p > 0: patience = p; break;
                case "--save" when Next() is { } path: save = path; break;
                case "--plot" when Next() is { } path: plot = path; break;
                case "--device" when Next() is "cpu" or "cuda" or "emulated": device = args[i]; break;
                case "--model" when Next() is "mlp" or "cnn": model = args[i]; break;
                case "--distributed": distributed = true; break;
                case "--validation" when double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v < 1: validation = v; break;
                case "--threads" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0: threads = t; break;
                case var a when !a.StartsWith('-') && folder is null: folder = a; break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine("usage: FashionMnist [data-folder] [--epochs N] [--batch N] [--seed N] [--patience N] [--save file] [--plot file.png] [--device cpu|cuda|emulated] [--model mlp|cnn] [--validation F] [--distributed] [--threads N]");
                    return null;
            }
        }
        return new Options(folder, epochs, batch, seed, save, patience, plot ?? Path.Combine("runs", $"fashion_{model}_curves.png"), device, model, distributed, threads, validation);
    }
}
