using System.Diagnostics;

namespace GeneratorBench;

/// <summary>Median, min and max of repeated timings, in milliseconds.</summary>
internal sealed record Stats(double Median, double Min, double Max, int Count)
{
    /// <summary>Bytes one call allocates (measured on one call after warm-up); null when not measured.</summary>
    public long? AllocatedBytes { get; init; }

    public string AllocatedText => AllocatedBytes is long bytes ? $"{bytes / 1024.0:N0} KB" : "–";

    public static Stats Of(IReadOnlyCollection<double> milliseconds)
    {
        double[] sorted = milliseconds.OrderBy(t => t).ToArray();
        double median = sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return new Stats(median, sorted[0], sorted[^1], sorted.Length);
    }

    public string MedianText => Ms(Median);
    public string RangeText => $"{Ms(Min)}–{Ms(Max)}";

    /// <summary>Milliseconds with three significant-ish digits: 0.0421, 1.23, 12.3, 123.</summary>
    public static string Ms(double ms) => ms switch
    {
        < 0.1 => ms.ToString("0.0000"),
        < 1 => ms.ToString("0.000"),
        < 10 => ms.ToString("0.00"),
        < 100 => ms.ToString("0.0"),
        _ => ms.ToString("0"),
    };
}

/// <summary>Warm-up, then one timed call per repetition (every stage measured here takes microseconds or more).</summary>
internal static class Measure
{
    public static int Repetitions { get; set; } = 30;

    /// <summary>Warm-up runs until both limits are reached, so tiered JIT has promoted the hot code.</summary>
    public static TimeSpan WarmUpTime { get; set; } = TimeSpan.FromSeconds(1);
    public static int WarmUpCalls { get; set; } = 20;

    public static Stats Time(Action action)
    {
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < WarmUpCalls || warmUp.Elapsed < WarmUpTime; i++) action();

        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var times = new List<double>(Repetitions);
        for (int rep = 0; rep < Repetitions; rep++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Stats.Of(times) with { AllocatedBytes = allocated };
    }

    /// <summary>
    /// Times <paramref name="timed"/> only, after an untimed <paramref name="prepare"/> each call (for runs that need a
    /// fresh edit each time). <paramref name="timed"/> receives what <paramref name="prepare"/> returned.
    /// </summary>
    public static Stats Time<T>(Func<int, T> prepare, Action<T> timed)
    {
        int call = 0;
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < WarmUpCalls || warmUp.Elapsed < WarmUpTime; i++) timed(prepare(call++));

        T first = prepare(call++);
        long before = GC.GetAllocatedBytesForCurrentThread();
        timed(first);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var times = new List<double>(Repetitions);
        for (int rep = 0; rep < Repetitions; rep++)
        {
            T state = prepare(call++);
            long start = Stopwatch.GetTimestamp();
            timed(state);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Stats.Of(times) with { AllocatedBytes = allocated };
    }
}
