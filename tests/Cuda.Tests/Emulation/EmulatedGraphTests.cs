using System;
using System.Linq;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>
/// CUDA graphs on the emulator (<see cref="GpuContext.CaptureGraph"/>): a capture records launches and GEMMs without
/// running them, each replay runs them in order with the captured arguments and the memory's current contents, and a
/// host copy inside a capture is refused with the message a GPU session reports as its fallback reason.
/// </summary>
public sealed class EmulatedGraphTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public void A_captured_graph_runs_nothing_until_launched_and_each_replay_reads_the_current_memory()
    {
        const int n = 300;
        float[] x = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        using DeviceVariable dx = emulator.Upload(x), dy = emulator.Upload(new float[n]), dot = emulator.Upload(new float[1]);
        GpuKernel kernel = emulator.Module.GetKernel("vector_add");
        GpuContext context = emulator.Context;

        using GpuGraph graph = context.CaptureGraph(() =>
        {
            var arguments = new KernelArguments();
            arguments.Add(dx);
            arguments.Add(dy);
            arguments.Add(2f);
            arguments.Add(n);
            arguments.Add(1);
            kernel.Launch(new Dim3(2), new Dim3(256), ref arguments); // y = 2x + y + 1
            context.Sgemm(false, true, 1, 1, n, 1f, dx.Pointer, n, dy.Pointer, n, 0f, dot.Pointer, 1); // dot = x · y
        });

        Assert.Equal(2, graph.Nodes);
        Assert.False(context.IsCapturing);
        Assert.All(emulator.Download<float>(dy), v => Assert.Equal(0f, v)); // nothing ran
        graph.Launch();
        graph.Launch();
        float[] y = emulator.Download<float>(dy);
        for (int i = 0; i < n; i++) Assert.Equal(4f * x[i] + 2f, y[i]); // twice: the second replay read the first's y
        double expectedDot = Enumerable.Range(0, n).Sum(i => (double)x[i] * y[i]);
        Assert.Equal(expectedDot, emulator.Download<float>(dot)[0], expectedDot * 1e-6);

        dx.CopyFrom<float>(new float[n]); // new contents, same pointer: the replay reads them
        graph.Launch();
        Assert.Equal(y.Select(v => v + 1f), emulator.Download<float>(dy));
    }

    [Fact]
    public void A_host_copy_inside_a_capture_is_refused_by_name_and_the_context_runs_launches_again()
    {
        using DeviceVariable dy = emulator.Upload(new float[4]);
        GpuContext context = emulator.Context;

        var error = Assert.Throws<CudaException>(() => context.CaptureGraph(() => dy.CopyTo<float>(new float[4])));

        Assert.Equal("copy of 16 bytes from the device while a CUDA graph is being captured: a host copy, clear, allocation or synchronisation cannot be part of a graph", error.Message);
        Assert.False(context.IsCapturing);
        Assert.Throws<CudaException>(() => context.CaptureGraph(() => context.Synchronize()));
        Assert.Throws<CudaException>(() => context.CaptureGraph(() => context.Allocate(4)));
        dy.CopyFrom<float>([1f, 2f, 3f, 4f]); // allowed again
        Assert.Equal([1f, 2f, 3f, 4f], emulator.Download<float>(dy));
    }

    [Fact]
    public void A_disposed_graph_cannot_be_launched()
    {
        GpuGraph graph = emulator.Context.CaptureGraph(() => { });
        Assert.Equal(0, graph.Nodes);
        graph.Dispose();
        Assert.Throws<ObjectDisposedException>(graph.Launch);
    }
}
