// BenchmarkDotNet suite (not in ModelDsl.sln, not run by CI):
//   dotnet run -c Release --project bench/ModelDsl.Benchmarks -- --filter "*"
//   dotnet run -c Release --project bench/ModelDsl.Benchmarks -- --filter "*TrainStep*" --envVars MODELDSL_BENCH_THREADS:1
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Benchmarks;

public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

/// <summary>
/// Sgemm at the shapes of the MLP 784-256-256-10, batch 128 (dense: Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X), of its batch-1
/// forward, and of the 10-64-64-1 network at batch 32 (below Sgemm's size for splitting work: the same on 1 and 2 threads).
/// </summary>
[MemoryDiagnoser]
public class SgemmMlpShapes
{
    private float[] _a = [], _b = [], _c = [];

    [Params("fwd 128x256x784 NT", "bwd-dX 128x784x256 NN", "bwd-dW 256x784x128 TN", "fwd 128x256x256 NT", "fwd 128x10x256 NT",
        "fwd-b1 1x256x784 NT", "small-fwd 32x64x64 NT", "small-dW 64x64x32 TN")]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    private bool _ta, _tb;
    private int _m, _n, _k;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split(' ');
        var dims = Array.ConvertAll(parts[1].Split('x'), int.Parse);
        (_m, _n, _k) = (dims[0], dims[1], dims[2]);
        _ta = parts[2][0] == 'T';
        _tb = parts[2][1] == 'T';
        _a = Fill(_m * _k, 1); _b = Fill(_k * _n, 2); _c = new float[_m * _n];
    }

    [Benchmark]
    public void Multiply() => Sgemm.Multiply(_ta, _tb, _m, _n, _k, 1f, _a, _ta ? _m : _k, _b, _tb ? _k : _n, 0f, _c, _n, Threads);

    internal static float[] Fill(int n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() - 0.5);
        return x;
    }
}

/// <summary>
/// Generated TrainStep (forward, loss, backward, optimizer) of the benchmark MLPs and of the examples' CNN and GPT (the
/// models bench/compare.sh times against PyTorch). CpuWorkers' thread count is fixed once per process, and
/// BenchmarkDotNet runs each case in its own process: pass the count with --envVars MODELDSL_BENCH_THREADS:N.
/// </summary>
[MemoryDiagnoser]
public class TrainStep
{
    private readonly BenchMlp _mlp = new(seed: 1);
    private readonly BenchSmall _small = new(seed: 1);
    private readonly FashionCnn _cnn = new(seed: 1);
    private readonly CharGpt _gpt = new(seed: 1);
    private Tensor _mx = null!, _sx = null!, _sy = null!, _cx = null!;
    private IntTensor _my = null!, _cy = null!, _idx = null!, _targets = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("MODELDSL_BENCH_THREADS"), out int threads)) CpuWorkers.Configure(threads);
        _mx = new Tensor(SgemmMlpShapes.Fill(128 * 784, 3), 128, 784);
        _my = new IntTensor(Enumerable.Range(0, 128).Select(i => i % 10).ToArray(), 128);
        _sx = new Tensor(SgemmMlpShapes.Fill(32 * 10, 4), 32, 10);
        _sy = new Tensor(Enumerable.Range(0, 32).Select(i => (float)(i % 2)).ToArray(), 32, 1);
        _cx = new Tensor(SgemmMlpShapes.Fill(64 * 784, 5), 64, 1, 28, 28);
        _cy = new IntTensor(Enumerable.Range(0, 64).Select(i => i % 10).ToArray(), 64);
        var random = new Random(6);
        _idx = new IntTensor(Enumerable.Range(0, 16 * 64).Select(_ => random.Next(96)).ToArray(), 16, 64);
        _targets = new IntTensor(Enumerable.Range(0, 16 * 64).Select(_ => random.Next(96)).ToArray(), 16, 64);
    }

    [Benchmark(Description = "MLP 784-256-256-10, batch 128, Adam")]
    public float Mlp() => _mlp.TrainStep(_mx, _my);

    [Benchmark(Description = "10-64-64-1, batch 32, BCE, Adam")]
    public float Small() => _small.TrainStep(_sx, _sy);

    [Benchmark(Description = "Fashion CNN (examples/FashionMnist), batch 64, Adam")]
    public float Cnn() => _cnn.TrainStep(_cx, _cy);

    [Benchmark(Description = "char GPT (examples/CharGpt), batch 16, T 64, AdamW")]
    public float Gpt() => _gpt.TrainStep(_idx, _targets);
}

/// <summary>Generated Predict (forward and row argmax) of the MLP at batch 128 and 1 (threads as for <see cref="TrainStep"/>).</summary>
[MemoryDiagnoser]
public class Predict
{
    private readonly BenchMlp _mlp = new(seed: 1);
    private Tensor _x128 = null!, _x1 = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("MODELDSL_BENCH_THREADS"), out int threads)) CpuWorkers.Configure(threads);
        _x128 = new Tensor(SgemmMlpShapes.Fill(128 * 784, 3), 128, 784);
        _x1 = new Tensor(SgemmMlpShapes.Fill(784, 3), 1, 784);
    }

    [Benchmark(Description = "MLP Predict, batch 128")]
    public IntTensor Batch128() => _mlp.Predict(_x128);

    [Benchmark(Description = "MLP Predict, batch 1")]
    public IntTensor Batch1() => _mlp.Predict(_x1);
}
