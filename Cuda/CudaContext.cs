using System;
using System.Collections.Generic;
using System.Threading;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda;

/// <summary>
/// A real NVIDIA GPU through the CUDA driver API, NVRTC and cuBLAS (ManagedCuda's <c>CudaContext</c>, written against
/// our own thin binding in <c>Interop/</c> because ManagedCuda is not in the package registry this project builds
/// from; switching is mechanical: the calls are the same driver calls under the same names).
/// </summary>
/// <remarks>
/// <para>Runs in the device's primary context (the one the CUDA runtime and so cuBLAS use), made current on each
/// thread at its first call there. Kernels are compiled by NVRTC for <see cref="Architecture"/> and cached on disk
/// (<see cref="PtxCache"/>), then loaded with <c>cuModuleLoadDataEx</c>; launches go to the default stream.</para>
/// <para>Every driver and cuBLAS call is checked; a failure throws <see cref="CudaException"/> naming the call, the
/// error and the driver's text, e.g. <c>cuMemAlloc_v2(268435456 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of
/// memory</c>. Launches are asynchronous: a fault inside a kernel surfaces at the next synchronising call, unless
/// <c>MODELDSL_CUDA_SYNC=1</c>, which synchronises after every launch so the error names the kernel.</para>
/// <para>Dispose frees, in order: outstanding device memory, modules, the cuBLAS handle, the primary context.</para>
/// </remarks>
public sealed unsafe class CudaContext : GpuContext
{
    private const int JitLogBytes = 16 * 1024;

    private static long s_lastId;
    [ThreadStatic] private static long t_currentId;

    private readonly long _id = Interlocked.Increment(ref s_lastId);
    private readonly PrimaryContextHandle _context;
    private readonly Cublas _cublas;
    private readonly CublasHandle _cublasHandle;
    private readonly PtxCache _ptx;
    private readonly Dictionary<ulong, long> _allocations = [];
    private readonly List<CudaDeviceModule> _modules = [];
    private bool _disposed;

    private CudaContext(CudaDriver driver, CudaToolchain toolchain, int ordinal, int device, string deviceName)
    {
        Driver = driver;
        _cublas = toolchain.Cublas;
        _ptx = toolchain.Ptx;
        Ordinal = ordinal;
        Architecture = toolchain.Architecture;
        DeviceName = deviceName;
        SynchronizeAfterLaunch = Environment.GetEnvironmentVariable("MODELDSL_CUDA_SYNC") == "1";
        _context = PrimaryContextHandle.Retain(driver, device);
        try
        {
            MakeCurrent();
            _cublasHandle = CreateCublasHandle();
        }
        catch
        {
            _context.Dispose();
            throw;
        }
    }

    /// <summary><c>NVIDIA H100 80GB HBM3 (sm_90, driver 12.4)</c>.</summary>
    public override string DeviceName { get; }

    public override bool IsEmulated => false;

    /// <summary>The device ordinal this context was opened on.</summary>
    public int Ordinal { get; }

    /// <summary>What NVRTC compiles for: <c>compute_{major}{minor}</c> of the device, or the newest NVRTC supports below it.</summary>
    public string Architecture { get; }

    internal CudaDriver Driver { get; }

    /// <summary>Synchronise after every launch (<c>MODELDSL_CUDA_SYNC=1</c>) so a kernel's own fault names it.</summary>
    internal bool SynchronizeAfterLaunch { get; set; }

    /// <summary>The system's driver, NVRTC and cuBLAS; the first missing piece is the exception's reason.</summary>
    internal static CudaContext Create(int ordinal) =>
        Create(ordinal, CudaDriver.Shared ?? throw new CudaUnavailableException(CudaDriver.NotFoundMessage), SystemToolchain);

    /// <summary>
    /// Opens device <paramref name="ordinal"/> of <paramref name="driver"/>; <paramref name="toolchain"/> gets the
    /// device's compute capability once the device is known, so a machine without a GPU reports that first.
    /// </summary>
    internal static CudaContext Create(int ordinal, CudaDriver driver, Func<int, int, CudaToolchain> toolchain)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        CUresult init = driver.cuInit(0);
        if (init != CUresult.CUDA_SUCCESS)
            throw new CudaUnavailableException($"the CUDA driver ({driver.Library}) did not initialise: {driver.Error("cuInit(0)", init).Message}");

