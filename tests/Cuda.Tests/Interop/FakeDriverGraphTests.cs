using System;
using System.Linq;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>
/// CUDA graphs through the binding (<see cref="GpuContext.CaptureGraph"/>) against the stand-in driver: the call sequence
/// (a stream of our own, cuBLAS moved to it, capture, end, instantiate, launch, destroy), that nothing runs while
/// captured and everything runs at each replay with the captured arguments, and that a host copy inside a capture or a
/// failed instantiation is a named error that leaves no graph, stream state or cuBLAS stream behind.
/// </summary>
public sealed unsafe partial class FakeDriverTests
{
    [FakeCudaFact]
    public void CaptureGraph_RecordsLaunchesAndGemms_AndEachReplayRunsThemWithTheCapturedArguments()
    {
        using (CudaContext context = Fake.Open())
        {
            using GpuModule module = context.LoadModule("axpy_module", AxpySource);
            GpuKernel kernel = module.GetKernel("axpy");
            using DeviceVariable x = context.Allocate(4 * sizeof(float));
            using DeviceVariable y = context.Allocate(4 * sizeof(float));
            using DeviceVariable c = context.Allocate(sizeof(float));
            x.CopyFrom<float>([1f, 2f, 3f, 4f]);
            y.CopyFrom<float>([0f, 0f, 0f, 0f]);
            Fake.Reset();

            using GpuGraph graph = context.CaptureGraph(() =>
            {
                var arguments = new KernelArguments();
                arguments.Add(4);
                arguments.Add(0.5f);
                arguments.Add(x);
                arguments.Add(y);
                kernel.Launch(new Dim3(1), new Dim3(32), ref arguments);
                context.Sgemm(false, true, 1, 1, 4, 1f, x.Pointer, 4, y.Pointer, 4, 0f, c.Pointer, 1); // c = x · y
            });

            Assert.Equal(2, graph.Nodes);
            float[] values = new float[4];
            y.CopyTo<float>(values);
            Assert.Equal([0f, 0f, 0f, 0f], values); // nothing ran during the capture
            graph.Launch();
            graph.Launch();
            y.CopyTo<float>(values);
            Assert.Equal([1f, 2f, 3f, 4f], values); // y += x/2, twice
            float[] dot = new float[1];
            c.CopyTo<float>(dot);
            Assert.Equal(1f * 1f + 2f * 2f + 3f * 3f + 4f * 4f, dot[0]); // the second replay's product, with y = x

            Assert.Equal(new[]
            {
                "cuStreamCreate", "cublasSetStream_v2 capture stream", "cuStreamBeginCapture_v2 mode=0",
                "cuLaunchKernel axpy (captured)", "cublasSgemm_v2 TN m=1 n=1 k=4 (captured)",
                "cuStreamEndCapture nodes=2", "cublasSetStream_v2 default stream", "cuGraphInstantiateWithFlags", "cuGraphDestroy",
                "cuGraphLaunch nodes=2", "cuGraphLaunch nodes=2",
            }, Fake.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(1, Fake.Get("graph_execs"));
            Assert.Equal(0, Fake.Get("graphs"));
        }
        Assert.Equal(0, Fake.Get("graph_execs"));
        Assert.Equal(0, Fake.Get("streams"));
        Assert.Contains("cuGraphExecDestroy", Fake.Log);
        Assert.Contains("cuStreamDestroy_v2", Fake.Log);
    }

    [FakeCudaFact]
    public void CaptureGraph_AHostCopyInside_ThrowsNamingIt_AndLaunchesGoToTheDefaultStreamAgain()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("axpy_module", AxpySource);
        GpuKernel kernel = module.GetKernel("axpy");
        using DeviceVariable x = context.Allocate(4 * sizeof(float));
        using DeviceVariable y = context.Allocate(4 * sizeof(float));
        x.CopyFrom<float>([1f, 2f, 3f, 4f]);
        y.CopyFrom<float>([0f, 0f, 0f, 0f]);
        void Axpy()
        {
            var arguments = new KernelArguments();
            arguments.Add(4);
            arguments.Add(1f);
            arguments.Add(x);
            arguments.Add(y);
            kernel.Launch(new Dim3(1), new Dim3(32), ref arguments);
        }

        var error = Assert.Throws<CudaException>(() => context.CaptureGraph(() =>
        {
            Axpy();
            y.CopyTo<float>(new float[4]); // a loss read inside the step
        }));

        Assert.StartsWith($"cuMemcpyDtoH_v2({y.Pointer}, 16 bytes) while a CUDA graph is being captured", error.Message);
        Assert.False(context.IsCapturing);
        Assert.Equal(0, Fake.Get("graphs"));
        Assert.Equal(0, Fake.Get("graph_execs"));
        Assert.EndsWith("cublasSetStream_v2 default stream", Fake.Log.TrimEnd());
        Axpy(); // runs now, on the default stream
        float[] values = new float[4];
        y.CopyTo<float>(values);
        Assert.Equal([1f, 2f, 3f, 4f], values);
    }

    [FakeCudaFact]
    public void CaptureGraph_InstantiationFails_ThrowsTheDriverErrorWithTheNodeCount()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("axpy_module", AxpySource);
        using DeviceVariable x = context.Allocate(4 * sizeof(float));
        Fake.Set("instantiate_result", 2);

        var error = Assert.Throws<CudaException>(() => context.CaptureGraph(() =>
        {
            var arguments = new KernelArguments();
            arguments.Add(4);
            arguments.Add(1f);
            arguments.Add(x);
            arguments.Add(x);
            module.GetKernel("axpy").Launch(new Dim3(1), new Dim3(32), ref arguments);
        }));

        Assert.Equal("cuGraphInstantiateWithFlags(graph of 1 nodes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", error.Message);
        Assert.Equal(0, Fake.Get("graphs"));
        Assert.Equal(0, Fake.Get("graph_execs"));
    }
}
