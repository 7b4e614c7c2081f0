using System;
using ModelDsl.Cuda;
using ModelDsl.CudaParity;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The generated GPU half of random models (every op with kernels, rank-2 and rank-3 inputs, residuals and gating,
/// each loss and optimizer, odd sizes) run on the CPU emulator of their CUDA C and compared with their CPU code:
/// every buffer after one step, every parameter gradient, then the losses, parameters and optimizer state of 5 steps.
/// </summary>
public sealed class CudaParityTests : IClassFixture<CudaParityTests.Emulator>
{
    private readonly Emulator _emulator;

    public CudaParityTests(Emulator emulator) => _emulator = emulator;

    [Theory]
    [MemberData(nameof(RandomModelTests.Seeds), MemberType = typeof(RandomModelTests))]
    public void Random_models_match_the_cpu_backend_on_the_emulated_gpu(int seed)
    {
        var (text, _, _, _, _) = RandomModelTests.RandomModel(new Random(seed), seed);
        var compiled = GeneratedModel.Compile(text, $"R{seed}", seed: 3);
        var cpu = compiled.NewInstance(3);
        var gpuModel = compiled.NewInstance(3);
        using var session = (IDisposable)ParityCheck.Invoke(gpuModel, "ToGpu", _emulator.Context);
        var report = new ParityReport();
        // 33 rows: not a multiple of the 8 rows per block or the 32 lanes of a warp.
        ParityCheck.CompareKernels(cpu, gpuModel, session, ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 1), report);
        ParityCheck.CompareTraining(cpu, gpuModel, session, step => ParityCheck.RandomBatch(compiled.Type, 11, 3, seed: 10 + step), 5, report);
        Assert.True(report.Passed, $"model:\n{text}\n" + string.Join(Environment.NewLine, report.Failures));
    }

    /// <summary>One emulator for the class: its compiled modules are cached on disk, so later runs skip g++.</summary>
    public sealed class Emulator : IDisposable
    {
        public GpuContext Context { get; } = GpuContext.OpenEmulated();

        public void Dispose() => Context.Dispose();
    }
}
