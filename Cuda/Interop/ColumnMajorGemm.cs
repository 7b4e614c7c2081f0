namespace ModelDsl.Cuda.Interop;

/// <summary>
/// The cuBLAS (column-major) arguments for a row-major GEMM. A row-major matrix with row stride ld is, read
/// column-major with the same ld, its transpose; so the row-major <c>C = op(A)·op(B)</c> (m×n) is the column-major
/// <c>Cᵀ = op(B)ᵀ·op(A)ᵀ</c> (n×m): swap the operands, swap m and n, keep every op flag and leading dimension. A strided
/// batch maps matrix by matrix, so each stride travels with its operand (0 for a plain GEMM).
/// </summary>
internal readonly record struct ColumnMajorGemm(
    cublasOperation_t TransA, cublasOperation_t TransB, int M, int N, int K,
    DevicePointer A, int Lda, DevicePointer B, int Ldb, DevicePointer C, int Ldc,
    long StrideA = 0, long StrideB = 0, long StrideC = 0)
{
    /// <summary>The column-major call for the row-major arguments of <c>ModelDsl.Runtime.Cpu.Sgemm.Multiply</c>.</summary>
    public static ColumnMajorGemm FromRowMajor(bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, DevicePointer c, int ldc) =>
        new(Op(transB), Op(transA), n, m, k, b, ldb, a, lda, c, ldc);

    /// <summary>The column-major strided batch for the row-major arguments of <see cref="GpuContext.SgemmStridedBatched"/>.</summary>
    public static ColumnMajorGemm FromRowMajor(bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB, DevicePointer c, int ldc, long strideC) =>
        new(Op(transB), Op(transA), n, m, k, b, ldb, a, lda, c, ldc, strideB, strideA, strideC);

    private static cublasOperation_t Op(bool transposed) =>
        transposed ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N;
}
