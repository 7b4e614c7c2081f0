using System;
using System.Collections.Generic;

namespace ModelDsl.Cuda.Interop;

/// <summary><c>cublasStatus_t</c> under its C names.</summary>
internal enum cublasStatus_t
{
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
}

/// <summary><c>cublasOperation_t</c>.</summary>
internal enum cublasOperation_t
{
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
}

/// <summary><c>cublasMath_t</c> values this binding sets.</summary>
internal enum cublasMath_t
{
    /// <summary>FP32 GEMMs compute in FP32: no TF32 tensor-core rounding.</summary>
    CUBLAS_DEFAULT_MATH = 0,

    /// <summary>FP32 GEMMs on tensor cores with TF32 operands (cuBLAS 11+), for a session in TF32 precision.</summary>
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
}

/// <summary><c>cudaDataType_t</c> values this binding passes to <c>cublasGemmEx</c>.</summary>
internal enum cudaDataType_t
{
    CUDA_R_32F = 0,
    CUDA_R_16BF = 14,
}

/// <summary><c>cublasComputeType_t</c> (cuBLAS 11+).</summary>
internal enum cublasComputeType_t
{
    CUBLAS_COMPUTE_32F = 68,
}

/// <summary><c>cublasGemmAlgo_t</c>.</summary>
internal enum cublasGemmAlgo_t
{
    CUBLAS_GEMM_DEFAULT = -1,
}

/// <summary>
/// cuBLAS (<c>libcublas.so.13/.12/.11</c>), bound as unmanaged function pointers with the signatures of
/// <c>cublas_v2.h</c>: a handle, its math mode, the FP32 GEMMs (one product, and a strided batch of them) and <c>cublasGemmEx</c> for BF16 operands. Pointer mode stays the
/// default (host), so alpha and beta are host pointers; the matrices are device addresses (<c>CUdeviceptr</c>).
/// ManagedCuda's counterpart is <c>CudaBlas</c>.
/// </summary>
/// <remarks>
/// The math mode is set to <c>CUBLAS_DEFAULT_MATH</c> explicitly when the handle is made: the CPU backend is the parity
/// reference, and TF32's 10-bit mantissa would make GPU and CPU results differ by ~1e-3 relative. A session in TF32
/// precision switches it to <c>CUBLAS_TF32_TENSOR_OP_MATH</c> (<see cref="GpuContext.Tf32"/>); BF16 products go through
/// <c>cublasGemmEx</c> (docs/cuda.md "Precision").
/// </remarks>
internal sealed unsafe class Cublas
{
    public static readonly IReadOnlyList<string> LibraryNames = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"];

    private static readonly Lazy<(Cublas? Cublas, string Reason)> s_shared = new(() => TryLoad(LibraryNames));

    /// <summary>The cuBLAS found on this machine, loaded once per process, or null (see <see cref="UnavailableReason"/>).</summary>
    public static Cublas? Shared => s_shared.Value.Cublas;

    public static string UnavailableReason => s_shared.Value.Reason;

    /// <summary>A cuBLAS library at an explicit path (tests load a stand-in built with g++).</summary>
    public static Cublas Load(string path) => new(System.Runtime.InteropServices.NativeLibrary.Load(path), path);

    public string Library { get; }

    public readonly delegate* unmanaged<nint*, cublasStatus_t> cublasCreate_v2;
    public readonly delegate* unmanaged<nint, cublasStatus_t> cublasDestroy_v2;
    public readonly delegate* unmanaged<nint, cublasMath_t, cublasStatus_t> cublasSetMathMode;

    /// <summary><c>cublasSetStream_v2(handle, cudaStream_t)</c>: the stream the handle's GEMMs go to (a graph's capture stream while one is captured).</summary>
    public readonly delegate* unmanaged<nint, nint, cublasStatus_t> cublasSetStream_v2;

    /// <summary>
    /// <c>cublasSgemm_v2(handle, transa, transb, m, n, k, const float* alpha, const float* A, lda, const float* B, ldb,
    /// const float* beta, float* C, ldc)</c>, column-major.
    /// </summary>
    public readonly delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, int, ulong, int, float*, ulong, int, cublasStatus_t> cublasSgemm_v2;

    /// <summary>
    /// <c>cublasSgemmStridedBatched(handle, transa, transb, m, n, k, const float* alpha, const float* A, lda, long long strideA,
    /// const float* B, ldb, long long strideB, const float* beta, float* C, ldc, long long strideC, batchCount)</c>,
    /// column-major; matrix i of each operand starts i·stride elements after the first (cuBLAS 8.0+).
    /// </summary>
    public readonly delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, int, long, ulong, int, long, float*, ulong, int, long, int, cublasStatus_t> cublasSgemmStridedBatched;

