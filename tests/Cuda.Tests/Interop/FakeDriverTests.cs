using System;
using System.Linq;
using System.Threading;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>
/// <see cref="CudaContext"/>'s real code against the stand-in driver and cuBLAS (Interop/FakeCuda/fake_cuda.cpp): device
/// discovery, memory, module loading, launches (the stand-in runs a C++ axpy on the argument slots it is given), the
/// GEMM mapping through the actual cublasSgemm_v2 and cublasSgemmStridedBatched calls, every error message, and the
/// release order. The stand-in's state is process-wide, so these tests are one class (xunit runs them one at a time).
/// </summary>
public sealed unsafe partial class FakeDriverTests : IDisposable
{
    private const string AxpySource = """
        extern "C" __global__ void axpy(int n, float a, const float* x, float* y)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] += a * x[i];
        }
        extern "C" __global__ void record_args() { }
        """;

    private FakeCuda? _fake;

    private FakeCuda Fake
    {
        get
        {
            if (_fake is null)
            {
                _fake = FakeCuda.Instance;
                _fake.Reset();
            }
            return _fake;
        }
    }

    public void Dispose()
    {
        if (_fake is null) return;
        // Every test releases what it took.
        Assert.Equal(0, _fake.Get("allocations"));
        Assert.Equal(0, _fake.Get("modules"));
        Assert.Equal(0, _fake.Get("cublas_handles"));
        Assert.Equal(0, _fake.Get("cublaslt_handles"));
        Assert.Equal(0, _fake.Get("cublaslt_objects"));
        Assert.Equal(0, _fake.Get("primary_refcount"));
    }

