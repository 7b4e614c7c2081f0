// Median time per generated TrainStep (forward, loss, backward, Adam) after warm-up, over several repetitions.
//   dotnet run -c Release --project bench/TrainStepBench -- [threads]
//   dotnet run -c Release --project bench/TrainStepBench -- --compare [threads]   (machine-readable; used by bench/compare.sh)
//   dotnet run -c Release --project bench/TrainStepBench -- --onnxruntime [threads]   (the exported MLP in ONNX Runtime; same format)
//   dotnet run -c Release --project bench/TrainStepBench -- --predict-loop [batch] [seconds] [threads]   (for a profiler)
using System.Diagnostics;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;
using TrainStepBench;

if (args.Length > 0 && args[0] == "--compare")
{
    CompareMode.Run(args.Length > 1 ? int.Parse(args[1]) : 1);
    return;
}
if (args.Length > 0 && args[0] == "--onnxruntime")
{
    OnnxRuntimeMode.Run(args.Length > 1 ? int.Parse(args[1]) : 1);
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
