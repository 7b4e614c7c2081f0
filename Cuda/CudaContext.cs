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
    private readonly CublasLt _cublasLt;
    private readonly CublasLtHandle _cublasLtHandle;
    private CudaStreamHandle? _captureStream; // created at the first graph capture
    private nint _stream; // where launches and GEMMs go: 0 (the default stream), or the capture stream during a capture
    private DeviceVariable? _cublasLtWorkspace;
    private readonly PtxCache _ptx;
    private readonly Dictionary<ulong, long> _allocations = [];
    private readonly List<CudaDeviceModule> _modules = [];
    private bool _disposed;

    private CudaContext(CudaDriver driver, CudaToolchain toolchain, int ordinal, int device, string deviceName)
    {
        Driver = driver;
        _cublas = toolchain.Cublas;
        _cublasLt = toolchain.CublasLt;
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
            _cublasLtHandle = CreateCublasLtHandle();
        }
        catch
        {
            _cublasHandle?.Dispose();
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

    /// <summary>The stream launches go to: the default stream (0), or the capture stream while a graph is captured.</summary>
    internal nint Stream => _stream;

    /// <summary>Launches and library calls recorded by the capture in progress.</summary>
    internal int CapturedNodes { get; set; }

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
        CublasLt cublasLt = CublasLt.Shared ?? throw new CudaUnavailableException(CublasLt.UnavailableReason);
        return new CudaToolchain(cublas, cublasLt, PtxCache.ForNvrtc(), NvrtcCompiler.ArchitectureFor(major, minor));
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

    private CublasLtHandle CreateCublasLtHandle()
    {
        var handle = new CublasLtHandle(Driver, _cublasLt);
        nint value;
        cublasStatus_t status = _cublasLt.cublasLtCreate(&value);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
        {
            handle.Dispose();
            throw new CudaUnavailableException(_cublasLt.Error("cublasLtCreate", status).Message);
        }
        handle.Attach(value, _context);
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
        if (IsCapturing) throw CaptureRefused($"cuMemAlloc_v2({bytes} bytes)");
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
        if (IsCapturing) throw CaptureRefused($"cuMemcpyHtoD_v2({destination}, {source.Length} bytes)");
        MakeCurrent();
        CUresult result;
        fixed (byte* pointer = source) result = Driver.cuMemcpyHtoD_v2(destination.Address, pointer, (nuint)source.Length);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemcpyHtoD_v2({destination}, {source.Length} bytes)", result);
    }

    internal override void CopyToHost(Span<byte> destination, DevicePointer source)
    {
        if (destination.IsEmpty) return;
        if (IsCapturing) throw CaptureRefused($"cuMemcpyDtoH_v2({source}, {destination.Length} bytes)");
        MakeCurrent();
        CUresult result;
        fixed (byte* pointer = destination) result = Driver.cuMemcpyDtoH_v2(pointer, source.Address, (nuint)destination.Length);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemcpyDtoH_v2({source}, {destination.Length} bytes)", result);
    }

    internal override void Clear(DevicePointer destination, long bytes)
    {
        if (bytes == 0) return;
        if (IsCapturing) throw CaptureRefused($"cuMemsetD8_v2({destination}, 0, {bytes} bytes)");
        MakeCurrent();
        CUresult result = Driver.cuMemsetD8_v2(destination.Address, 0, (nuint)bytes);
        if (result != CUresult.CUDA_SUCCESS) throw Driver.Error($"cuMemsetD8_v2({destination}, 0, {bytes} bytes)", result);
    }

    /// <summary>
    /// Row-major GEMM with the CPU <c>Sgemm.Multiply</c>'s argument rules, as <c>cublasSgemm_v2</c> on the transposes
    /// (<see cref="ColumnMajorGemm"/>). In FP32 math mode unless <see cref="GpuContext.Tf32"/> is set. When beta is 0, C is not read.
    /// </summary>
    public override void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc)
    {
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        CheckOperands(k, alpha, a, b, c);

        MakeCurrent();
        if (IsCapturing) CapturedNodes++;
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        cublasStatus_t status = _cublas.cublasSgemm_v2(_cublasHandle.DangerousGetHandle(), g.TransA, g.TransB, g.M, g.N, g.K,
            &alpha, g.A.Address, g.Lda, g.B.Address, g.Ldb, &beta, g.C.Address, g.Ldc);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw _cublas.Error($"cublasSgemm_v2(row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc})", status);
    }

    /// <summary>The FP32 GEMMs' math mode: <c>cublasSetMathMode</c> with TF32 tensor-op math or the default (FP32) math.</summary>
    private protected override void SetTf32(bool enabled)
    {
        MakeCurrent();
        cublasMath_t mode = enabled ? cublasMath_t.CUBLAS_TF32_TENSOR_OP_MATH : cublasMath_t.CUBLAS_DEFAULT_MATH;
        _cublas.Check(_cublas.cublasSetMathMode(_cublasHandle.DangerousGetHandle(), mode), $"cublasSetMathMode({mode})");
    }

    /// <summary>
    /// Row-major GEMM of BF16 operands (<see cref="GpuContext.GemmBf16"/>) as <c>cublasGemmEx</c> on the transposes
    /// (<see cref="ColumnMajorGemm"/>): A and B <c>CUDA_R_16BF</c>, C <c>CUDA_R_32F</c> (<c>CUDA_R_16BF</c> when
    /// <paramref name="bf16C"/>), <c>CUBLAS_COMPUTE_32F</c>, the default algorithm (tensor cores). When beta is 0, C is not read.
    /// </summary>
    public override void GemmBf16(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, bool bf16C = false)
    {
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        CheckOperands(k, alpha, a, b, c);

        MakeCurrent();
        if (IsCapturing) CapturedNodes++;
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        cublasStatus_t status = _cublas.cublasGemmEx(_cublasHandle.DangerousGetHandle(), g.TransA, g.TransB, g.M, g.N, g.K,
            &alpha, g.A.Address, cudaDataType_t.CUDA_R_16BF, g.Lda, g.B.Address, cudaDataType_t.CUDA_R_16BF, g.Ldb,
            &beta, g.C.Address, bf16C ? cudaDataType_t.CUDA_R_16BF : cudaDataType_t.CUDA_R_32F, g.Ldc, cublasComputeType_t.CUBLAS_COMPUTE_32F, cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw _cublas.Error($"cublasGemmEx(BF16 A and B, {(bf16C ? "BF16" : "FP32")} C, FP32 compute; row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc})", status);
    }

    /// <summary>
    /// A strided batch of row-major GEMMs (<see cref="GpuContext.SgemmStridedBatched"/>) as one
    /// <c>cublasSgemmStridedBatched</c> on the transposes (<see cref="ColumnMajorGemm"/>), checked like <see cref="Sgemm"/>
    /// and for strides that would make the C matrices overlap. FP32 math mode unless <see cref="GpuContext.Tf32"/> is set; when beta is 0, C is not read.
    /// </summary>
    public override void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB, float beta,
        DevicePointer c, int ldc, long strideC, int batchCount)
    {
        if (!CheckStridedBatched(transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC, batchCount)) return;
        CheckOperands(k, alpha, a, b, c);

        MakeCurrent();
        if (IsCapturing) CapturedNodes++;
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
        cublasStatus_t status = _cublas.cublasSgemmStridedBatched(_cublasHandle.DangerousGetHandle(), g.TransA, g.TransB, g.M, g.N, g.K,
            &alpha, g.A.Address, g.Lda, g.StrideA, g.B.Address, g.Ldb, g.StrideB, &beta, g.C.Address, g.Ldc, g.StrideC, batchCount);
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw _cublas.Error($"cublasSgemmStridedBatched(row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, strideA={strideA}, "
                + $"ldb={ldb}, strideB={strideB}, ldc={ldc}, strideC={strideC}, batchCount={batchCount})", status);
    }

    /// <summary>cuBLASLt's working memory, allocated at the first epilogue GEMM: 32 MiB, llm.c's size for Hopper.</summary>
    internal const long CublasLtWorkspaceBytes = 32L << 20;

    /// <summary>
    /// A row-major GEMM with an epilogue (<see cref="GemmEpilogue"/>) as one <c>cublasLtMatmul</c> on the transposes
    /// (<see cref="ColumnMajorGemm"/>): a matmul descriptor (FP32 compute and scale, the op flags, the
    /// <c>CUBLASLT_EPILOGUE_*</c>, the bias and aux pointers), column-major layouts of A, B and C (D is C), a preference
    /// capped at the workspace, the heuristic's first algorithm, then the matmul on the default stream. Descriptors are
    /// made and destroyed per call, as llm.c does: host work of a few microseconds, no device synchronisation.
    /// Every call is checked; a failure names it, the epilogue and the row-major shape.
    /// </summary>
    public override void SgemmEpilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default)
    {
        CheckEpilogue(epilogue, transA, transB, m, n, k, lda, ldb, beta, a, b, c, ldc, bias, aux);
        LtMatmul(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux, cudaDataType_t.CUDA_R_32F, cudaDataType_t.CUDA_R_32F);
    }

    /// <summary>
    /// <see cref="GpuContext.GemmBf16Epilogue"/>: <see cref="SgemmEpilogue"/>'s <c>cublasLtMatmul</c> with A and B laid out
    /// as <c>CUDA_R_16BF</c>, C and D as <c>CUDA_R_16BF</c> (<paramref name="bf16C"/>) or <c>CUDA_R_32F</c>, and
    /// <c>CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE</c> set to D's type (the bias read, or the bias gradient written, has D's type;
    /// the GELU aux matrix has it by default). Compute <c>CUBLAS_COMPUTE_32F</c>, scale <c>CUDA_R_32F</c>, as for FP32.
    /// </summary>
    public override void GemmBf16Epilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default, bool bf16C = false)
    {
        CheckEpilogue(epilogue, transA, transB, m, n, k, lda, ldb, beta, a, b, c, ldc, bias, aux, bf16C);
        LtMatmul(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux, cudaDataType_t.CUDA_R_16BF,
            bf16C ? cudaDataType_t.CUDA_R_16BF : cudaDataType_t.CUDA_R_32F);
    }

    /// <summary>
    /// One checked <c>cublasLtMatmul</c> with an epilogue (arguments already checked): A and B of <paramref name="operands"/>'
    /// type, C and D of <paramref name="output"/>'s. With BF16 operands the bias's data type is set to the output's
    /// (cuBLASLt's rule, stated rather than left to the default); the FP32 call sets nothing it did not always set.
    /// </summary>
    private void LtMatmul(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k, DevicePointer a, int lda, DevicePointer b, int ldb,
        float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux, cudaDataType_t operands, cudaDataType_t output)
    {
        MakeCurrent();
        _cublasLtWorkspace ??= Allocate(CublasLtWorkspaceBytes); // BeginCapture allocates it first when the first call is captured
        if (IsCapturing) CapturedNodes++;
        var g = ColumnMajorGemm.FromRowMajor(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        cublasLtEpilogue_t mode = LtEpilogue(epilogue);
        bool bf16 = operands == cudaDataType_t.CUDA_R_16BF;
        string types = bf16 ? $"A and B CUDA_R_16BF, C {output}, " : "";
        string shape = $"{mode}, {types}row-major transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc}";
        nint desc = 0, layoutA = 0, layoutB = 0, layoutC = 0, preference = 0;
        try
        {
            _cublasLt.Check(_cublasLt.cublasLtMatmulDescCreate(&desc, CublasLt.ComputeType32F, CublasLt.DataTypeR32F), "cublasLtMatmulDescCreate(CUBLAS_COMPUTE_32F, CUDA_R_32F)");
            int opA = (int)g.TransA, opB = (int)g.TransB, epilogueValue = (int)mode;
            ulong biasAddress = bias.Address, auxAddress = aux.Address;
            long auxLd = g.Ldc;
            SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof(int));
            SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof(int));
            SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogueValue, sizeof(int));
            SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasAddress, sizeof(ulong));
            if (bf16)
            {
                int biasType = (int)output;
                SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &biasType, sizeof(int));
            }
            if (!aux.IsNull)
            {
                SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &auxAddress, sizeof(ulong));
                SetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &auxLd, sizeof(long));
            }

            // Column-major layouts as stored: op(A') is M'×K, so A' is M'×K untransposed and K×M' transposed; B' likewise.
            bool aT = g.TransA == cublasOperation_t.CUBLAS_OP_T, bT = g.TransB == cublasOperation_t.CUBLAS_OP_T;
            Layout(&layoutA, operands, aT ? g.K : g.M, aT ? g.M : g.K, g.Lda, "A");
            Layout(&layoutB, operands, bT ? g.N : g.K, bT ? g.K : g.N, g.Ldb, "B");
            Layout(&layoutC, output, g.M, g.N, g.Ldc, "C");

            _cublasLt.Check(_cublasLt.cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate");
            ulong workspaceBytes = (ulong)CublasLtWorkspaceBytes;
            _cublasLt.Check(_cublasLt.cublasLtMatmulPreferenceSetAttribute(preference, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes, sizeof(ulong)),
                "cublasLtMatmulPreferenceSetAttribute(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)");

            cublasLtMatmulHeuristicResult_t heuristic;
            int found = 0;
            nint handle = _cublasLtHandle.DangerousGetHandle();
            _cublasLt.Check(_cublasLt.cublasLtMatmulAlgoGetHeuristic(handle, desc, layoutA, layoutB, layoutC, layoutC, preference, 1, &heuristic, &found),
                $"cublasLtMatmulAlgoGetHeuristic({shape})");
            if (found == 0)
                throw new CudaException($"cublasLtMatmulAlgoGetHeuristic({shape}) found no algorithm for this epilogue and shape");

            float alpha = 1f;
            cublasStatus_t status = _cublasLt.cublasLtMatmul(handle, desc, &alpha, g.A.Address, layoutA, g.B.Address, layoutB, &beta, g.C.Address, layoutC,
                g.C.Address, layoutC, heuristic.algo, _cublasLtWorkspace.Pointer.Address, (nuint)CublasLtWorkspaceBytes, _stream);
            if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS) throw _cublasLt.Error($"cublasLtMatmul({shape})", status);
        }
        finally
        {
            // Best effort, newest first; a failed destroy leaves nothing the next call depends on.
            if (preference != 0) _cublasLt.cublasLtMatmulPreferenceDestroy(preference);
            if (layoutC != 0) _cublasLt.cublasLtMatrixLayoutDestroy(layoutC);
            if (layoutB != 0) _cublasLt.cublasLtMatrixLayoutDestroy(layoutB);
            if (layoutA != 0) _cublasLt.cublasLtMatrixLayoutDestroy(layoutA);
            if (desc != 0) _cublasLt.cublasLtMatmulDescDestroy(desc);
        }

        void SetAttribute(nint descriptor, cublasLtMatmulDescAttributes_t attribute, void* value, int bytes) =>
            _cublasLt.Check(_cublasLt.cublasLtMatmulDescSetAttribute(descriptor, attribute, value, (nuint)bytes), $"cublasLtMatmulDescSetAttribute({attribute})");

        void Layout(nint* layout, cudaDataType_t type, int rows, int cols, int ld, string operand) =>
            _cublasLt.Check(_cublasLt.cublasLtMatrixLayoutCreate(layout, (int)type, (ulong)rows, (ulong)cols, ld),
                $"cublasLtMatrixLayoutCreate({operand}: {type}, {rows}×{cols}, ld {ld})");
    }

    private static cublasLtEpilogue_t LtEpilogue(GemmEpilogue epilogue) => epilogue switch
    {
        GemmEpilogue.Bias => cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BIAS,
        GemmEpilogue.GeluAuxBias => cublasLtEpilogue_t.CUBLASLT_EPILOGUE_GELU_AUX_BIAS,
        GemmEpilogue.GeluGradientBiasGradient => cublasLtEpilogue_t.CUBLASLT_EPILOGUE_DGELU_BGRAD,
        GemmEpilogue.BiasGradientOfA => cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BGRADB,
        _ => throw new ArgumentOutOfRangeException(nameof(epilogue), epilogue, null),
    };

    /// <summary>C is always written; A and B are read unless k or alpha is 0 (then cuBLAS only scales C).</summary>
    private static void CheckOperands(int k, float alpha, DevicePointer a, DevicePointer b, DevicePointer c)
    {
        if (c.IsNull) throw new ArgumentNullException(nameof(c));
        if (k != 0 && alpha != 0f && (a.IsNull || b.IsNull)) throw new ArgumentNullException(a.IsNull ? nameof(a) : nameof(b));
    }

    public override void Synchronize()
    {
        if (IsCapturing) throw CaptureRefused("cuCtxSynchronize");
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
        if (IsCapturing) throw CaptureRefused("cuStreamQuery");
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

    /// <summary>
    /// <c>cuStreamBeginCapture_v2</c> in global mode (a synchronous copy or synchronisation anywhere fails the capture) on
    /// a stream of our own, made once with <c>cuStreamCreate</c> (flags 0: ordered with the default stream), with cuBLAS
    /// set to it (<c>cublasSetStream_v2</c>); launches go there until the capture ends.
    /// </summary>
    private protected override void BeginCapture()
    {
        MakeCurrent();
        if (Driver.MissingGraphCall is { } missing)
            throw new CudaException($"CUDA graphs need {missing} (driver API of CUDA 11.4 and later), which {Driver.Library} does not export");
        // cuBLASLt's workspace is allocated at the context's first epilogue GEMM; an allocation cannot be captured, so a
        // step whose first epilogue is inside the capture would fall back. Allocate it now (once per context).
        _cublasLtWorkspace ??= Allocate(CublasLtWorkspaceBytes);
        if (_captureStream is null)
        {
            var handle = new CudaStreamHandle(Driver);
            nint value;
            CUresult created = Driver.cuStreamCreate(&value, 0);
            if (created != CUresult.CUDA_SUCCESS)
            {
                handle.Dispose();
                throw Driver.Error("cuStreamCreate(flags 0)", created);
            }
            handle.Attach(value, _context);
            _captureStream = handle;
        }
        nint stream = _captureStream.DangerousGetHandle();
        _cublas.Check(_cublas.cublasSetStream_v2(_cublasHandle.DangerousGetHandle(), stream), "cublasSetStream_v2(capture stream)");
        CUresult result = Driver.cuStreamBeginCapture_v2(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_GLOBAL);
        if (result != CUresult.CUDA_SUCCESS)
        {
            _cublas.cublasSetStream_v2(_cublasHandle.DangerousGetHandle(), 0);
            throw Driver.Error("cuStreamBeginCapture_v2(capture stream, CU_STREAM_CAPTURE_MODE_GLOBAL)", result);
        }
        _stream = stream;
        CapturedNodes = 0;
    }

    /// <summary><c>cuStreamEndCapture</c>, then <c>cuGraphInstantiateWithFlags</c>; the graph itself is destroyed at once (the executable one is independent of it).</summary>
    private protected override GpuGraph EndCapture()
    {
        nint graph = 0;
        CUresult result = Driver.cuStreamEndCapture(_stream, &graph);
        EndOfCapture();
        if (result != CUresult.CUDA_SUCCESS)
        {
            if (graph != 0) Driver.cuGraphDestroy(graph);
            throw Driver.Error("cuStreamEndCapture(capture stream)", result);
        }
        var exec = new CudaGraphExecHandle(Driver);
        nint value;
        result = Driver.cuGraphInstantiateWithFlags(&value, graph, 0);
        Driver.cuGraphDestroy(graph);
        if (result != CUresult.CUDA_SUCCESS)
        {
            exec.Dispose();
            throw Driver.Error($"cuGraphInstantiateWithFlags(graph of {CapturedNodes} nodes)", result);
        }
        exec.Attach(value, _context);
        return new CudaGraph(this, exec, CapturedNodes);
    }

    private protected override void AbortCapture()
    {
        nint graph = 0;
        Driver.cuStreamEndCapture(_stream, &graph); // ends the (invalidated) capture; its error was reported by the failed call
        if (graph != 0) Driver.cuGraphDestroy(graph);
        EndOfCapture();
    }

    // Launches and GEMMs go to the default stream again.
    private void EndOfCapture()
    {
        _stream = 0;
        _cublas.cublasSetStream_v2(_cublasHandle.DangerousGetHandle(), 0);
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
            _captureStream?.Dispose();
            _cublasLtHandle.Dispose();
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

/// <summary>What a context needs besides the driver: cuBLAS and cuBLASLt, the PTX compiler (behind its cache) and the architecture to compile for.</summary>
internal sealed record CudaToolchain(Cublas Cublas, CublasLt CublasLt, PtxCache Ptx, string Architecture);

/// <summary>A graph instantiated by <see cref="CudaContext"/> (a <c>CUgraphExec</c>), launched on the default stream.</summary>
internal sealed unsafe class CudaGraph : GpuGraph
{
    private readonly CudaContext _context;
    private readonly CudaGraphExecHandle _exec;

    internal CudaGraph(CudaContext context, CudaGraphExecHandle exec, int nodes)
    {
        _context = context;
        _exec = exec;
        Nodes = nodes;
    }

    public override int Nodes { get; }

    /// <summary><c>cuGraphLaunch</c> on the default stream (after the copies queued there, before the ones that follow).</summary>
    public override void Launch()
    {
        ObjectDisposedException.ThrowIf(_exec.IsClosed, this);
        if (_context.IsCapturing) throw new InvalidOperationException("launching a CUDA graph while another is being captured is not supported");
        _context.MakeCurrent();
        CudaDriver driver = _context.Driver;
        CUresult result = driver.cuGraphLaunch(_exec.DangerousGetHandle(), 0);
        if (result != CUresult.CUDA_SUCCESS) throw driver.Error($"cuGraphLaunch(graph of {Nodes} nodes, default stream)", result);
        if (_context.SynchronizeAfterLaunch)
        {
            result = driver.cuCtxSynchronize();
            if (result != CUresult.CUDA_SUCCESS) throw driver.Error($"a CUDA graph of {Nodes} nodes failed while running; cuCtxSynchronize", result);
        }
    }

    public override void Dispose() => _exec.Dispose();
}
