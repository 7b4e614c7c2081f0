using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Cuda;

namespace ModelDsl.CudaParity;

/// <summary>
/// <c>CudaParity [--device cuda|emulated] [--steps N] [--time]</c>: for every model with generated training code, checks
/// the CUDA path against the CPU backend (each kernel's buffers, every parameter gradient, then N training steps) and,
/// with --time, times one training step on each. Exit code 0 when everything is within tolerance.
/// </summary>
public static class Program
{
    /// <summary>
    /// The models compiled into this program, with the batch and sequence sizes the checks bind: small for the layer
    /// models (the emulator runs every thread of every block on the CPU), odd where a size can be (3 images, 5 words).
    /// </summary>
    public static IReadOnlyList<(Type Type, int Batch, int Sequence)> Models { get; } = new[]
    {
        (typeof(BinaryClassifier), 37, 1),
        (typeof(FashionMlp), 45, 1),
        (typeof(ParityOps), 6, 7),
        (typeof(ParityBce), 29, 1),
        (typeof(ParityConcat), 5, 7),
        (typeof(ParityRmsprop), 13, 1),
        (typeof(ParityRmspropCentered), 19, 1),
        (typeof(ParityGroups), 17, 1),
        (typeof(ParityEpilogues), 11, 1),
        (typeof(ParityClassifier), 2, 3),
        (typeof(FashionCnn), 3, 1),
        (typeof(FortuneLstm), 3, 5),
        (typeof(CharGpt), 2, 8),
        (typeof(ParityGptBf16), 2, 8),
        (typeof(ParityRecompute), 2, 8),
        (typeof(ParityMlpBf16), 9, 1),
    };

    public static int Main(string[] args)
    {
        string device = "auto";
        int steps = 8;
        bool time = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device" when i + 1 < args.Length: device = args[++i]; break;
                case "--steps" when i + 1 < args.Length: steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--time": time = true; break;
                default:
                    Console.Error.WriteLine("usage: CudaParity [--device auto|cuda|emulated] [--steps N] [--time]");
                    return 2;
            }
        }

        GpuContext context;
        try
        {
            context = device switch
            {
                "cuda" => GpuContext.OpenCuda(),
                "emulated" => GpuContext.OpenEmulated(),
                _ => OpenAny(),
            };
        }
        catch (CudaUnavailableException e)
        {
            Console.Error.WriteLine("CudaParity: " + e.Message);
            return 3;
        }

        using (context)
        {
            Console.WriteLine($"device: {context.DeviceName}");
            var report = Run(context, steps);
            Bf16Check.Run(context, report); // BF16 sessions against the FP32 CPU (docs/cuda.md "Precision")
            foreach (var line in report.Lines) Console.WriteLine(line);
            if (time) Time(context);
            Console.WriteLine(report.Passed ? "parity: ok" : $"parity: {report.Failures.Count} comparison(s) out of tolerance");
            return report.Passed ? 0 : 1;
        }
    }

    private static GpuContext OpenAny()
    {
        try
        {
            return GpuContext.OpenCuda();
        }
        catch (CudaUnavailableException e)
        {
            Console.WriteLine($"no GPU ({e.Message}); using the CPU emulator");
            return GpuContext.OpenEmulated();
        }
    }

    /// <summary>Every check on every model; also what the emulated test under <c>dotnet test</c> runs.</summary>
    public static ParityReport Run(GpuContext context, int steps)
    {
        var report = new ParityReport();
        foreach (var (type, batch, sequence) in Models)
        {
            var cpu = Activator.CreateInstance(type, 7UL)!;
            var gpuModel = Activator.CreateInstance(type, 7UL)!;
            // FP32 whatever the model declares: the CPU tolerances hold FP32 arithmetic (a bf16 model's BF16 session is
            // checked by Bf16Check).
            using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", context, GpuPrecision.Fp32);
            ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(type, batch, sequence, seed: 1), report);
            ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(type, batch, sequence, seed: 100 + step), steps, report);
        }
        return report;
    }

    /// <summary>Median TrainStep time on the CPU backend and on the device, at the batch sizes of the benchmarks.</summary>
    private static void Time(GpuContext context)
    {
        Console.WriteLine();
        Console.WriteLine($"{"model",-18} {"batch",6} {"T",4} {"CPU ms",10} {"device ms",10}   device: {context.DeviceName}");
        var timed = new[] { (typeof(FashionMlp), 128, 1), (typeof(BinaryClassifier), 32, 1), (typeof(FashionCnn), 64, 1), (typeof(CharGpt), 16, 64) };
        foreach (var (type, batch, sequence) in timed)
        {
            var data = ParityCheck.RandomBatch(type, batch, sequence, seed: 5);
            var cpu = Activator.CreateInstance(type, 7UL)!;
            var gpuModel = Activator.CreateInstance(type, 7UL)!;
            using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", context);
            int repetitions = context.IsEmulated ? 5 : 200;
            double cpuMs = ParityCheck.TimeTrainStep(cpu, data, warmup: 20, repetitions: 50);
            // TrainStep already waits for the loss, so the device's queue is empty when it returns.
            double gpuMs = ParityCheck.TimeTrainStep(session, data, warmup: context.IsEmulated ? 1 : 50, repetitions);
            Console.WriteLine($"{type.Name,-18} {batch,6} {(sequence > 1 ? sequence.ToString(CultureInfo.InvariantCulture) : "-"),4} {cpuMs,10:0.000} {gpuMs,10:0.000}");
        }
    }
}
