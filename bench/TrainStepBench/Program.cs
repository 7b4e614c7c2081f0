// Median time per generated TrainStep (forward, loss, backward, Adam) after warm-up, over several repetitions.
//   dotnet run -c Release --project bench/TrainStepBench -- [threads]
//   dotnet run -c Release --project bench/TrainStepBench -- --compare [threads] [--models mlp,small,cnn,gpt,sgemm,bert]
//       (machine-readable; used by bench/compare.sh)
//   dotnet run -c Release --project bench/TrainStepBench -- --bert-check FOLDER   (bert's weights, inputs and losses for bench/pytorch/bert.py, untimed)
//   dotnet run -c Release --project bench/TrainStepBench -- --nonfinite [threads]   (the MLP step with and without the non-finite checks)
//   dotnet run -c Release --project bench/TrainStepBench -- --kernels [threads] [filter]   (the CNN's and GPT's kernels alone; same format)
//   dotnet run -c Release --project bench/TrainStepBench -- --onnxruntime [threads]   (the exported MLP in ONNX Runtime; same format)
//   dotnet run -c Release --project bench/TrainStepBench -- --predict-loop [batch] [seconds] [threads]   (for a profiler)
//   dotnet run -c Release --project bench/TrainStepBench -- --train-loop mlp|cnn|gpt|bert[.forward] [seconds] [threads]   (for a profiler)
using System.Diagnostics;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;
using TrainStepBench;

if (args.Length > 0 && args[0] == "--compare")
{
    int compareThreads = args.Length > 1 && int.TryParse(args[1], out int n) ? n : 1;
    int modelsAt = Array.IndexOf(args, "--models");
    var only = modelsAt > 0 && modelsAt + 1 < args.Length
        ? args[modelsAt + 1].Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet()
        : new HashSet<string>();
    CompareMode.Run(compareThreads, only);
    return;
}
if (args.Length > 1 && args[0] == "--bert-check")
{
    var (model, ids, segment, mask, labels) = BertBench.Setup();
    BertBench.WriteCheck(model, ids, segment, mask, labels, args[1]);
    return;
}
if (args.Length > 0 && args[0] == "--nonfinite")
{
    // The non-finite checks' cost on the MLP step alone (the same rows and INFO line as --compare prints).
    CpuWorkers.Configure(args.Length > 1 ? int.Parse(args[1]) : 1);
    CompareMode.NonFiniteOverhead();
    return;
}
if (args.Length > 0 && args[0] == "--kernels")
{
    KernelsMode.Run(args.Length > 1 ? int.Parse(args[1]) : 1, args.Length > 2 ? args[2] : null);
    return;
}
if (args.Length > 0 && args[0] == "--onnxruntime")
{
    OnnxRuntimeMode.Run(args.Length > 1 ? int.Parse(args[1]) : 1);
    return;
}
if (args.Length > 0 && args[0] == "--train-loop")
{
    // For a profiler: TrainStep (or, with .forward, Forward) of the MLP (batch 128), the CNN (batch 64), the GPT (batch 16, T 64) or the BERT classifier (batch 16, T 128), as CompareMode times them.
    CpuWorkers.Configure(args.Length > 3 ? int.Parse(args[3]) : 1);
    double seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
    Action step = (args.Length > 1 ? args[1] : "gpt") switch
    {
        "mlp" => CompareMode.MlpStep(forwardOnly: false),
        "mlp.forward" => CompareMode.MlpStep(forwardOnly: true),
        "cnn" => CompareMode.CnnStep(forwardOnly: false),
        "cnn.forward" => CompareMode.CnnStep(forwardOnly: true),
        "gpt" => CompareMode.GptStep(forwardOnly: false),
        "gpt.forward" => CompareMode.GptStep(forwardOnly: true),
        "bert" => BertBench.Step(forwardOnly: false),
        "bert.forward" => BertBench.Step(forwardOnly: true),
        var other => throw new ArgumentException($"--train-loop: unknown model '{other}' (mlp, mlp.forward, cnn, cnn.forward, gpt, gpt.forward, bert, bert.forward)"),
    };
    step(); // the first call sizes the workspace; allocations are counted after it
    long allocated = GC.GetTotalAllocatedBytes(precise: true);
    int[] collections = { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
    var until = Stopwatch.StartNew();
    long calls = 0;
    while (until.Elapsed.TotalSeconds < seconds) { step(); calls++; }
    Console.WriteLine($"{calls} calls, {until.Elapsed.TotalMilliseconds / calls:F2} ms each, " +
        $"{(GC.GetTotalAllocatedBytes(precise: true) - allocated) / calls} bytes allocated per call (all threads), " +
        $"collections gen0/1/2 {GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}");
    return;
}
if (args.Length > 0 && args[0] == "--predict-loop")
{
    // For a profiler: Predict on the MLP at batch args[1] for args[2] seconds on args[3] threads (docs/benchmarks.md).
    CpuWorkers.Configure(args.Length > 3 ? int.Parse(args[3]) : 1);
    var model = new BenchMlp(seed: 1);
    var input = Timing.MlpInput(args.Length > 1 ? int.Parse(args[1]) : 128);
    var until = Stopwatch.StartNew();
    long calls = 0;
    double seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
    while (until.Elapsed.TotalSeconds < seconds) { model.Predict(input); calls++; }
    Console.WriteLine($"{calls} calls, {until.Elapsed.TotalMilliseconds * 1000 / calls:F1} µs each");
    return;
}

if (args.Length > 0 && int.TryParse(args[0], out int threads)) CpuWorkers.Configure(threads);
Console.WriteLine($"threads: {CpuWorkers.ThreadCount}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

var random = new Random(1);
Tensor Random(params int[] shape) => new(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)random.NextDouble()).ToArray(), shape);

var mlp = new BenchMlp(seed: 1);
var mx = Random(128, 784);
var my = new IntTensor(Enumerable.Range(0, 128).Select(i => i % 10).ToArray(), 128);
Report("mlp 784-256-256-10, batch 128, adam", () => mlp.TrainStep(mx, my), steps: 200);

var small = new BenchSmall(seed: 1);
var sx = Random(32, 10);
var sy = new Tensor(Enumerable.Range(0, 32).Select(i => (float)(i % 2)).ToArray(), 32, 1);
Report("small 10-64-64-1, batch 32, adam", () => small.TrainStep(sx, sy), steps: 5000);

static void Report(string name, Func<float> step, int steps)
{
    for (int i = 0; i < steps / 4 + 10; i++) step();
    var times = new List<double>();
    for (int rep = 0; rep < 7; rep++)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step();
        times.Add(clock.Elapsed.TotalMilliseconds / steps);
    }
    times.Sort();
    Console.WriteLine($"{name,-40} median {times[times.Count / 2] * 1000,9:F1} µs/step   (min {times[0] * 1000:F1}, max {times[^1] * 1000:F1})");
}