    /// <summary>
    /// <c>cublasGemmEx(handle, transa, transb, m, n, k, const void* alpha, const void* A, cudaDataType_t Atype, lda,
    /// const void* B, cudaDataType_t Btype, ldb, const void* beta, void* C, cudaDataType_t Ctype, ldc,
    /// cublasComputeType_t computeType, cublasGemmAlgo_t algo)</c>, column-major (cuBLAS 11+ takes a compute type).
    /// Alpha and beta are floats for <c>CUBLAS_COMPUTE_32F</c>.
    /// </summary>
    public readonly delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, cudaDataType_t, int, ulong, cudaDataType_t, int, float*, ulong, cudaDataType_t, int, cublasComputeType_t, cublasGemmAlgo_t, cublasStatus_t> cublasGemmEx;

    // cuBLAS 11.4.2+ names its statuses; older libraries (and the tests' stand-in) fall back to the table below.
    private readonly delegate* unmanaged<cublasStatus_t, byte*> cublasGetStatusName;
    private readonly delegate* unmanaged<cublasStatus_t, byte*> cublasGetStatusString;

    private Cublas(nint library, string name)
    {
        Library = name;
        cublasCreate_v2 = (delegate* unmanaged<nint*, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasCreate_v2");
        cublasDestroy_v2 = (delegate* unmanaged<nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasDestroy_v2");
        cublasSetMathMode = (delegate* unmanaged<nint, cublasMath_t, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasSetMathMode");
        cublasSetStream_v2 = (delegate* unmanaged<nint, nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasSetStream_v2");
        cublasSgemm_v2 = (delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, int, ulong, int, float*, ulong, int, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasSgemm_v2");
        cublasSgemmStridedBatched = (delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, int, long, ulong, int, long, float*, ulong, int, long, int, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasSgemmStridedBatched");
        cublasGemmEx = (delegate* unmanaged<nint, cublasOperation_t, cublasOperation_t, int, int, int, float*, ulong, cudaDataType_t, int, ulong, cudaDataType_t, int, float*, ulong, cudaDataType_t, int, cublasComputeType_t, cublasGemmAlgo_t, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasGemmEx");
        cublasGetStatusName = (delegate* unmanaged<cublasStatus_t, byte*>)NativeLibraries.OptionalExport(library, "cublasGetStatusName");
        cublasGetStatusString = (delegate* unmanaged<cublasStatus_t, byte*>)NativeLibraries.OptionalExport(library, "cublasGetStatusString");
    }

    internal static (Cublas? Cublas, string Reason) TryLoad(IReadOnlyList<string> names)
    {
        if (!NativeLibraries.TryLoadFirst(names, out nint library, out string name)) return (null, NotFoundMessage(names));
        try
        {
            return (new Cublas(library, name), name);
        }
        catch (CudaException e)
        {
            return (null, e.Message);
        }
    }

    internal static string NotFoundMessage(IReadOnlyList<string> names) =>
        $"cuBLAS not found: tried {string.Join(", ", names)} (on Debian: add the non-free component and apt-get install libcublas11)";

    public void Check(cublasStatus_t status, string call)
    {
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS) throw Error(call, status);
    }

    /// <summary><c>cublasSgemm_v2(...) failed: CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument</c>.</summary>
    public CudaException Error(string call, cublasStatus_t status)
    {
        string? name = cublasGetStatusName != null ? NativeLibraries.FromUtf8(cublasGetStatusName(status)) : null;
        string? description = cublasGetStatusString != null ? NativeLibraries.FromUtf8(cublasGetStatusString(status)) : null;
        return new CudaException($"{call} failed: {name ?? FallbackName(status)} ({(int)status}): {description ?? FallbackDescription(status)}");
    }

    internal static string FallbackName(cublasStatus_t status) =>
        Enum.IsDefined(status) ? status.ToString() : "unrecognised cublasStatus_t";

    /// <summary>The descriptions of the cuBLAS documentation, for libraries without <c>cublasGetStatusString</c>.</summary>
    internal static string FallbackDescription(cublasStatus_t status) => status switch
    {
        cublasStatus_t.CUBLAS_STATUS_SUCCESS => "the operation completed successfully",
        cublasStatus_t.CUBLAS_STATUS_NOT_INITIALIZED => "the library was not initialized",
        cublasStatus_t.CUBLAS_STATUS_ALLOC_FAILED => "the resource allocation failed",
        cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE => "an invalid numeric value was used as an argument",
        cublasStatus_t.CUBLAS_STATUS_ARCH_MISMATCH => "an absent device architectural feature is required",
        cublasStatus_t.CUBLAS_STATUS_MAPPING_ERROR => "an access to GPU memory space failed",
        cublasStatus_t.CUBLAS_STATUS_EXECUTION_FAILED => "the GPU program failed to execute",
        cublasStatus_t.CUBLAS_STATUS_INTERNAL_ERROR => "an internal operation failed",
        cublasStatus_t.CUBLAS_STATUS_NOT_SUPPORTED => "the functionality requested is not supported",
        cublasStatus_t.CUBLAS_STATUS_LICENSE_ERROR => "an error was detected when checking the current licensing",
        _ => "unknown cuBLAS status",
    };
}
