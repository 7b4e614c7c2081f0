using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The non-finite checks of the generated GPU session, on the CPU emulator of its CUDA C: inputs at entry, the loss, the
/// gradients through the device reduction (one float back), and the update, each refused with nothing changed on the device.
/// </summary>
public sealed class NonFiniteGpuTests : IClassFixture<CudaParityTests.Emulator>
{
    private static readonly Lazy<GeneratedModel> s_fashionMlp =
        new(() => GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp"));

    private readonly CudaParityTests.Emulator _emulator;

    public NonFiniteGpuTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    private sealed class Session : IDisposable
    {
        public Session(GpuContext context)
        {
            Model = s_fashionMlp.Value.NewInstance(1);
            Gpu = (IDisposable)s_fashionMlp.Value.Type.GetMethod("ToGpu", [typeof(ModelDsl.Cuda.GpuContext)])!.Invoke(Model, [context])!;
        }

        public object Model { get; }
        public IDisposable Gpu { get; }
        public IReadOnlyList<Parameter> Parameters => (IReadOnlyList<Parameter>)Model.GetType().GetProperty("Parameters")!.GetValue(Model)!;
        public int Step => (int)Model.GetType().GetProperty("Step")!.GetValue(Model)!;

        public object Call(string method, params object[] args)
        {
            try
            {
                return Gpu.GetType().GetMethod(method)!.Invoke(Gpu, args)!;
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        /// <summary>The device's values and state, copied through the host.</summary>
        public float[][] DeviceState()
        {
            Call("CopyToHost");
            return Parameters.SelectMany(p => new[] { p.Value, p.State1, p.State2 }).Select(a => (float[])a.Clone()).ToArray();
        }

        public void Dispose() => Gpu.Dispose();
    }

    private static (Tensor, IntTensor) Batch()
    {
        var random = new Random(3);
        return (GradientChecker.RandomTensor(random, 16, 784), GradientChecker.RandomClasses(random, 10, 16));
    }

    private static void AssertSame(float[][] before, float[][] after)
    {
        for (int i = 0; i < before.Length; i++) Assert.True(before[i].AsSpan().SequenceEqual(after[i]), $"array {i} changed on the device");
    }

    [Fact]
    public void The_gpu_session_refuses_a_NaN_input_and_an_overflowing_update_and_leaves_the_device_state_as_it_was()
    {
        using var s = new Session(_emulator.Context);
        var (x, y) = Batch();
        s.Call("TrainStep", x, y);
        Assert.True(double.IsFinite((double)s.Call("get_LastGradientNorm")));
        var before = s.DeviceState();

        x.Data[5 * 784 + 2] = float.PositiveInfinity;
        var input = Assert.Throws<NonFiniteException>(() => s.Call("TrainStep", x, y));
        Assert.Contains("FashionMlp.Gpu.TrainStep (step 2): input 'x' holds +Infinity at row 5, column 2", input.Message);
        x.Data[5 * 784 + 2] = 0.5f;

        s.Model.GetType().GetProperty("LearningRate")!.SetValue(s.Model, 3e38f);
        var update = Assert.Throws<NonFiniteException>(() => s.Call("TrainStep", x, y));
        Assert.Equal(NonFiniteSource.Update, update.Source);
        Assert.Contains("FashionMlp.Gpu.TrainStep (step 2): the adamw update with learning rate 3E+38", update.Message);
        Assert.Equal(1, s.Step);
        AssertSame(before, s.DeviceState());
    }

    [Fact]
    public void A_NaN_gradient_on_the_device_is_found_by_the_reduction_and_named_from_the_host_copy()
    {
        using var s = new Session(_emulator.Context);
        var (x, y) = Batch();
        s.Call("ComputeGradients", x, y);
        s.Call("CopyToHost");
        s.Parameters[4].Gradient[3] = float.NaN;
        s.Call("CopyFromHost"); // the NaN gradient is now on the device
        var before = s.DeviceState();
        var e = Assert.Throws<NonFiniteException>(() => s.Call("ApplyGradients"));
        Assert.Equal(NonFiniteSource.Gradient, e.Source);
        Assert.Contains("FashionMlp.Gpu.ApplyGradients (step 1): the gradient of 'logits.6.weight' (fashion_mlp.model:14) holds NaN at element 3", e.Message);
        Assert.Equal(0, s.Step);
        AssertSame(before, s.DeviceState());
    }
}
