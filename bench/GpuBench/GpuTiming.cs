using System.Diagnostics;
using ModelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// <see cref="TrainStepBench.Timing"/>'s method (warm-up, then 7 blocks of about 0.25 s; the median block) for work that
/// runs asynchronously on a device: the queue is drained after the warm-up and at the end of every block, so a block's
/// time covers its work and not just its launches. bench/pytorch/compare.py --device cuda does the same with
/// torch.cuda.synchronize().
/// </summary>
internal static class GpuTiming
{
    private const int Repetitions = 7;
    private const double BlockSeconds = 0.25;

    public static double[] Time(GpuContext context, Action call)
    {
        var warm = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 10 || warm.Elapsed.TotalSeconds < 0.3) { call(); calls++; }
        context.Synchronize();
        double estimate = warm.Elapsed.TotalSeconds / calls;
        int block = Math.Max(1, (int)(BlockSeconds / estimate));
        var times = new double[Repetitions];
        for (int rep = 0; rep < Repetitions; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < block; i++) call();
            context.Synchronize();
            times[rep] = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency / block;
        }
        Array.Sort(times);
        return times;
    }
}
