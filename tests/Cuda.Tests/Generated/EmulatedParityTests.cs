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
        Assert.True(report.Lines.Count(l => l.EndsWith("ok", StringComparison.Ordinal)) > 400);
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

    [Fact]
    public void Layer_sessions_train_without_allocating_once_their_workspaces_exist()
    {
        using var context = GpuContext.OpenEmulated();
        using var cnn = new ModelDsl.CudaParity.FashionCnn(seed: 5).ToGpu(context);
        using var lstm = new ModelDsl.CudaParity.FortuneLstm(seed: 5).ToGpu(context);
        using var gpt = new ModelDsl.CudaParity.CharGpt(seed: 5).ToGpu(context);
        var images = Batch<ModelDsl.Runtime.Tensor, ModelDsl.Runtime.IntTensor>(typeof(ModelDsl.CudaParity.FashionCnn), 3, 1);
        var words = Batch<ModelDsl.Runtime.IntTensor, ModelDsl.Runtime.IntTensor>(typeof(ModelDsl.CudaParity.FortuneLstm), 3, 5);
        var text = Batch<ModelDsl.Runtime.IntTensor, ModelDsl.Runtime.IntTensor>(typeof(ModelDsl.CudaParity.CharGpt), 2, 8);
        AllocatesNothing("FashionCnn", () => cnn.TrainStep(images.Input, images.Label));
        AllocatesNothing("FortuneLstm", () => lstm.TrainStep(words.Input, words.Label));
        AllocatesNothing("CharGpt", () => gpt.TrainStep(text.Input, text.Label));
    }

    private static (TInput Input, TLabel Label) Batch<TInput, TLabel>(Type type, int batch, int sequence)
    {
        var data = ParityCheck.RandomBatch(type, batch, sequence, seed: 3);
        return ((TInput)data[0], (TLabel)data[1]);
    }

    // A step that allocates does so every time; the runtime itself may allocate now and then on this thread (tiered
    // JIT rewriting a hot method under load: a few hundred bytes, once), so one of three measured steps must be 0.
    private static void AllocatesNothing(string model, Func<float> trainStep)
    {
        for (int i = 0; i < 2; i++) trainStep(); // the workspace, the module, the JIT
        var measured = new long[3];
        for (int i = 0; i < measured.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            trainStep();
            measured[i] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (measured[i] == 0) return;
        }
        Assert.Fail($"{model}.Gpu.TrainStep allocated {string.Join(", ", measured)} bytes in three steps after warming up");
    }

    [Fact]
    public void A_layer_session_checks_token_ids_and_the_sequence_length_with_the_cpu_codes_messages()
    {
        using var context = GpuContext.OpenEmulated();
        var model = new ModelDsl.CudaParity.CharGpt(seed: 1);
        using var session = model.ToGpu(context);
        var targets = new ModelDsl.Runtime.IntTensor(new int[2 * 8], 2, 8);
        var badId = new ModelDsl.Runtime.IntTensor(Enumerable.Range(0, 16).Select(i => i == 11 ? 96 : i).ToArray(), 2, 8);
        string cpuId = Assert.ThrowsAny<Exception>(() => model.TrainStep(badId, targets)).Message;
        string gpuId = Assert.ThrowsAny<Exception>(() => session.TrainStep(badId, targets)).Message;
        Assert.Contains("96", cpuId);
        Assert.Equal(cpuId.Replace("CharGpt.TrainStep", "CharGpt.Gpu.TrainStep"), gpuId);

        var tooLong = new ModelDsl.Runtime.IntTensor(new int[65], 1, 65);
        string cpuLength = Assert.ThrowsAny<Exception>(() => model.Forward(tooLong)).Message;
        string gpuLength = Assert.ThrowsAny<Exception>(() => session.Forward(tooLong)).Message;
        Assert.Contains("64", cpuLength);
        Assert.Equal(cpuLength.Replace("CharGpt.Forward", "CharGpt.Gpu.Forward"), gpuLength);
        Assert.Equal(0, model.Step); // nothing ran
    }
}
