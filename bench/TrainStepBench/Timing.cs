using System.Diagnostics;
using System.Globalization;
using ModelDsl.Runtime;

namespace TrainStepBench;

/// <summary>
/// The timing method and output format shared by the halves of bench/compare.sh (bench/pytorch/compare.py does the
/// same): warm-up (at least 0.3 s and 10 calls), then 7 blocks of calls of about 0.25 s each; the median block, with the
/// fastest and slowest. One line per measurement:
/// <c>BENCH&lt;TAB&gt;impl&lt;TAB&gt;name&lt;TAB&gt;unit&lt;TAB&gt;median&lt;TAB&gt;min&lt;TAB&gt;max</c>, unit <c>us</c> (per call,
/// lower is better) or <c>gflops</c> (higher is better).
/// </summary>
internal static class Timing
{
    private const int Repetitions = 7;
    private const double BlockSeconds = 0.25;

    /// <summary>
    /// Per-call seconds of 7 blocks (sorted), each block sized to about <see cref="BlockSeconds"/>. For work queued on a
    /// device (bench/GpuBench), <paramref name="drain"/> waits for it after the warm-up and at the end of every block, so
    /// a block's time covers the work and not just its launches (compare.py --device cuda synchronises the same way).
    /// </summary>
    public static double[] Time(Action call, Action? drain = null)
    {
        // Warm-up: at least 0.3 s and 10 calls (tiering, packing buffers, worker threads).
        var warm = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 10 || warm.Elapsed.TotalSeconds < 0.3) { call(); calls++; }
        drain?.Invoke();
        double estimate = warm.Elapsed.TotalSeconds / calls;
        int block = Math.Max(1, (int)(BlockSeconds / estimate));
        var times = new double[Repetitions];
        for (int rep = 0; rep < Repetitions; rep++)
        {
            double t0 = Now();
            for (int i = 0; i < block; i++) call();
            drain?.Invoke();
            times[rep] = (Now() - t0) / block;
        }
        Array.Sort(times);
        return times;
    }

    /// <summary>
    /// Two variants of one call timed in the same run with their blocks interleaved (a, b, a, b, …), so drift on a busy
    /// machine (frequency, other processes) lands on both alike: for a small difference such as the non-finite checks.
    /// </summary>
    public static (double[] A, double[] B) TimePair(Action a, Action b)
    {
        var warm = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 10 || warm.Elapsed.TotalSeconds < 0.3) { a(); b(); calls++; }
        double estimate = warm.Elapsed.TotalSeconds / (2 * calls);
        int block = Math.Max(1, (int)(BlockSeconds / estimate));
        var ta = new double[Repetitions];
        var tb = new double[Repetitions];
        for (int rep = 0; rep < Repetitions; rep++)
        {
            double t0 = Now();
            for (int i = 0; i < block; i++) a();
            double t1 = Now();
            for (int i = 0; i < block; i++) b();
            double t2 = Now();
            ta[rep] = (t1 - t0) / block;
            tb[rep] = (t2 - t1) / block;
        }
        Array.Sort(ta);
        Array.Sort(tb);
        return (ta, tb);
    }

    /// <summary>
    /// <c>MODELDSL_BENCH_CLOCK=cpu</c> (bench/compare.sh --clock cpu): time the blocks in CPU seconds of the calling
    /// thread (<c>CLOCK_THREAD_CPUTIME_ID</c>, as Python's <c>time.thread_time</c> on the PyTorch side) instead of wall
    /// seconds. On a machine shared with other work, a single-threaded call's CPU time is close to its wall time on a
    /// quiet machine (what it loses is cache contents at each preemption), and the runtime's own threads (tiered JIT,
    /// GC) are not counted. With several threads the workers' time is missing, so it only means something on 1 thread
    /// (every side then runs on its calling thread: ModelDsl, OpenBLAS and ATen at 1 thread, ONNX Runtime at 1 intra-op).
    /// </summary>
    public static readonly bool CpuClock = Environment.GetEnvironmentVariable("MODELDSL_BENCH_CLOCK") == "cpu";

    /// <summary>Seconds on the chosen clock (see <see cref="CpuClock"/>).</summary>
    public static double Now()
    {
        if (!CpuClock) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        if (ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return ts.Seconds + ts.Nanoseconds * 1e-9;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    public static double[] ToGflops(double flops, double[] seconds)
    {
        var g = seconds.Select(s => flops / s / 1e9).ToArray();
        Array.Sort(g);
        return g;
    }

    public static void Emit(string impl, string name, string unit, double[] sorted)
    {
        double scale = unit == "us" ? 1e6 : 1;
        string F(double v) => (v * scale).ToString("F3", CultureInfo.InvariantCulture);
        Console.WriteLine($"BENCH\t{impl}\t{name}\t{unit}\t{F(sorted[sorted.Length / 2])}\t{F(sorted[0])}\t{F(sorted[^1])}");
        Console.Out.Flush();
    }

    public static void Info(string impl, string text)
    {
        Console.WriteLine($"INFO\t{impl}\t{text}");
        Console.Out.Flush();
    }

    /// <summary>The benchmark inputs, the same in every mode: uniform [0, 1) from <c>new Random(1)</c>, MLP input first.</summary>
    public static Tensor MlpInput(int batch)
    {
        var random = new Random(1);
        var all = new float[128 * 784];
        for (int i = 0; i < all.Length; i++) all[i] = (float)random.NextDouble();
        return new Tensor(all.AsSpan(0, batch * 784).ToArray(), batch, 784);
    }
}
