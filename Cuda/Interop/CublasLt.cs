using System;
using System.Collections.Generic;

namespace ModelDsl.Cuda.Interop;

/// <summary><c>cublasLtEpilogue_t</c>: the values this binding uses, under their C names.</summary>
internal enum cublasLtEpilogue_t
{
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_BIAS = 4,
    /// <summary>D = gelu(AB + bias), aux = AB + bias (the GELU input, for the backward). cuBLASLt's GELU is the tanh form.</summary>
    CUBLASLT_EPILOGUE_GELU_AUX_BIAS = 164,
    /// <summary>D = AB ⊙ gelu'(aux); bias = D summed over the columns of the column-major D.</summary>
    CUBLASLT_EPILOGUE_DGELU_BGRAD = 208,
    /// <summary>bias = op(B) summed over the GEMM's k dimension (one value per column of the column-major D).</summary>
    CUBLASLT_EPILOGUE_BGRADB = 512,
}

/// <summary><c>cublasLtMatmulDescAttributes_t</c> values this binding sets.</summary>
internal enum cublasLtMatmulDescAttributes_t
{
    CUBLASLT_MATMUL_DESC_TRANSA = 3,
    CUBLASLT_MATMUL_DESC_TRANSB = 4,
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12,
    /// <summary>The bias's (or bias gradient's) <c>cudaDataType</c>; by default D's, which is what the binding sets it to.</summary>
    CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26,
}

/// <summary><c>cublasLtMatmulPreferenceAttributes_t</c> values this binding sets.</summary>
internal enum cublasLtMatmulPreferenceAttributes_t
{
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
}

/// <summary><c>cublasLtMatmulHeuristicResult_t</c> (96 bytes): the algorithm is opaque, 8 × uint64.</summary>
internal unsafe struct cublasLtMatmulHeuristicResult_t
{
    public fixed ulong algo[8];
    public nuint workspaceSize;
    public cublasStatus_t state;
    public float wavesCount;
    public fixed int reserved[4];
}

/// <summary>
/// cuBLASLt (<c>libcublasLt.so.13/.12/.11</c>, shipped beside cuBLAS), bound as unmanaged function pointers with the
/// signatures of <c>cublasLt.h</c>: a handle, the matmul, matrix-layout and preference descriptors, the algorithm
/// heuristic and the matmul itself. Used for GEMMs with an epilogue (bias; bias + GELU keeping the GELU input; GELU's
/// gradient with the bias gradient; a bias gradient alone) like llm.c's <c>matmul.cuh</c>: the epilogue runs on the
/// product while it is still in registers, saving a pass over the output. FP32 (<c>CUBLAS_COMPUTE_32F</c>,
/// <c>CUDA_R_32F</c>): no TF32, for the same reason as <see cref="Cublas"/>; or BF16 operands (<c>CUDA_R_16BF</c>) with the
/// same FP32 compute and scale, D in <c>CUDA_R_16BF</c> or <c>CUDA_R_32F</c>, and the bias's data type
/// (<c>CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE</c>) set to D's, as cuBLASLt requires outside FP8 (the GELU aux matrix takes
/// D's type by default): <c>GpuContext.GemmBf16Epilogue</c>.
/// </summary>
internal sealed unsafe class CublasLt
{
    /// <summary><c>CUBLAS_COMPUTE_32F</c>: FP32 accumulation without TF32.</summary>
    public const int ComputeType32F = 68;

    /// <summary><c>CUDA_R_32F</c>, the scale and matrix type.</summary>
    public const int DataTypeR32F = 0;

    public static readonly IReadOnlyList<string> LibraryNames = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"];

    private static readonly Lazy<(CublasLt? CublasLt, string Reason)> s_shared = new(() => TryLoad(LibraryNames));

    /// <summary>The cuBLASLt found on this machine, loaded once per process, or null (see <see cref="UnavailableReason"/>).</summary>
    public static CublasLt? Shared => s_shared.Value.CublasLt;

    public static string UnavailableReason => s_shared.Value.Reason;

    /// <summary>A cuBLASLt library at an explicit path (tests load a stand-in built with g++).</summary>
    public static CublasLt Load(string path) => new(System.Runtime.InteropServices.NativeLibrary.Load(path), path);

    public string Library { get; }

    public readonly delegate* unmanaged<nint*, cublasStatus_t> cublasLtCreate;
    public readonly delegate* unmanaged<nint, cublasStatus_t> cublasLtDestroy;

    /// <summary><c>cublasLtMatmulDescCreate(cublasLtMatmulDesc_t*, cublasComputeType_t, cudaDataType_t scaleType)</c>.</summary>
    public readonly delegate* unmanaged<nint*, int, int, cublasStatus_t> cublasLtMatmulDescCreate;
    public readonly delegate* unmanaged<nint, cublasStatus_t> cublasLtMatmulDescDestroy;

    /// <summary><c>cublasLtMatmulDescSetAttribute(desc, attr, const void* buf, size_t sizeInBytes)</c>.</summary>
    public readonly delegate* unmanaged<nint, cublasLtMatmulDescAttributes_t, void*, nuint, cublasStatus_t> cublasLtMatmulDescSetAttribute;

    /// <summary><c>cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t*, cudaDataType, uint64_t rows, uint64_t cols, int64_t ld)</c>, column-major.</summary>
    public readonly delegate* unmanaged<nint*, int, ulong, ulong, long, cublasStatus_t> cublasLtMatrixLayoutCreate;
    public readonly delegate* unmanaged<nint, cublasStatus_t> cublasLtMatrixLayoutDestroy;

