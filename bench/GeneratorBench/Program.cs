// Build cost: how long the ModelDsl source generator takes on a .model file, stage by stage and as Roslyn runs it
// (cold, then incremental), and the first run in a fresh process. Results: docs/benchmarks.md, "Build cost".
//   flock /tmp/modeldsl.lock dotnet build bench/GeneratorBench -c Release
//   flock /tmp/modeldsl.lock dotnet bench/GeneratorBench/bin/Release/net10.0/GeneratorBench.dll [--reps N] [--processes K] [--csc B] [files.model...]
// --csc B adds the real-build cross-check: B builds of a throw-away project, each with a fresh csc that reports its
// own time in ModelGenerator (it runs `dotnet build`, hence the flock).
// Without files: examples/CharGpt/char_gpt.model, bench/models/gpt2_small.model and, as the one model here with
// training code (so the plan and C# emission stages have figures), examples/FashionMnist/fashion_mlp.model.
// Exit code 1 when an unrelated C# edit makes any generator step do work.
using System.Globalization;
using GeneratorBench;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length == 3 && args[0] == "--first-run") return ProcessCold.Child(args[1], args[2]);

var files = new List<string>();
int cscBuilds = 0;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--reps": Measure.Repetitions = int.Parse(args[++i]); break;
        case "--processes": ProcessCold.Processes = int.Parse(args[++i]); break;
        case "--csc": cscBuilds = int.Parse(args[++i]); break;
        default: files.Add(Path.GetFullPath(args[i])); break;
    }
}

string root = BenchInputs.RepoRoot();
if (files.Count == 0)
{
    files.Add(Path.Combine(root, "examples", "CharGpt", "char_gpt.model"));
    files.Add(Path.Combine(root, "bench", "models", "gpt2_small.model"));
    files.Add(Path.Combine(root, "examples", "FashionMnist", "fashion_mlp.model"));
}

Console.WriteLine($"GeneratorBench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
    $".NET {Environment.Version}, Roslyn {typeof(Microsoft.CodeAnalysis.Compilation).Assembly.GetName().Version}; " +
    $"warm-up >= {Measure.WarmUpTime.TotalSeconds:0.0} s and >= {Measure.WarmUpCalls} calls, then {Measure.Repetitions} timed calls; " +
    $"process-cold: {ProcessCold.Processes} fresh processes");
Console.WriteLine();

var rows = new List<Row>();
foreach (string path in files)
{
    string name = Path.GetFileNameWithoutExtension(path);
    var file = new ModelText(path, File.ReadAllText(path));
    // Process-cold first, while this process is idle (no tier-1 recompilation here competing with the children).
    foreach (IEnumerable<Row> part in new[] { ProcessCold.Run(name, path), FrontEndStages.Run(name, file), GeneratorRuns.Run(name, file) })
    {
        foreach (Row row in part)
        {
            rows.Add(row);
            Console.Error.WriteLine($"  {row.Model} / {row.Stage}: {(row.Time is null ? "-" : row.Time.MedianText + " ms")}");
        }
    }
}

if (cscBuilds > 0)
{
    foreach (Row row in CscCold.Run(root, files, cscBuilds))
    {
        rows.Add(row);
        Console.Error.WriteLine($"  {row.Model} / {row.Stage}: {row.Time!.MedianText} ms");
    }
}

Console.WriteLine("| model | stage | median ms | min–max ms | allocated | what ran |");
Console.WriteLine("|---|---|---:|---:|---:|---|");
var modelOrder = rows.Select(r => r.Model).Distinct().ToList();
foreach (Row row in rows.OrderBy(r => modelOrder.IndexOf(r.Model)))
{
    Console.WriteLine($"| {row.Model} | {row.Stage} | {row.Time?.MedianText ?? "–"} | {row.Time?.RangeText ?? "–"} | {row.Time?.AllocatedText ?? "–"} | {row.Note} |");
}

Console.WriteLine();
// One line per model, the GPT-2-small one last (the issue's goal is about it).
foreach (string name in rows.Select(r => r.Model).Distinct().OrderBy(name => name == "gpt2_small"))
{
    Stats? cold = (rows.FirstOrDefault(r => r.Model == name && r.Stage == ProcessCold.HeadlineStage)
        ?? rows.First(r => r.Model == name && r.Stage.StartsWith("process-cold: first generator run", StringComparison.Ordinal))).Time;
    Stats? warm = rows.FirstOrDefault(r => r.Model == name && r.Stage == "generator run, nothing cached (new driver)")?.Time;
    Console.WriteLine($"generator {name} cold/warm: {Stats.Ms(cold!.Median)} ms / {Stats.Ms(warm!.Median)} ms (goal < 100 ms)");
}

if (GeneratorRuns.CachingBroken)
{
    Console.WriteLine("FAILED: an unrelated C# edit made the generator do work (see the 'incremental: C# file edited' rows)");
    return 1;
}

return 0;
