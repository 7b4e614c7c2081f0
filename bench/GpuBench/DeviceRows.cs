using ModelDsl.Cuda;
using TrainStepBench;

namespace GpuBench;

/// <summary>What bounds a small model's step on a GPU: cuBLAS's FP32 rate, the cost of one launch and of one round trip.</summary>
internal static class DeviceRows
{
    private const string EmptyKernel = "extern \"C\" __global__ void md_bench_empty(int n) { }";

    public static void Run(GpuContext context)
    {
        // SGEMM 1024³ (NN), as bench/compare.sh times it on the CPU; FP32 (no TF32) like the generated code's GEMMs.
        const int n = 1024;
        using (var a = Filled(context, n * n, 1))
        using (var b = Filled(context, n * n, 2))
        using (var c = context.Allocate(4L * n * n))
        {
            var t = Timing.Time(() => context.Sgemm(false, false, n, n, n, 1f, a.Pointer, n, b.Pointer, n, 0f, c.Pointer, n), context.Synchronize);
            Timing.Emit("modeldsl", "sgemm-1024", "gflops", Timing.ToGflops(2.0 * n * n * n, t));
        }

        using var module = context.LoadModule("bench", EmptyKernel);
        var kernel = module.GetKernel("md_bench_empty");
        Timing.Emit("modeldsl", "launch", "us", Timing.Time(() =>
        {
            var arguments = new KernelArguments();
            arguments.Add(0);
            kernel.Launch(new Dim3(1), new Dim3(32), ref arguments);
        }, context.Synchronize));
        Timing.Emit("modeldsl", "sync", "us", Timing.Time(context.Synchronize, context.Synchronize));
    }

    private static DeviceVariable Filled(GpuContext context, int count, int seed)
    {
        var random = new Random(seed);
        var host = new float[count];
        for (int i = 0; i < count; i++) host[i] = (float)random.NextDouble() - 0.5f;
        var device = context.Allocate(4L * count);
        device.CopyFrom<float>(host);
        return device;
    }
}