    [FakeCudaFact]
    public void Open_DescribesTheDevice_AndSetsUpAnFp32CublasHandleInThePrimaryContext()
    {
        Fake.Set("cc_major", 8);
        Fake.Set("cc_minor", 6);
        Fake.Set("driver_version", 12020);
        Fake.Set("device_count", 2);

        using CudaContext context = Fake.Open(ordinal: 1);

        Assert.Equal("Fake GPU 1 (sm_86, driver 12.2)", context.DeviceName);
        Assert.Equal("compute_86", context.Architecture);
        Assert.Equal(1, context.Ordinal);
        Assert.False(context.IsEmulated);
        Assert.Equal(1, Fake.Get("primary_refcount"));
        Assert.Equal(1, Fake.Get("cublas_handles"));
        Assert.Equal(["cuInit", "cuDevicePrimaryCtxRetain", "cublasCreate_v2", "cublasSetMathMode 0", "cublasLtCreate"], Fake.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [FakeCudaFact]
    public void Open_CuInitFails_ThrowsUnavailableWithTheDriverError()
    {
        Fake.Set("init_result", 100);

        var error = Assert.Throws<CudaUnavailableException>(() => Fake.Open());

        Assert.Equal($"the CUDA driver ({Fake.LibraryPath}) did not initialise: cuInit(0) failed: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected", error.Message);
    }

    [FakeCudaFact]
    public void Open_NoDevices_ThrowsUnavailable()
    {
        Fake.Set("device_count", 0);

        var error = Assert.Throws<CudaUnavailableException>(() => Fake.Open());

        Assert.Equal("no CUDA device: driver 12.4 reports none", error.Message);
    }

    [FakeCudaFact]
    public void Open_OrdinalPastTheLastDevice_ThrowsUnavailable()
    {
        Fake.Set("device_count", 2);

        var error = Assert.Throws<CudaUnavailableException>(() => Fake.Open(ordinal: 2));

        Assert.Equal("no CUDA device 2: driver 12.4 reports 2 (ordinals 0 to 1)", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Fake.Open(ordinal: -1));
    }

    [FakeCudaFact]
    public void Open_CublasCreateFails_ThrowsUnavailableAndReleasesTheContext()
    {
        Fake.Set("cublas_create_status", 1);

        var error = Assert.Throws<CudaUnavailableException>(() => Fake.Open());

        Assert.Equal("cublasCreate_v2 failed: CUBLAS_STATUS_NOT_INITIALIZED (1): the library was not initialized", error.Message);
        Assert.Equal(0, Fake.Get("primary_refcount"));
    }

    [FakeCudaFact]
    public void Allocate_IsZeroed_AndCopiesRoundTrip()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable variable = context.Allocate(1000 * sizeof(float));

        float[] read = new float[1000];
        variable.CopyTo<float>(read);
        Assert.All(read, v => Assert.Equal(0f, v)); // the stand-in fills new memory with 0xCD

        float[] data = Enumerable.Range(0, 1000).Select(i => i * 0.5f).ToArray();
        variable.CopyFrom<float>(data);
        variable.CopyTo<float>(read);
        Assert.Equal(data, read);

        int[] tail = new int[10];
        variable.CopyFrom<int>([7, 8, 9], offset: 990);
        variable.CopyTo<int>(tail, offset: 990);
        Assert.Equal([7, 8, 9], tail[..3]);

        variable.Clear();
        variable.CopyTo<float>(read);
        Assert.All(read, v => Assert.Equal(0f, v));
    }

    [FakeCudaFact]
    public void Allocate_OutOfMemory_NamesTheCallTheSizeAndTheError()
    {
        Fake.Set("oom_at", 1 << 20);
        using CudaContext context = Fake.Open();

        var error = Assert.Throws<CudaException>(() => context.Allocate(268435456));

        Assert.Equal("cuMemAlloc_v2(268435456 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", error.Message);
    }

    [FakeCudaFact]
    public void Launch_RunsTheKernelWithIntFloatAndPointerArguments()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("axpy_module", AxpySource);
        GpuKernel kernel = module.GetKernel("axpy");
        using DeviceVariable x = context.Allocate(100 * sizeof(float));
        using DeviceVariable y = context.Allocate(100 * sizeof(float));
        float[] xs = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        x.CopyFrom<float>(xs);
        y.CopyFrom<float>(Enumerable.Repeat(1f, 100).ToArray());

        var arguments = new KernelArguments();
        arguments.Add(100);
        arguments.Add(2.5f);
        arguments.Add(x);
        arguments.Add(y.Pointer);
        kernel.Launch(Dim3.Cover(100, 32), new Dim3(32), ref arguments);

        float[] result = new float[100];
        y.CopyTo<float>(result);
        Assert.Equal(xs.Select(v => 1f + 2.5f * v), result);
        Assert.Same(kernel, module.GetKernel("axpy"));
        Assert.Contains("cuLaunchKernel axpy", Fake.Log);
    }

    [FakeCudaFact]
    public void Launch_PassesEachArgumentSlotUnchanged()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("record", AxpySource);
        Fake.Set("record_count", 4);
        var arguments = new KernelArguments();
        arguments.Add(-7);
        arguments.Add(uint.MaxValue);
        arguments.Add(-0.25f);
        arguments.Add(new DevicePointer(0x7f00_1234_5678));

        module.GetKernel("record_args").Launch(new Dim3(1), new Dim3(1), ref arguments);

