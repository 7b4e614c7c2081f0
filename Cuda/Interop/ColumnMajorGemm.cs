namespace ModelDsl.Cuda.Interop;

/// <summary>
/// The cuBLAS (column-major) arguments for a row-major GEMM. A row-major matrix with row stride ld is, read
/// column-major with the same ld, its transpose; so the row-major <c>C = op(A)·op(B)</c> (m×n) is the column-major
/// <c>Cᵀ = op(B)ᵀ·op(A)ᵀ</c> (n×m): swap the operands, swap m and n, keep every op flag and leading dimension.
/// </summary>
internal readonly record struct ColumnMajorGemm(
    cublasOperation_t TransA, cublasOperation_t TransB, int M, int N, int K,
    DevicePointer A, int Lda, DevicePointer B, int Ldb, DevicePointer C, int Ldc)
{
    /// <summary>The column-major call for the row-major arguments of <c>ModelDsl.Runtime.Cpu.Sgemm.Multiply</c>.</summary>
    public static ColumnMajorGemm FromRowMajor(bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, DevicePointer c, int ldc) =>
        new(Op(transB), Op(transA), n, m, k, b, ldb, a, lda, c, ldc);

    private static cublasOperation_t Op(bool transposed) =>
        transposed ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N;
}
