using System;
using System.Diagnostics;
using System.Linq;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>What emulated threads, barriers and shuffles cost, printed in the test output (not asserted: machines differ).</summary>
public sealed class EmulationPerformanceTests(EmulatorFixture emulator, ITestOutputHelper output) : IClassFixture<EmulatorFixture>
{
    private const int N = 1 << 20;

    [Fact]
    public void MillionThreads_TrivialKernel_CostFigure()
    {
        using DeviceVariable y = emulator.Context.Allocate(N * 4);
        var arguments = new KernelArguments();
        arguments.Add(y);
        arguments.Add(N);
        GpuKernel kernel = emulator.Module.GetKernel("fill_index");

        double best = Time(() => kernel.Launch(Dim3.Cover(N, 256), new Dim3(256), ref arguments));
        output.WriteLine($"{emulator.Context.DeviceName}: fill_index, 2^20 threads in blocks of 256: {best:0.0} ms, {best * 1e6 / N:0.0} ns per thread");

        float[] values = emulator.Download<float>(y);
        Assert.Equal(N - 1, values[N - 1]);
    }

    [Fact]
    public void BarriersAndShuffles_CostFigure()
    {
        using DeviceVariable x = emulator.Upload(Enumerable.Repeat(1f, N).ToArray());
        using DeviceVariable sums = emulator.Context.Allocate(N / 256 * 4);
        var blockSum = new KernelArguments();
        blockSum.Add(x);
        blockSum.Add(sums);
        blockSum.Add(N);
        GpuKernel kernel = emulator.Module.GetKernel("block_sum");
        double barriers = Time(() => kernel.Launch(new Dim3(N / 256), new Dim3(256), ref blockSum));
        output.WriteLine($"block_sum, 2^20 threads, 9 __syncthreads each: {barriers:0.0} ms, {barriers * 1e6 / N / 9:0.0} ns per thread per barrier");
        Assert.All(emulator.Download<float>(sums), s => Assert.Equal(256f, s));

        using DeviceVariable xorSums = emulator.Context.Allocate(N / 32 * 4), downSums = emulator.Context.Allocate(N / 32 * 4);
        using DeviceVariable maxima = emulator.Context.Allocate(N / 32 * 4), disagreements = emulator.Context.Allocate(4);
        var warpReduce = new KernelArguments();
        warpReduce.Add(x);
        warpReduce.Add(xorSums);
        warpReduce.Add(downSums);
        warpReduce.Add(maxima);
        warpReduce.Add(disagreements);
        warpReduce.Add(N);
        GpuKernel reduce = emulator.Module.GetKernel("warp_reduce");
        double shuffles = Time(() => reduce.Launch(new Dim3(N / 256), new Dim3(256), ref warpReduce));
        output.WriteLine($"warp_reduce, 2^20 threads, 16 shuffles each: {shuffles:0.0} ms, {shuffles * 1e6 / N / 16:0.0} ns per thread per shuffle");
        Assert.All(emulator.Download<float>(xorSums), s => Assert.Equal(32f, s));
    }

    // Best of five launches after a warm-up, in milliseconds.
    private static double Time(Action launch)
    {
        launch();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            launch();
            best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
