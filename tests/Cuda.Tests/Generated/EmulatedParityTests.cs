using System;
using System.Linq;
using ModelDsl.CudaParity;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// The generated CUDA C of every example model executed on the CPU emulator and compared with the CPU backend: each
/// kernel's buffers and every parameter gradient after one step, then the loss of 8 training steps, the parameters and
/// the optimizer state. The same check as <c>CudaParity --device cuda</c> on a GPU.
/// </summary>
public sealed class EmulatedParityTests
{
    [Fact]
    public void Every_example_model_matches_the_cpu_backend_kernel_by_kernel_and_step_by_step()
    {
        using var context = GpuContext.OpenEmulated();
        var report = Program.Run(context, steps: 8);

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Failures));
        // Every model, every buffer: not a vacuous pass.
        foreach (var (type, _, _) in Program.Models) Assert.Contains(report.Lines, l => l.StartsWith(type.Name + " loss of steps 1..8", StringComparison.Ordinal));
        Assert.True(report.Lines.Count(l => l.EndsWith("ok", StringComparison.Ordinal)) > 60);
    }

    [Fact]
    public void A_generated_session_checks_shapes_and_labels_like_the_cpu_code()
    {
        using var context = GpuContext.OpenEmulated();
        var model = new ModelDsl.CudaParity.FashionMlp(seed: 1);
        using var session = model.ToGpu(context);
        var badShape = Assert.Throws<ArgumentException>(() => session.Forward(new ModelDsl.Runtime.Tensor(new float[8 * 785], 8, 785)));
        Assert.Contains("FashionMlp.Gpu.Forward: input 'x' must have shape [B, 784]", badShape.Message);
        var x = new ModelDsl.Runtime.Tensor(new float[4 * 784], 4, 784);
        var badLabel = Assert.ThrowsAny<Exception>(() => session.TrainStep(x, new ModelDsl.Runtime.IntTensor(new[] { 0, 1, 10, 2 }, 4)));
        Assert.Contains("10", badLabel.Message);
        Assert.Equal(0, model.Step); // nothing ran
    }
}
