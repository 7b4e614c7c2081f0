using System;
using System.Diagnostics;
using ModelDsl.Runtime.Cpu;

// Usage: SgemmBench [seconds-per-case (default 0.6)] [thread counts, e.g. 1,2 (default)] [case-name filter]
//        SgemmBench --sweep [threads (default 2)] [ms per block (default 15)]   (see ThreadSweep.cs)
if (args.Length > 0 && args[0] == "--sweep")
{
    ThreadSweep.Run(args.Length > 1 ? int.Parse(args[1]) : 2,
        args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 15);
    return;
}
double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 0.6;
int[] threadCounts = args.Length > 1 ? Array.ConvertAll(args[1].Split(','), int.Parse) : new[] { 1, 2 };
string filter = args.Length > 2 ? args[2] : "";
Console.WriteLine($"kernel path={Sgemm.ActivePath} (MODELDSL_CPU_ISA={Environment.GetEnvironmentVariable(Sgemm.IsaVariable) ?? "unset"}) ProcessorCount={Environment.ProcessorCount} Avx2={System.Runtime.Intrinsics.X86.Avx2.IsSupported} Fma={System.Runtime.Intrinsics.X86.Fma.IsSupported} Avx512F={System.Runtime.Intrinsics.X86.Avx512F.IsSupported}");

var cases = new (string Name, bool TA, bool TB, int M, int N, int K)[]
{
    ("1024^3 NN", false, false, 1024, 1024, 1024),
    ("1024^3 NT", false, true, 1024, 1024, 1024),
    ("fwd  Y=X.W^T   128x256x784 (NT)", false, true, 128, 256, 784),
    ("bwd dX=dY.W    128x784x256 (NN)", false, false, 128, 784, 256),
    ("bwd dW=dY^T.X  256x784x128 (TN)", true, false, 256, 784, 128),
    ("fwd  Y=X.W^T   128x256x256 (NT)", false, true, 128, 256, 256),
    ("fwd  Y=X.W^T   128x10x256  (NT)", false, true, 128, 10, 256),
    // CharGpt's block at B·T = 1024, d 128 (bench/compare.sh --kernels gpt.k.dense-*): qkv and fc1 forward, fc1 and fc2 backward.
    ("gpt fwd qkv    1024x384x128 (NT)", false, true, 1024, 384, 128),
    ("gpt fwd fc1    1024x512x128 (NT)", false, true, 1024, 512, 128),
    ("gpt dW fc1     512x128x1024 (TN)", true, false, 512, 128, 1024),
    ("gpt dW fc2     128x512x1024 (TN)", true, false, 128, 512, 1024),
    ("gpt dX fc1     1024x128x512 (NN)", false, false, 1024, 128, 512),
    ("gpt dX fc2     1024x512x128 (NN)", false, false, 1024, 512, 128),
};

foreach (int threads in threadCounts)
{
    foreach (var (name, ta, tb, m, n, k) in cases)
    {
        if (!name.Contains(filter, StringComparison.Ordinal)) continue;
        var a = Fill(m * k, 1); var b = Fill(k * n, 2); var c = new float[m * n];
        int lda = ta ? m : k, ldb = tb ? k : n;
        for (int i = 0; i < 3; i++) Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n, threads);
        double flops = 2.0 * m * n * k;
        int reps = 1;
        var sw = Stopwatch.StartNew();
        double best = double.MaxValue;
        long total = 0;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++) Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n, threads);
            double dt = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency / reps;
            best = Math.Min(best, dt);
            total += reps;
            if (dt * reps < 0.01) reps *= 2;
        }
        // CPU time per call: on a machine shared with other work, less disturbed than wall time (not counting cache
        // pollution at context switches), and with 1 thread the same thing when the machine is quiet.
        double cpuPerCall = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / total;
        Console.WriteLine($"threads={threads}  {name,-34} best {best * 1e3,8:F3} ms  {flops / best / 1e9,7:F1} GFLOP/s  ({total} runs; CPU time per call {cpuPerCall * 1e3:F3} ms = {flops / cpuPerCall / 1e9:F1} GFLOP/s per CPU-second)");
    }
}

static float[] Fill(int n, int seed)
{
    var r = new Random(seed);
    var x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() - 0.5);
    return x;
}