        Assert.Equal(0xFFFF_FFF9UL, Fake.RecordedSlot(0));
        Assert.Equal(0xFFFF_FFFFUL, Fake.RecordedSlot(1));
        Assert.Equal((ulong)BitConverter.SingleToUInt32Bits(-0.25f), Fake.RecordedSlot(2));
        Assert.Equal(0x7f00_1234_5678UL, Fake.RecordedSlot(3));
    }

    [FakeCudaFact]
    public void Launch_AllocatesNothing()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("axpy_module", AxpySource);
        GpuKernel kernel = module.GetKernel("axpy");
        using DeviceVariable x = context.Allocate(256 * sizeof(float));
        using DeviceVariable y = context.Allocate(256 * sizeof(float));
        Fake.Set("log_launches", 0);
        void LaunchMany(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var arguments = new KernelArguments();
                arguments.Add(256);
                arguments.Add(1f);
                arguments.Add(x);
                arguments.Add(y);
                kernel.Launch(new Dim3(1), new Dim3(256), ref arguments);
            }
        }
        LaunchMany(10);

        long before = GC.GetAllocatedBytesForCurrentThread();
        LaunchMany(1000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [FakeCudaFact]
    public void GetKernel_Missing_NamesTheModuleAndTheKernel()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("fashion_mlp", AxpySource);

        var error = Assert.Throws<CudaException>(() => module.GetKernel("fused_relu"));

        Assert.Equal("cuModuleGetFunction(module 'fashion_mlp', kernel 'fused_relu') failed: CUDA_ERROR_NOT_FOUND (500): named symbol not found "
            + "(module 'fashion_mlp' has no extern \"C\" __global__ function 'fused_relu')", error.Message);
    }

    [FakeCudaFact]
    public void Launch_Failure_NamesTheKernelGridAndBlock()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("m", AxpySource);
        GpuKernel kernel = module.GetKernel("axpy");
        Fake.Set("launch_result", 701);
        var arguments = new KernelArguments();
        arguments.Add(1);

        var error = Assert.Throws<CudaException>(() => kernel.Launch(new Dim3(4), new Dim3(256), ref arguments));

        Assert.Equal("cuLaunchKernel(kernel 'axpy' of module 'm', grid (4, 1, 1), block (256, 1, 1), 1 arguments) failed: "
            + "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (701): too many resources requested for launch", error.Message);
    }

    [FakeCudaFact]
    public void SynchronizeAfterLaunch_NamesTheFaultingKernel_OtherwiseSynchronizeSaysHowToFindIt()
    {
        using CudaContext context = Fake.Open();
        using GpuModule module = context.LoadModule("m", AxpySource);
        GpuKernel kernel = module.GetKernel("record_args");
        Fake.Set("sync_result", 700);
        var arguments = new KernelArguments();

        kernel.Launch(new Dim3(1), new Dim3(1), ref arguments); // asynchronous: no error yet
        var later = Assert.Throws<CudaException>(context.Synchronize);
        Assert.Equal("cuCtxSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered "
            + "(an earlier asynchronous launch or copy failed; set MODELDSL_CUDA_SYNC=1 to name the kernel)", later.Message);

        context.SynchronizeAfterLaunch = true;
        var named = Assert.Throws<CudaException>(() => kernel.Launch(new Dim3(2), new Dim3(64), ref arguments));
        Assert.Equal("kernel 'record_args' of module 'm' (grid (2, 1, 1), block (64, 1, 1)) failed while running; cuCtxSynchronize failed: "
            + "CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered", named.Message);
        Fake.Set("sync_result", 0);
    }

    [FakeCudaFact]
    public void IsIdle_QueriesTheDefaultStreamWithoutWaiting_AndReportsAnEarlierFault()
    {
        // What NcclCommunicator polls against its deadline, where cuCtxSynchronize would wait forever for a stuck kernel.
        using CudaContext context = Fake.Open();
        Fake.Set("stream_query_result", 600); // CUDA_ERROR_NOT_READY: still running
        Assert.False(context.IsIdle());
        Fake.Set("stream_query_result", 0);
        Assert.True(context.IsIdle());
        Fake.Set("stream_query_result", 700);
        var error = Assert.Throws<CudaException>(() => context.IsIdle());
        Assert.Equal("cuStreamQuery(default stream) failed: CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered "
            + "(an earlier asynchronous launch or copy failed; set MODELDSL_CUDA_SYNC=1 to name the kernel)", error.Message);
        Fake.Set("stream_query_result", 0);
        Assert.DoesNotContain("cuCtxSynchronize", Fake.Log);
    }

    [FakeCudaFact]
    public void LoadModule_JitError_IncludesTheJitLog()
    {
        using CudaContext context = Fake.Open();
        string ptx = FakeCuda.FakePtx(AxpySource + "// FAKE_JIT_ERROR", "bad_jit", "compute_90");

        var error = Assert.Throws<CudaException>(() => context.LoadModule("bad_jit", AxpySource + "// FAKE_JIT_ERROR"));

        Assert.Equal($"cuModuleLoadDataEx(module 'bad_jit', compute_90 PTX of {ptx.Length} bytes) failed: CUDA_ERROR_INVALID_PTX (218): "
            + "a PTX JIT compilation failed; JIT log:\nptxas application ptx input, line 7; fatal   : fake JIT error", error.Message);
    }

    [FakeCudaFact]
    public void LoadModule_PtxNewerThanTheDriver_SaysSo()
    {
        using CudaContext context = Fake.Open();

        var error = Assert.Throws<CudaException>(() => context.LoadModule("new_ptx", AxpySource + "// FAKE_OLD_DRIVER"));

        Assert.Contains("CUDA_ERROR_UNSUPPORTED_PTX_VERSION (222)", error.Message);
        Assert.Contains("update the driver", error.Message);
    }

    [FakeCudaFact]
    public void LoadModule_CompileErrorsPropagateUnchanged()
    {
        using CudaContext context = Fake.Open(compile: (_, name, _) => throw new CudaException($"compile of {name} failed"));

        var error = Assert.Throws<CudaException>(() => context.LoadModule("broken", AxpySource));

        Assert.Equal("compile of broken failed", error.Message);
    }

    [FakeCudaFact]
    public void Sgemm_AllTransposes_MatchTheCpuSgemm_ThroughCublasSgemm()
    {
        using CudaContext context = Fake.Open();
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                const int m = 6, n = 5, k = 4;
                int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
                float[] a = Values(1, (transA ? k : m) * lda), b = Values(2, (transB ? n : k) * ldb), c = Values(3, m * ldc);
                float[] expected = (float[])c.Clone();
                ModelDsl.Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, 1.25f, expected, ldc, maxThreads: 1);

                using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, c);
                context.Sgemm(transA, transB, m, n, k, 0.75f, da.Pointer, lda, db.Pointer, ldb, 1.25f, dc.Pointer, ldc);

                float[] actual = new float[c.Length];
                dc.CopyTo<float>(actual);
                for (int i = 0; i < actual.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
                Assert.EndsWith($"cublasSgemm_v2 {(transB ? 'T' : 'N')}{(transA ? 'T' : 'N')} m={n} n={m} k={k}\n", Fake.Log);
            }
    }

    [FakeCudaFact]
    public void Sgemm_BetaZero_DoesNotReadC_AndEmptyShapesCallNothing()
    {
        using CudaContext context = Fake.Open();
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8];
        using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, [float.NaN, float.NaN, float.NaN, float.NaN]);

        context.Sgemm(false, false, 2, 2, 2, 1f, da.Pointer, 2, db.Pointer, 2, 0f, dc.Pointer, 2);

        float[] c = new float[4];
        dc.CopyTo<float>(c);
        Assert.Equal([19f, 22f, 43f, 50f], c);
        string log = Fake.Log;
        context.Sgemm(false, false, 0, 2, 2, 1f, da.Pointer, 2, db.Pointer, 2, 0f, dc.Pointer, 2);
        Assert.Equal(log, Fake.Log);
        Assert.Throws<ArgumentOutOfRangeException>(() => context.Sgemm(false, false, 2, 2, 3, 1f, da.Pointer, 2, db.Pointer, 2, 0f, dc.Pointer, 2));
        Assert.Throws<ArgumentNullException>(() => context.Sgemm(false, false, 2, 2, 2, 1f, da.Pointer, 2, db.Pointer, 2, 0f, default, 2));
    }

    [FakeCudaFact]
    public void Sgemm_CublasError_NamesTheCallTheShapeAndTheStatus()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable d = context.Allocate(64);
        Fake.Set("sgemm_status", 7);

        var error = Assert.Throws<CudaException>(() => context.Sgemm(true, false, 2, 2, 2, 1f, d.Pointer, 2, d.Pointer, 2, 0f, d.Pointer, 2));

        Assert.Equal("cublasSgemm_v2(row-major transA=True, transB=False, m=2, n=2, k=2, lda=2, ldb=2, ldc=2) failed: "
            + "CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument", error.Message);
    }

    [FakeCudaFact]
    public void SgemmStridedBatched_AllTransposes_MatchTheCpuSgemmPerMatrix_InOneCublasCall()
    {
        using CudaContext context = Fake.Open();
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                // A is shared (stride 0) when not transposed, as conv2d's weight is; B and C are padded per matrix.
                const int m = 6, n = 5, k = 4, batch = 3;
                int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
                int sizeA = (transA ? k : m) * lda, sizeB = (transB ? n : k) * ldb, sizeC = m * ldc;
                long strideA = transA ? sizeA + 3 : 0, strideB = sizeB + 1, strideC = sizeC + 2;
                float[] a = Values(1, (int)(strideA * (batch - 1)) + sizeA), b = Values(2, (int)strideB * batch), c = Values(3, (int)strideC * batch);
                float[] expected = (float[])c.Clone();
                for (int i = 0; i < batch; i++)
                    ModelDsl.Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, 0.75f, a.AsSpan((int)(i * strideA)), lda, b.AsSpan((int)(i * strideB)), ldb,
                        1.25f, expected.AsSpan((int)(i * strideC)), ldc, maxThreads: 1);

                using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, c);
                string before = Fake.Log;
                context.SgemmStridedBatched(transA, transB, m, n, k, 0.75f, da.Pointer, lda, strideA, db.Pointer, ldb, strideB, 1.25f, dc.Pointer, ldc, strideC, batch);

                float[] actual = new float[c.Length];
                dc.CopyTo<float>(actual);
                for (int i = 0; i < actual.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
                // The operands and their strides swap together (ColumnMajorGemm); the whole batch is one call.
                Assert.Equal($"cublasSgemmStridedBatched {(transB ? 'T' : 'N')}{(transA ? 'T' : 'N')} m={n} n={m} k={k} "
                    + $"strideA={strideB} strideB={strideA} strideC={strideC} batch={batch}\n", Fake.Log[before.Length..]);
            }
    }

    [FakeCudaFact]
    public void SgemmStridedBatched_ChecksItsArguments_AndAnEmptyBatchCallsNothing()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable d = context.Allocate(64 * sizeof(float));
        string log = Fake.Log;

        context.SgemmStridedBatched(false, false, 2, 2, 2, 1f, d.Pointer, 2, 4, d.Pointer, 2, 4, 0f, d.Pointer, 2, 4, batchCount: 0);
        context.SgemmStridedBatched(false, false, 0, 2, 2, 1f, d.Pointer, 2, 4, d.Pointer, 2, 4, 0f, d.Pointer, 2, 4, batchCount: 3);
        Assert.Equal(log, Fake.Log);

        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmStridedBatched(false, false, 2, 2, 3, 1f, d.Pointer, 2, 6, d.Pointer, 2, 6, 0f, d.Pointer, 2, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmStridedBatched(false, false, 2, 2, 2, 1f, d.Pointer, 2, 4, d.Pointer, 2, 4, 0f, d.Pointer, 2, 4, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmStridedBatched(false, false, 2, 2, 2, 1f, d.Pointer, 2, -4, d.Pointer, 2, 4, 0f, d.Pointer, 2, 4, 2));
        Assert.Throws<ArgumentNullException>(() => context.SgemmStridedBatched(false, false, 2, 2, 2, 1f, d.Pointer, 2, 4, d.Pointer, 2, 4, 0f, default, 2, 4, 2));
        // C matrices of 2×3 with ldc 4 span 7 elements: a stride of 6 would have two matrices write element 6.
        var overlap = Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmStridedBatched(false, false, 2, 3, 2, 1f, d.Pointer, 2, 4, d.Pointer, 3, 6, 0f, d.Pointer, 4, 6, 2));
        Assert.Equal("strideC", overlap.ParamName);
        Assert.Contains("the batch's C matrices overlap: each spans 7 elements (2×3, leading dimension 4)", overlap.Message);
        context.SgemmStridedBatched(false, false, 2, 3, 2, 1f, d.Pointer, 2, 0, d.Pointer, 3, 6, 0f, d.Pointer, 4, 7, 2);  // 7 is enough; A shared
        context.SgemmStridedBatched(false, false, 2, 3, 2, 1f, d.Pointer, 2, 0, d.Pointer, 3, 6, 0f, d.Pointer, 4, 0, 1);  // one matrix: any stride
        Assert.Equal(log + "cublasSgemmStridedBatched NN m=3 n=2 k=2 strideA=6 strideB=0 strideC=7 batch=2\n"
            + "cublasSgemmStridedBatched NN m=3 n=2 k=2 strideA=6 strideB=0 strideC=0 batch=1\n", Fake.Log);
    }

    [FakeCudaFact]
    public void SgemmStridedBatched_CublasError_NamesTheCallTheShapeTheStridesAndTheStatus()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable d = context.Allocate(64 * sizeof(float));
        Fake.Set("sgemm_batched_status", 7);

        var error = Assert.Throws<CudaException>(() => context.SgemmStridedBatched(false, true, 2, 2, 2, 1f, d.Pointer, 2, 0, d.Pointer, 2, 4, 0f, d.Pointer, 2, 4, 8));

        Assert.Equal("cublasSgemmStridedBatched(row-major transA=False, transB=True, m=2, n=2, k=2, lda=2, strideA=0, ldb=2, strideB=4, "
            + "ldc=2, strideC=4, batchCount=8) failed: CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument", error.Message);
    }

    [FakeCudaFact]
    public void Dispose_FreesMemoryThenModulesThenCublasLtAndCublasThenTheContext()
    {
        CudaContext context = Fake.Open();
        DeviceVariable forgotten = context.Allocate(16);
        GpuModule module = context.LoadModule("m", AxpySource);
        GpuKernel kernel = module.GetKernel("axpy");
        string before = Fake.Log;

        context.Dispose();

        Assert.Equal(["cuCtxSynchronize", "cuMemFree_v2", "cuModuleUnload", "cublasLtDestroy", "cublasDestroy_v2", "cuDevicePrimaryCtxRelease_v2"],
            Fake.Log[before.Length..].Split('\n', StringSplitOptions.RemoveEmptyEntries));
        forgotten.Dispose(); // already freed with the context: a no-op
        module.Dispose();
        context.Dispose();
        var arguments = new KernelArguments();
        Assert.Throws<ObjectDisposedException>(() => kernel.Launch(new Dim3(1), new Dim3(1), ref arguments));
        Assert.Throws<ObjectDisposedException>(() => context.Allocate(4));
        Assert.Throws<ObjectDisposedException>(() => context.LoadModule("m", AxpySource));
        Assert.Equal(0, Fake.Get("current"));
    }

    [FakeCudaFact]
    public void DisposedVariablesAndModules_AreReleasedAtOnce()
    {
        using CudaContext context = Fake.Open();
        DeviceVariable variable = context.Allocate(16);
        GpuModule module = context.LoadModule("m", AxpySource);

        variable.Dispose();
        module.Dispose();

        Assert.Equal(0, Fake.Get("allocations"));
        Assert.Equal(0, Fake.Get("modules"));
        Assert.Throws<ObjectDisposedException>(() => variable.Pointer);
        Assert.Throws<ObjectDisposedException>(() => module.GetKernel("axpy"));
    }

    [FakeCudaFact]
    public void OtherThreads_GetTheContextMadeCurrent_AndReleasesLeaveTheirCurrentContextAlone()
    {
        using CudaContext context = Fake.Open();
        GpuModule module = context.LoadModule("m", AxpySource);
        float[] read = new float[4];
        long currentAfterRelease = -1;

        var worker = new Thread(() =>
        {
            using (DeviceVariable variable = context.Allocate(16)) variable.CopyTo<float>(read); // needs the context current here
            context.Driver.cuCtxSetCurrent(0);
            module.Dispose(); // pushes the context for the unload, then pops it
            currentAfterRelease = Fake.Get("current");
        });
        worker.Start();
        worker.Join();

        Assert.Equal(new float[4], read);
        Assert.Equal(0, currentAfterRelease);
        Assert.Equal(0, Fake.Get("modules"));
        context.SetCurrent();
        Assert.Equal(1, Fake.Get("current"));
    }

    [FakeCudaFact]
    public void AfterDispose_AThreadThatUsedTheContextGetsObjectDisposed()
    {
        CudaContext context = Fake.Open();
        using var used = new ManualResetEventSlim();
        using var disposed = new ManualResetEventSlim();
        Exception? error = null;
        var worker = new Thread(() =>
        {
            context.Allocate(16).Dispose(); // the context is now current here, and cached as such
            used.Set();
            disposed.Wait();
            error = Record.Exception(() => context.Allocate(16));
        });
        worker.Start();
        used.Wait();
        context.Dispose();
        disposed.Set();
        worker.Join();

        Assert.IsType<ObjectDisposedException>(error);
    }

    [NvrtcFact]
    public void RealNvrtcPtx_LoadsAndItsEntryIsFound()
    {
        if (TestRequirements.GxxSkipReason is { } reason) throw new InvalidOperationException(reason);
        using CudaContext context = Fake.Open(compile: NvrtcCompiler.CompileToPtx);
        using GpuModule module = context.LoadModule("axpy_nvrtc", AxpySource);
        using DeviceVariable x = Upload(context, [1, 2, 3]), y = Upload(context, [10, 20, 30]);

        var arguments = new KernelArguments();
        arguments.Add(3);
        arguments.Add(2f);
        arguments.Add(x);
        arguments.Add(y);
        module.GetKernel("axpy").Launch(new Dim3(1), new Dim3(32), ref arguments);

        float[] result = new float[3];
        y.CopyTo<float>(result);
        Assert.Equal([12f, 24f, 36f], result);
    }

    [FakeCudaFact]
    public void Tf32_SetsTheCublasMathMode_OnlyWhenItChanges()
    {
        using CudaContext context = Fake.Open();
        Assert.Contains("cublasSetMathMode 0\n", Fake.Log); // FP32 when the handle is made

        context.Tf32 = true;
        Assert.EndsWith("cublasSetMathMode 3\n", Fake.Log); // CUBLAS_TF32_TENSOR_OP_MATH
        int calls = Fake.Log.Split('\n').Count(l => l.StartsWith("cublasSetMathMode", StringComparison.Ordinal));
        context.Tf32 = true;
        Assert.Equal(calls, Fake.Log.Split('\n').Count(l => l.StartsWith("cublasSetMathMode", StringComparison.Ordinal)));

        using DeviceVariable a = Upload(context, [2f]), b = Upload(context, [3f]), c = Upload(context, [0f]);
        context.Sgemm(false, false, 1, 1, 1, 1f, a.Pointer, 1, b.Pointer, 1, 0f, c.Pointer, 1);
        Assert.EndsWith("cublasSetMathMode 3\ncublasSgemm_v2 NN m=1 n=1 k=1\n", Fake.Log);

        context.Tf32 = false;
        Assert.EndsWith("cublasSetMathMode 0\n", Fake.Log);
    }

    [FakeCudaFact]
    public void GemmBf16_AllTransposes_GoThroughCublasGemmEx_WithBf16InputsAndFp32Compute()
    {
        using CudaContext context = Fake.Open();
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                const int m = 6, n = 5, k = 4;
                int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
                ushort[] a = Values(1, (transA ? k : m) * lda).Select(BFloat16.Round).ToArray();
                ushort[] b = Values(2, (transB ? n : k) * ldb).Select(BFloat16.Round).ToArray();
                float[] c = Values(3, m * ldc), expected = (float[])c.Clone();
                ModelDsl.Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, 0.75f, a.Select(BFloat16.Widen).ToArray(), lda,
                    b.Select(BFloat16.Widen).ToArray(), ldb, 1.25f, expected, ldc, maxThreads: 1);

                using DeviceVariable da = context.Allocate(2L * a.Length), db = context.Allocate(2L * b.Length), dc = Upload(context, c);
                da.CopyFrom<ushort>(a);
                db.CopyFrom<ushort>(b);
                context.GemmBf16(transA, transB, m, n, k, 0.75f, da.Pointer, lda, db.Pointer, ldb, 1.25f, dc.Pointer, ldc);

                float[] actual = new float[c.Length];
                dc.CopyTo<float>(actual);
                for (int i = 0; i < actual.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
                Assert.EndsWith($"cublasGemmEx {(transB ? 'T' : 'N')}{(transA ? 'T' : 'N')} m={n} n={m} k={k} A=16BF B=16BF C=32F compute=32F algo=-1\n", Fake.Log);
            }
    }

    // A product whose destination is a BF16 activation: C is CUDA_R_16BF, read (beta) and written in BF16, the FP32 sum
    // rounded once to nearest even.
    [FakeCudaFact]
    public void GemmBf16_WithBf16C_PassesCuda_R_16BF_ForC_AndRoundsTheFp32Sum()
    {
        using CudaContext context = Fake.Open();
        const int m = 6, n = 5, k = 4;
        int lda = k, ldb = n, ldc = n + 1;
        ushort[] a = Values(1, m * lda).Select(BFloat16.Round).ToArray();
        ushort[] b = Values(2, k * ldb).Select(BFloat16.Round).ToArray();
        ushort[] c = Values(3, m * ldc).Select(BFloat16.Round).ToArray();
        float[] expected = c.Select(BFloat16.Widen).ToArray();
        ModelDsl.Runtime.Cpu.Sgemm.Multiply(false, false, m, n, k, 0.75f, a.Select(BFloat16.Widen).ToArray(), lda,
            b.Select(BFloat16.Widen).ToArray(), ldb, 1.25f, expected, ldc, maxThreads: 1);

        using DeviceVariable da = context.Allocate(2L * a.Length), db = context.Allocate(2L * b.Length), dc = context.Allocate(2L * c.Length);
        da.CopyFrom<ushort>(a);
        db.CopyFrom<ushort>(b);
        dc.CopyFrom<ushort>(c);
        context.GemmBf16(false, false, m, n, k, 0.75f, da.Pointer, lda, db.Pointer, ldb, 1.25f, dc.Pointer, ldc, bf16C: true);

        ushort[] actual = new ushort[c.Length];
        dc.CopyTo<ushort>(actual);
        for (int r = 0; r < m; r++)
            for (int col = 0; col < ldc; col++)
            {
                int i = r * ldc + col;
                if (col < n) Assert.True(Math.Abs(BFloat16.Widen(actual[i]) - BFloat16.Quantize(expected[i])) <= Math.Abs(expected[i]) * 0.0079f, $"C[{r},{col}]"); // one BF16 step of the FP32 sum
                else Assert.Equal(c[i], actual[i]); // the padding between rows is not written
            }
        Assert.EndsWith("cublasGemmEx NN m=5 n=6 k=4 A=16BF B=16BF C=16BF compute=32F algo=-1\n", Fake.Log);
    }

    [FakeCudaFact]
    public void GemmBf16_Failure_NamesCublasGemmEx()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable a = context.Allocate(8), c = context.Allocate(16);
        Fake.Set("gemm_ex_status", 15);
        var error = Assert.Throws<CudaException>(() => context.GemmBf16(false, false, 2, 2, 2, 1f, a.Pointer, 2, a.Pointer, 2, 0f, c.Pointer, 2));
        Assert.StartsWith("cublasGemmEx(BF16 A and B, FP32 C, FP32 compute; row-major transA=False, transB=False, m=2, n=2, k=2, lda=2, ldb=2, ldc=2) failed: CUBLAS_STATUS_NOT_SUPPORTED (15)", error.Message);
    }

    private static DeviceVariable Upload(CudaContext context, float[] values)
    {
        DeviceVariable variable = context.Allocate(values.Length * sizeof(float));
        variable.CopyFrom<float>(values);
        return variable;
    }

    private static float[] Values(int seed, int length)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
