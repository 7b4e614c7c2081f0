using System.Runtime.CompilerServices;

// The tests check the binding's internals (argument slots, error formatting, the column-major GEMM mapping) and drive
// CudaContext against a stand-in driver library.
[assembly: InternalsVisibleTo("ModelDsl.Cuda.Tests")]