        int version, count, device, major, minor;
        driver.Check(driver.cuDriverGetVersion(&version), "cuDriverGetVersion");
        string driverVersion = CudaDriver.FormatVersion(version);
        driver.Check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (count == 0) throw new CudaUnavailableException($"no CUDA device: driver {driverVersion} reports none");
        if (ordinal >= count)
            throw new CudaUnavailableException($"no CUDA device {ordinal}: driver {driverVersion} reports {count} (ordinals 0 to {count - 1})");

        driver.Check(driver.cuDeviceGet(&device, ordinal), $"cuDeviceGet({ordinal})");
        byte* name = stackalloc byte[256];
        driver.Check(driver.cuDeviceGetName(name, 256, device), $"cuDeviceGetName(device {ordinal})");
        driver.Check(driver.cuDeviceGetAttribute(&major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
            $"cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR, device {ordinal})");
        driver.Check(driver.cuDeviceGetAttribute(&minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
            $"cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR, device {ordinal})");

        string deviceName = $"{NativeLibraries.FromUtf8(name)} (sm_{major}{minor}, driver {driverVersion})";
        return new CudaContext(driver, toolchain(major, minor), ordinal, device, deviceName);
    }

    private static CudaToolchain SystemToolchain(int major, int minor)
    {
        if (!NvrtcCompiler.IsAvailable(out string reason)) throw new CudaUnavailableException(reason);
        Cublas cublas = Cublas.Shared ?? throw new CudaUnavailableException(Cublas.UnavailableReason);
        return new CudaToolchain(cublas, PtxCache.ForNvrtc(), NvrtcCompiler.ArchitectureFor(major, minor));
    }

    private CublasHandle CreateCublasHandle()
    {
        var handle = new CublasHandle(Driver, _cublas);
        nint value;
        cublasStatus_t status = _cublas.cublasCreate_v2(&value);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
        {
            handle.Dispose();
            throw new CudaUnavailableException(_cublas.Error("cublasCreate_v2", status).Message);
        }
        handle.Attach(value, _context);
        try
        {
            // FP32 stays FP32: the CPU backend is the parity reference (see Cublas).
            _cublas.Check(_cublas.cublasSetMathMode(value, cublasMath_t.CUBLAS_DEFAULT_MATH), "cublasSetMathMode(CUBLAS_DEFAULT_MATH)");
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return handle;
    }

    /// <summary>
    /// Makes this context current on the calling thread (done automatically at a thread's first call; needed again only
    /// if other code changes the thread's current CUDA context).
    /// </summary>
    public void SetCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        t_currentId = 0;
        MakeCurrent();
    }

    /// <summary>Makes the context current unless this thread's last call already did (one thread-static read).</summary>
    internal void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this); // first: another thread may still have this id cached
        if (t_currentId == _id) return;
        Driver.Check(Driver.cuCtxSetCurrent(_context.DangerousGetHandle()), "cuCtxSetCurrent");
        t_currentId = _id;
    }

    public override GpuModule LoadModule(string moduleName, string cudaSource)
    {
        ArgumentException.ThrowIfNullOrEmpty(moduleName);
        ArgumentNullException.ThrowIfNull(cudaSource);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string ptx = _ptx.GetOrCompile(cudaSource, moduleName, Architecture);
        MakeCurrent();

        byte[] image = NativeLibraries.ToUtf8(ptx);
        byte[] errorLog = new byte[JitLogBytes];
        byte[] infoLog = new byte[JitLogBytes];
        CUjit_option* options = stackalloc CUjit_option[4];
        void** values = stackalloc void*[4];
        var module = new CudaModuleHandle(Driver);
        CUresult result;
        nint value;
        fixed (byte* imagePointer = image, errorPointer = errorLog, infoPointer = infoLog)
        {
            options[0] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER;
            values[0] = errorPointer;
            options[1] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
            values[1] = (void*)(nuint)JitLogBytes; // an unsigned int option travels in the pointer itself
            options[2] = CUjit_option.CU_JIT_INFO_LOG_BUFFER;
            values[2] = infoPointer;
            options[3] = CUjit_option.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES;
            values[3] = (void*)(nuint)JitLogBytes;
            result = Driver.cuModuleLoadDataEx(&value, imagePointer, 4, options, values);
        }
        if (result != CUresult.CUDA_SUCCESS)
        {
            module.Dispose();
            throw ModuleLoadError(moduleName, ptx.Length, result, CString(errorLog));
        }
        module.Attach(value, _context);
        var loaded = new CudaDeviceModule(this, moduleName, module);
        _modules.Add(loaded);
        return loaded;
    }

    private CudaException ModuleLoadError(string moduleName, int ptxBytes, CUresult result, string jitLog)
    {
        string message = Driver.Error($"cuModuleLoadDataEx(module '{moduleName}', {Architecture} PTX of {ptxBytes} bytes)", result).Message;
        if (result == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
            message += " (the PTX comes from a newer NVRTC than this driver can load: update the driver, or use the NVRTC of the driver's CUDA version)";
        return new CudaException(jitLog.Length > 0 ? $"{message}; JIT log:\n{jitLog}" : message);
    }

    private static string CString(byte[] text)
    {
        int length = Array.IndexOf(text, (byte)0);
        return System.Text.Encoding.UTF8.GetString(text, 0, length < 0 ? text.Length : length).TrimEnd();
    }

    internal void Forget(CudaDeviceModule module) => _modules.Remove(module);

    public override DeviceVariable Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        MakeCurrent();
        nuint size = (nuint)Math.Max(bytes, 1); // cuMemAlloc rejects 0 bytes; an empty variable still gets an address
        ulong address;
        CUresult result = Driver.cuMemAlloc_v2(&address, size);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemAlloc_v2({bytes} bytes)", result);
        result = Driver.cuMemsetD8_v2(address, 0, size);
        if (result != CUresult.CUDA_SUCCESS)
        {
            Driver.cuMemFree_v2(address);
            throw Driver.Error($"cuMemsetD8_v2({new DevicePointer(address)}, 0, {bytes} bytes)", result);
        }
        _allocations.Add(address, bytes);
        return new DeviceVariable(this, new DevicePointer(address), bytes);
    }

    /// <summary>
    /// Frees an allocation of this context (a no-op once the context is disposed, which freed it). Called from
    /// <see cref="DeviceVariable.Dispose"/>, so it does not throw: a failed free means the context already holds a sticky
    /// error, which the next checked call reports.
    /// </summary>
    internal override void Free(DevicePointer pointer)
    {
        if (_disposed || !_allocations.Remove(pointer.Address)) return;
        MakeCurrent();
        Driver.cuMemFree_v2(pointer.Address);
    }

    internal override void CopyToDevice(DevicePointer destination, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        MakeCurrent();
        CUresult result;
        fixed (byte* pointer = source) result = Driver.cuMemcpyHtoD_v2(destination.Address, pointer, (nuint)source.Length);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemcpyHtoD_v2({destination}, {source.Length} bytes)", result);
    }

    internal override void CopyToHost(Span<byte> destination, DevicePointer source)
    {
        if (destination.IsEmpty) return;
        MakeCurrent();
        CUresult result;
        fixed (byte* pointer = destination) result = Driver.cuMemcpyDtoH_v2(pointer, source.Address, (nuint)destination.Length);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemcpyDtoH_v2({source}, {destination.Length} bytes)", result);
    }

    internal override void Clear(DevicePointer destination, long bytes)
    {
        if (bytes == 0) return;
        MakeCurrent();
        CUresult result = Driver.cuMemsetD8_v2(destination.Address, 0, (nuint)bytes);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemsetD8_v2({destination}, 0, {bytes} bytes)", result);
    }

    /// <summary>
    /// Row-major GEMM with the CPU <c>Sgemm.Multiply</c>'s argument rules, as <c>cublasSgemm_v2</c> on the transposes
    /// (<see cref="ColumnMajorGemm"/>). In FP32 math mode, never TF32. When beta is 0, C is not read.
    /// </summary>
    public override void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc)
    {
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        CheckOperands(k, alpha, a, b, c);

        MakeCurrent();
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        cublasStatus_t status = _cublas.cublasSgemm_v2(_cublasHandle.DangerousGetHandle(), g.TransA, g.TransB, g.M, g.N, g.K,
            &alpha, g.A.Address, g.Lda, g.B.Address, g.Ldb, &beta, g.C.Address, g.Ldc);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw _cublas.Error($"cublasSgemm_v2(row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc})", status);
    }

    /// <summary>
    /// A strided batch of row-major GEMMs (<see cref="GpuContext.SgemmStridedBatched"/>) as one
    /// <c>cublasSgemmStridedBatched</c> on the transposes (<see cref="ColumnMajorGemm"/>), checked like <see cref="Sgemm"/>
    /// and for strides that would make the C matrices overlap. FP32 math mode; when beta is 0, C is not read.
    /// </summary>
    public override void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB, float beta,
        DevicePointer c, int ldc, long strideC, int batchCount)
    {
        if (!CheckStridedBatched(transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC, batchCount)) return;
        CheckOperands(k, alpha, a, b, c);

        MakeCurrent();
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
        cublasStatus_t status = _cublas.cublasSgemmStridedBatched(_cublasHandle.DangerousGetHandle(), g.TransA, g.TransB, g.M, g.N, g.K,
            &alpha, g.A.Address, g.Lda, g.StrideA, g.B.Address, g.Ldb, g.StrideB, &beta, g.C.Address, g.Ldc, g.StrideC, batchCount);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw _cublas.Error($"cublasSgemmStridedBatched(row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, strideA={strideA}, "
                + $"ldb={ldb}, strideB={strideB}, ldc={ldc}, strideC={strideC}, batchCount={batchCount})", status);
    }

    /// <summary>C is always written; A and B are read unless k or alpha is 0 (then cuBLAS only scales C).</summary>
    private static void CheckOperands(int k, float alpha, DevicePointer a, DevicePointer b, DevicePointer c)
    {
        if (c.IsNull) throw new ArgumentNullException(nameof(c));
        if (k != 0 && alpha != 0f && (a.IsNull || b.IsNull)) throw new ArgumentNullException(a.IsNull ? nameof(a) : nameof(b));
    }

    public override void Synchronize()
    {
        MakeCurrent();
        CUresult result = Driver.cuCtxSynchronize();
        if (result == CUresult.CUDA_SUCCESS) return;
        string message = Driver.Error("cuCtxSynchronize", result).Message;
        throw new CudaException(SynchronizeAfterLaunch
            ? message
            : message + " (an earlier asynchronous launch or copy failed; set MODELDSL_CUDA_SYNC=1 to name the kernel)");
    }

    /// <summary><c>cuStreamQuery</c> on the default stream, where every launch, copy and NCCL collective of this context goes.</summary>
    public override bool IsIdle()
    {
        MakeCurrent();
        if (Driver.cuStreamQuery == null)
        {
            Synchronize(); // a driver without cuStreamQuery (the tests' stand-in): wait instead
            return true;
        }
        CUresult result = Driver.cuStreamQuery(0);
        if (result == CUresult.CUDA_ERROR_NOT_READY) return false;
        if (result == CUresult.CUDA_SUCCESS) return true;
        string message = Driver.Error("cuStreamQuery(default stream)", result).Message;
        throw new CudaException(SynchronizeAfterLaunch
            ? message
            : message + " (an earlier asynchronous launch or copy failed; set MODELDSL_CUDA_SYNC=1 to name the kernel)");
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed || !disposing) return; // no finalizer: the handles release themselves if the context is dropped
        try
        {
            // Best effort, in dependency order; errors are not reported from Dispose (checked calls reported them earlier).
            if (Driver.cuCtxSetCurrent(_context.DangerousGetHandle()) == CUresult.CUDA_SUCCESS)
            {
                Driver.cuCtxSynchronize();
                foreach (ulong address in _allocations.Keys) Driver.cuMemFree_v2(address);
            }
            _allocations.Clear();
            foreach (CudaDeviceModule module in _modules.ToArray()) module.Dispose();
            _cublasHandle.Dispose();
            Driver.cuCtxSetCurrent(0);
        }
        finally
        {
            t_currentId = 0;
            _disposed = true;
            _context.Dispose();
        }
    }
}

/// <summary>What a context needs besides the driver: cuBLAS, the PTX compiler (behind its cache) and the architecture to compile for.</summary>
internal sealed record CudaToolchain(Cublas Cublas, PtxCache Ptx, string Architecture);
