using System;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.Globalization;
using ModelDsl.Runtime.Cpu;

/// <summary>
/// <c>SgemmBench --sweep [threads (default 2)] [ms per block (default 15)]</c>: for each shape the generated code issues
/// (the benchmark MLPs at several batch sizes) and a few squares, the time of one multiply on 1 thread and on
/// <c>threads</c> threads (<c>maxThreads</c>; Sgemm's own size rule still applies), measured in alternating blocks
/// (7 each, back to back, so the workers stay awake as in a training step); the median block. This is the measurement
/// behind Sgemm's rule for when a multiply is worth splitting across threads (docs/benchmarks.md).
/// </summary>
internal static class ThreadSweep
{
    public static void Run(int threads, double blockMs)
    {
        DispatchCost(threads);
        WarmUp(threads);
        Console.WriteLine($"# threads {threads}, blocks of ~{blockMs} ms, 7 per side, alternating; median µs per multiply");
        Console.WriteLine("| shape (m×n×k op) | where | MACs | MACs/thread | 1 thread µs | " + threads + " threads µs | speedup |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var (where, ta, tb, m, n, k) in Shapes())
        {
            var a = Fill(m * k, 1); var b = Fill(k * n, 2); var c = new float[m * n];
            int lda = ta ? m : k, ldb = tb ? k : n;
            void Call(int t) => Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n, t);
            // Warm-up and block size from the 1-thread time.
            var sw = Stopwatch.StartNew();
            int calls = 0;
            while (calls < 20 || sw.Elapsed.TotalMilliseconds < 40) { Call(1); Call(threads); calls++; }
            double perCall = sw.Elapsed.TotalMilliseconds / (2.0 * calls);
            int block = Math.Max(1, (int)(blockMs / perCall));
            var t1 = new double[7]; var tn = new double[7];
            for (int rep = 0; rep < 7; rep++)
            {
                t1[rep] = Block(Call, 1, block);
                tn[rep] = Block(Call, threads, block);
            }
            Array.Sort(t1); Array.Sort(tn);
            long macs = (long)m * n * k;
            string op = (ta ? "T" : "N") + (tb ? "T" : "N");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m}×{n}×{k} {op} | {where} | {macs:N0} | {macs / threads:N0} | {t1[3]:F2} ({t1[0]:F2}–{t1[6]:F2}) | {tn[3]:F2} ({tn[0]:F2}–{tn[6]:F2}) | {t1[3] / tn[3]:F2} |"));
        }
    }

    /// <summary>
    /// What one parallel-for costs on its own: <c>CpuWorkers.Run</c> of 2·threads empty items, back to back (workers
    /// spinning) and after 20 µs of work on the caller alone (as between two GEMMs of a small training step).
    /// </summary>
    private static void DispatchCost(int threads)
    {
        var job = new EmptyJob();
        foreach (double gapUs in new[] { 0.0, 20.0 })
        {
            long gapTicks = (long)(gapUs * Stopwatch.Frequency / 1e6);
            var times = new double[7];
            for (int rep = -2; rep < 7; rep++)
            {
                const int calls = 2000;
                double dispatch = 0;
                for (int i = 0; i < calls; i++)
                {
                    long until = Stopwatch.GetTimestamp() + gapTicks;
                    while (Stopwatch.GetTimestamp() < until) { }
                    long t0 = Stopwatch.GetTimestamp();
                    CpuWorkers.Run(in job, 2 * threads, threads);
                    dispatch += Stopwatch.GetTimestamp() - t0;
                }
                if (rep >= 0) times[rep] = dispatch * 1e6 / Stopwatch.Frequency / calls;
            }
            Array.Sort(times);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# one parallel-for of {2 * threads} empty items on {threads} threads, {gapUs:F0} µs of caller-only work before each: {times[3]:F2} µs ({times[0]:F2}–{times[6]:F2})"));
        }
    }

    private struct EmptyJob : IParallelJob
    {
        public void Run(int index) { }
    }

    /// <summary>
    /// Every shape on both thread counts for 1.5 s before anything is timed: the packing loops and jobs are ordinary
    /// tiered methods, and timing a shape before they reach tier 1 (100 ms or more after start-up) measures
    /// tier-0 code, up to 10× slower on the smallest shapes.
    /// </summary>
    private static void WarmUp(int threads)
    {
        var all = Shapes().ToArray();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 1.5)
        {
            foreach (var (_, ta, tb, m, n, k) in all)
            {
                if ((long)m * n * k > 3_000_000) continue;
                var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
                for (int i = 0; i < 5; i++)
                {
                    Sgemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, 1);
                    Sgemm.Multiply(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n, threads);
                }
            }
        }
    }

    private static double Block(Action<int> call, int threads, int block)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < block; i++) call(threads);
        return (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / block;
    }

    /// <summary>Dense layer in→out at batch b: forward Y = X·Wᵀ (NT), weight gradient dW = dYᵀ·X (TN), input gradient dX = dY·W (NN).</summary>
    private static IEnumerable<(string Where, bool TA, bool TB, int M, int N, int K)> Dense(string name, int b, int inF, int outF, bool inputGradient)
    {
        yield return ($"{name} fwd", false, true, b, outF, inF);
        yield return ($"{name} dW", true, false, outF, inF, b);
        if (inputGradient) yield return ($"{name} dX", false, false, b, inF, outF);
    }

    private static IEnumerable<(string Where, bool TA, bool TB, int M, int N, int K)> Shapes()
    {
        // The small model 10-64-64-1 (bench/TrainStepBench/small.model) at its benchmark batch 32 and larger batches.
        foreach (int b in new[] { 32, 128, 512 })
        {
            foreach (var s in Dense($"small B={b} L1", b, 10, 64, false)) yield return s;
            foreach (var s in Dense($"small B={b} L2", b, 64, 64, true)) yield return s;
            foreach (var s in Dense($"small B={b} L3", b, 64, 1, true)) yield return s;
        }
        // The MLP 784-256-256-10 (bench/TrainStepBench/mlp.model): inference at batch 1 and 8, training at 32 and 128.
        foreach (int b in new[] { 1, 8 })
        {
            yield return ($"mlp B={b} L1 fwd", false, true, b, 256, 784);
            yield return ($"mlp B={b} L2 fwd", false, true, b, 256, 256);
            yield return ($"mlp B={b} L3 fwd", false, true, b, 10, 256);
        }
        foreach (int b in new[] { 32, 128 })
        {
            foreach (var s in Dense($"mlp B={b} L1", b, 784, 256, false)) yield return s;
            foreach (var s in Dense($"mlp B={b} L2", b, 256, 256, true)) yield return s;
            foreach (var s in Dense($"mlp B={b} L3", b, 256, 10, true)) yield return s;
        }
        foreach (int n in new[] { 48, 64, 80, 96, 128, 160, 192, 256 })
            yield return ("square", false, false, n, n, n);
    }

    private static float[] Fill(int n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() - 0.5);
        return x;
    }
}