    public readonly delegate* unmanaged<nint*, cublasStatus_t> cublasLtMatmulPreferenceCreate;
    public readonly delegate* unmanaged<nint, cublasStatus_t> cublasLtMatmulPreferenceDestroy;
    public readonly delegate* unmanaged<nint, cublasLtMatmulPreferenceAttributes_t, void*, nuint, cublasStatus_t> cublasLtMatmulPreferenceSetAttribute;

    /// <summary>
    /// <c>cublasLtMatmulAlgoGetHeuristic(handle, opDesc, Adesc, Bdesc, Cdesc, Ddesc, preference, int requestedAlgoCount,
    /// cublasLtMatmulHeuristicResult_t results[], int* returnAlgoCount)</c>.
    /// </summary>
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, int, cublasLtMatmulHeuristicResult_t*, int*, cublasStatus_t> cublasLtMatmulAlgoGetHeuristic;

    /// <summary>
    /// <c>cublasLtMatmul(handle, desc, const void* alpha, const void* A, Adesc, const void* B, Bdesc, const void* beta,
    /// const void* C, Cdesc, void* D, Ddesc, const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceSize,
    /// cudaStream_t stream)</c>: <c>D = epilogue(alpha·op(A)·op(B) + beta·C)</c>, column-major.
    /// </summary>
    public readonly delegate* unmanaged<nint, nint, float*, ulong, nint, ulong, nint, float*, ulong, nint, ulong, nint, void*, ulong, nuint, nint, cublasStatus_t> cublasLtMatmul;

    private readonly delegate* unmanaged<cublasStatus_t, byte*> cublasLtGetStatusName;
    private readonly delegate* unmanaged<cublasStatus_t, byte*> cublasLtGetStatusString;

    private CublasLt(nint library, string name)
    {
        Library = name;
        cublasLtCreate = (delegate* unmanaged<nint*, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtCreate");
        cublasLtDestroy = (delegate* unmanaged<nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtDestroy");
        cublasLtMatmulDescCreate = (delegate* unmanaged<nint*, int, int, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatmulDescCreate");
        cublasLtMatmulDescDestroy = (delegate* unmanaged<nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatmulDescDestroy");
        cublasLtMatmulDescSetAttribute = (delegate* unmanaged<nint, cublasLtMatmulDescAttributes_t, void*, nuint, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasLtMatmulDescSetAttribute");
        cublasLtMatrixLayoutCreate = (delegate* unmanaged<nint*, int, ulong, ulong, long, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatrixLayoutCreate");
        cublasLtMatrixLayoutDestroy = (delegate* unmanaged<nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatrixLayoutDestroy");
        cublasLtMatmulPreferenceCreate = (delegate* unmanaged<nint*, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatmulPreferenceCreate");
        cublasLtMatmulPreferenceDestroy = (delegate* unmanaged<nint, cublasStatus_t>)NativeLibraries.Export(library, name, "cublasLtMatmulPreferenceDestroy");
        cublasLtMatmulPreferenceSetAttribute = (delegate* unmanaged<nint, cublasLtMatmulPreferenceAttributes_t, void*, nuint, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasLtMatmulPreferenceSetAttribute");
        cublasLtMatmulAlgoGetHeuristic = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, int, cublasLtMatmulHeuristicResult_t*, int*, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasLtMatmulAlgoGetHeuristic");
        cublasLtMatmul = (delegate* unmanaged<nint, nint, float*, ulong, nint, ulong, nint, float*, ulong, nint, ulong, nint, void*, ulong, nuint, nint, cublasStatus_t>)
            NativeLibraries.Export(library, name, "cublasLtMatmul");
        cublasLtGetStatusName = (delegate* unmanaged<cublasStatus_t, byte*>)NativeLibraries.OptionalExport(library, "cublasLtGetStatusName");
        cublasLtGetStatusString = (delegate* unmanaged<cublasStatus_t, byte*>)NativeLibraries.OptionalExport(library, "cublasLtGetStatusString");
    }

    internal static (CublasLt? CublasLt, string Reason) TryLoad(IReadOnlyList<string> names)
    {
        if (!NativeLibraries.TryLoadFirst(names, out nint library, out string name))
            return (null, $"cuBLASLt not found: tried {string.Join(", ", names)} (it ships with cuBLAS: on Debian, apt-get install libcublaslt11)");
        try
        {
            return (new CublasLt(library, name), name);
        }
        catch (CudaException e)
        {
            return (null, e.Message);
        }
    }

    public void Check(cublasStatus_t status, string call)
    {
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS) throw Error(call, status);
    }

    /// <summary><c>cublasLtMatmul(...) failed: CUBLAS_STATUS_NOT_SUPPORTED (15): the functionality requested is not supported</c>.</summary>
    public CudaException Error(string call, cublasStatus_t status)
    {
        string? name = cublasLtGetStatusName != null ? NativeLibraries.FromUtf8(cublasLtGetStatusName(status)) : null;
        string? description = cublasLtGetStatusString != null ? NativeLibraries.FromUtf8(cublasLtGetStatusString(status)) : null;
        return new CudaException($"{call} failed: {name ?? Cublas.FallbackName(status)} ({(int)status}): {description ?? Cublas.FallbackDescription(status)}");
    }
}

/// <summary>A cuBLASLt handle (<c>cublasLtCreate</c> … <c>cublasLtDestroy</c>).</summary>
internal sealed unsafe class CublasLtHandle(CudaDriver driver, CublasLt lt) : ContextBoundHandle(driver)
{
    protected override bool Release(nint value) => lt.cublasLtDestroy(value) == cublasStatus_t.CUBLAS_STATUS_SUCCESS;
}
