using System;

namespace ModelDsl.Cuda;

/// <summary>
/// A device the generated CUDA code runs on: a real NVIDIA GPU (<see cref="CudaContext"/>, through the driver API, NVRTC
/// and cuBLAS) or the CPU emulator (<see cref="Emulation.EmulatedContext"/>, which compiles the same generated CUDA C with
/// g++). Generated model code only talks to this class, <see cref="GpuKernel"/> and <see cref="DeviceVariable"/>, so both
/// run every kernel through one launch path.
/// </summary>
/// <remarks>
/// The surface follows ManagedCuda's concepts on purpose (ManagedCuda is the binding the design names, but no version of
/// it is served by the package registry this project builds from): <c>CudaContext</c> ↔ this class, <c>CudaKernel</c> ↔
/// <see cref="GpuKernel"/>, <c>CudaDeviceVariable&lt;T&gt;</c> ↔ <see cref="DeviceVariable"/>, <c>CudaBlas.Gemm</c> ↔
/// <see cref="Sgemm"/>, <c>CudaBlas.GemmStridedBatched</c> ↔ <see cref="SgemmStridedBatched"/>. Replacing
/// <see cref="CudaContext"/>'s internals with ManagedCuda calls is mechanical.
/// Not thread-safe: one context is driven by one thread at a time, like a CUDA stream.
/// </remarks>
public abstract class GpuContext : IDisposable
{
    /// <summary>What runs the kernels, for logs and benchmark tables: <c>NVIDIA H100 80GB HBM3 (sm_90)</c>, <c>CPU emulation (g++ 12.2.0)</c>.</summary>
    public abstract string DeviceName { get; }

    /// <summary>True for the CPU emulator.</summary>
    public abstract bool IsEmulated { get; }

    /// <summary>
    /// The first CUDA device (or <paramref name="ordinal"/>). Throws <see cref="CudaUnavailableException"/> with the reason
    /// (no driver, no device, no NVRTC or cuBLAS) when there is none; callers that can fall back to the CPU catch it.
    /// </summary>
    public static GpuContext OpenCuda(int ordinal = 0) => CudaContext.Create(ordinal);

    /// <summary>The CPU emulator: generated CUDA C compiled with g++ against the project's emulation header.</summary>
    public static GpuContext OpenEmulated() => new Emulation.EmulatedContext();

    /// <summary>
    /// The context a <c>--device</c> option names: <c>cpu</c> → null (train on the CPU backend), <c>cuda</c> →
    /// <see cref="OpenCuda"/>, <c>emulated</c> → <see cref="OpenEmulated"/>. The examples' one way to pick a device.
    /// </summary>
    public static GpuContext? ForDevice(string device) => device switch
    {
        "cpu" => null,
        "cuda" => OpenCuda(),
        "emulated" => OpenEmulated(),
        _ => throw new ArgumentException($"unknown device '{device}': expected cpu, cuda or emulated", nameof(device)),
    };

    /// <summary>
    /// Compiles <paramref name="cudaSource"/> (NVRTC to PTX on a GPU, cached on disk by source hash, NVRTC version and
    /// architecture; g++ in the emulator) and loads it. <paramref name="moduleName"/> names the module in errors.
    /// </summary>
    public abstract GpuModule LoadModule(string moduleName, string cudaSource);

    /// <summary>Device memory of <paramref name="bytes"/> bytes, zeroed.</summary>
    public abstract DeviceVariable Allocate(long bytes);

    /// <summary>
    /// Bytes of the <see cref="DeviceVariable"/>s of this context not yet disposed: what ModelDsl allocated (parameters,
    /// gradients, optimizer state, activations, workspaces), not the CUDA context, module code or cuBLAS's own workspace.
    /// </summary>
    public long DeviceBytesInUse { get; private set; }

    /// <summary>The most <see cref="DeviceBytesInUse"/> has been since the context opened or <see cref="ResetPeakDeviceBytes"/>
    /// (bench/GpuBench's peak memory, as PyTorch's <c>torch.cuda.max_memory_allocated</c>).</summary>
    public long PeakDeviceBytes { get; private set; }

    /// <summary>Starts <see cref="PeakDeviceBytes"/> again from what is in use now.</summary>
    public void ResetPeakDeviceBytes() => PeakDeviceBytes = DeviceBytesInUse;

    internal void CountAllocation(long bytes)
    {
        DeviceBytesInUse += bytes;
        if (DeviceBytesInUse > PeakDeviceBytes) PeakDeviceBytes = DeviceBytesInUse;
    }

    /// <summary>
    /// Row-major <c>C = alpha·op(A)·op(B) + beta·C</c> with the same argument meaning as the CPU
    /// <c>ModelDsl.Runtime.Cpu.Sgemm.Multiply</c> (A is [M, K], or [K, M] when transposed; leading dimensions are row
    /// strides). On a GPU this is cuBLAS (the row-major product is the column-major product of the transposes).
    /// </summary>
    public abstract void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc);

    /// <summary>
    /// <paramref name="batchCount"/> products of one shape in one call: for i in 0..batchCount,
    /// <c>C_i = alpha·op(A_i)·op(B_i) + beta·C_i</c>, where <c>A_i = a + i·strideA</c> (strides in elements, B and C likewise),
    /// each with <see cref="Sgemm"/>'s row-major argument rules. A stride of 0 shares one matrix across the batch (a weight);
    /// the C matrices must not overlap (their order is unspecified on a GPU). On a GPU this is one
    /// <c>cublasSgemmStridedBatched</c> (ManagedCuda's <c>CudaBlas.GemmStridedBatched</c>).
    /// </summary>
    public abstract void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB, float beta,
        DevicePointer c, int ldc, long strideC, int batchCount);

    /// <summary>
    /// A row-major GEMM whose result passes through <paramref name="epilogue"/> before it is stored: with
    /// <c>P = op(A)·op(B)</c> ([m, n]; argument rules of <see cref="Sgemm"/>, alpha 1), see <see cref="GemmEpilogue"/> for
    /// what each writes to C, <paramref name="bias"/> and <paramref name="aux"/>. On a GPU this is one <c>cublasLtMatmul</c>
    /// with the matching <c>CUBLASLT_EPILOGUE_*</c> (llm.c's <c>matmul.cuh</c>), which applies it while the product is
    /// still in registers: one pass over C instead of two. The emulator computes the same formulas on the CPU.
    /// m, n and k are at least 1; <paramref name="aux"/> is given exactly for the two GELU epilogues (with C's leading
    /// dimension, not overlapping C), which also require beta = 0.
    /// </summary>
    public abstract void SgemmEpilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default);

    /// <summary>
    /// <see cref="SgemmEpilogue"/> on BF16 operands: A and B hold BF16 values (2 bytes each, <c>md_bf16</c>; leading
    /// dimensions in elements), the product accumulates in FP32 and the epilogue's formulas run in FP32 on it. C is float
    /// (a gradient, or an FP32 activation), or BF16 when <paramref name="bf16C"/> (a forward epilogue whose destination is a
    /// BF16 activation): then beta·C reads the BF16 values and every element is rounded once, to nearest even, when stored.
    /// The bias and the aux matrix have C's element type, as cuBLASLt requires (its bias type defaults to D's, and the
    /// GELU input it keeps has D's type): with a BF16 C the bias is read as BF16 (a parameter's BF16 copy) and aux
    /// written in BF16. The two gradient epilogues (<see cref="GemmEpilogue.GeluGradientBiasGradient"/>,
    /// <see cref="GemmEpilogue.BiasGradientOfA"/>) write FP32 gradients only (<paramref name="bf16C"/> false); a bias
    /// gradient of A sums A's BF16 values. On a GPU this is one <c>cublasLtMatmul</c> with A and B <c>CUDA_R_16BF</c>,
    /// <c>CUBLAS_COMPUTE_32F</c>, scale type <c>CUDA_R_32F</c>, C and D <c>CUDA_R_16BF</c> or <c>CUDA_R_32F</c> and
    /// <c>CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE</c> set to the same type (llm.c's <c>matmul_cublaslt</c>); the emulator
    /// widens the operands (exactly) and computes the same formulas. Otherwise <see cref="SgemmEpilogue"/>'s rules.
    /// </summary>
    public abstract void GemmBf16Epilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default, bool bf16C = false);

    /// <summary>
    /// True: <see cref="Sgemm"/> and <see cref="SgemmStridedBatched"/> run on tensor cores in TF32 (FP32 operands read with
    /// 10 mantissa bits, FP32 accumulation; cuBLAS's <c>CUBLAS_TF32_TENSOR_OP_MATH</c>). False (the default): plain FP32,
    /// so the CPU backend stays a meaningful reference. A session in TF32 precision sets it before its products
    /// (docs/cuda.md "Precision"); setting the value it already has costs nothing.
    /// </summary>
    public bool Tf32
    {
        get => _tf32;
        set
        {
            if (value == _tf32) return;
            SetTf32(value);
            _tf32 = value;
        }
    }

    private bool _tf32;

    /// <summary>Switches the FP32 GEMMs' math mode (<see cref="Tf32"/> calls it only on a change).</summary>
    private protected abstract void SetTf32(bool enabled);

    /// <summary>
    /// Row-major <c>C = alpha·op(A)·op(B) + beta·C</c> with BF16 operands and FP32 accumulation: A and B hold BF16 values
    /// (2 bytes each, <c>md_bf16</c>; leading dimensions in elements), C floats, or BF16 when <paramref name="bf16C"/> (a
    /// product whose destination is an activation of a Bf16 session: the FP32 sum rounded once to nearest even, and beta·C
    /// read from the BF16 values). <see cref="Sgemm"/>'s argument rules otherwise. On a GPU this is <c>cublasGemmEx</c> with
    /// <c>CUDA_R_16BF</c> inputs, a <c>CUDA_R_32F</c> (or <c>CUDA_R_16BF</c>) output and <c>CUBLAS_COMPUTE_32F</c> (tensor
    /// cores); the emulator widens the operands (exactly), runs the FP32 SGEMM and rounds a BF16 C as md_bf16_from_float.
    /// </summary>
    public abstract void GemmBf16(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, bool bf16C = false);

    /// <summary>Waits for all queued work; errors of earlier asynchronous launches surface here.</summary>
    public abstract void Synchronize();

    /// <summary>
    /// True when all queued work has finished, without waiting (on a GPU, <c>cuStreamQuery</c> of the default stream).
    /// For a caller that waits with a deadline of its own, where <see cref="Synchronize"/> would wait forever for work
    /// that cannot finish: an NCCL collective whose peer rank died (<c>GpuDataParallel</c>). Errors of earlier
    /// asynchronous launches surface here, as in Synchronize.
    /// </summary>
    public abstract bool IsIdle();

    /// <summary>
    /// Records the kernel launches and GEMMs <paramref name="work"/> issues as a CUDA graph instead of running them, and
    /// returns the graph instantiated: <see cref="GpuGraph.Launch"/> replays them all with one call, with the arguments
    /// they had when captured (sizes, pointers and scalars are baked in; a value that must change between replays has to
    /// be read by the kernels from device memory). On a GPU this is <c>cuStreamBeginCapture_v2</c> on a stream of the
    /// context's own (cuBLAS set to it), <c>cuStreamEndCapture</c> and <c>cuGraphInstantiateWithFlags</c>; the emulator
    /// records the calls and replays them in order.
    /// </summary>
    /// <remarks>
    /// Nothing runs during the capture. A host copy, clear, allocation or synchronisation inside <paramref name="work"/>
    /// cannot be part of a graph: it throws <see cref="CudaException"/> naming the call, the capture is abandoned, and the
    /// exception propagates, so a caller can fall back to plain launches and say why. A driver without the graph API
    /// (before CUDA 11.4) throws naming the missing call.
    /// </remarks>
    public GpuGraph CaptureGraph(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (IsCapturing) throw new InvalidOperationException("a CUDA graph is already being captured on this context");
        BeginCapture();
        IsCapturing = true;
        try
        {
            work();
        }
        catch
        {
            IsCapturing = false;
            AbortCapture();
            throw;
        }
        IsCapturing = false;
        return EndCapture();
    }

    /// <summary>True inside <see cref="CaptureGraph"/>: launches and GEMMs are recorded, not run.</summary>
    public bool IsCapturing { get; private set; }

    /// <summary>Starts recording (<see cref="CaptureGraph"/>); throws, recording nothing, when graphs are not available.</summary>
    private protected abstract void BeginCapture();

    /// <summary>Stops recording and instantiates what was recorded.</summary>
    private protected abstract GpuGraph EndCapture();

    /// <summary>Stops recording after a failure inside the capture and drops what was recorded (does not throw).</summary>
    private protected abstract void AbortCapture();

    /// <summary>
    /// The error of a host copy, clear, allocation or synchronisation while <see cref="IsCapturing"/>: none of them can be
    /// captured. Callers test <see cref="IsCapturing"/> first, so the message is only built when it is thrown.
    /// </summary>
    private protected static CudaException CaptureRefused(string call) =>
        new($"{call} while a CUDA graph is being captured: a host copy, clear, allocation or synchronisation cannot be part of a graph");

    /// <summary>
    /// <see cref="Sgemm"/>'s argument rules, those of the CPU <c>Sgemm.Multiply</c>: sizes not negative, leading
    /// dimensions at least the row lengths of the operands as stored.
    /// </summary>
    private protected static void CheckSgemm(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
    }

    /// <summary>
    /// The argument checks of <see cref="SgemmStridedBatched"/> in both implementations: <see cref="Sgemm"/>'s (sizes not
    /// negative, leading dimensions at least the row lengths), a batch count and strides that are not negative, and C
    /// matrices that do not overlap (one C's last row ends before the next C begins). True when there is work to do.
    /// </summary>
    private protected static bool CheckStridedBatched(bool transA, bool transB, int m, int n, int k,
        int lda, long strideA, int ldb, long strideB, int ldc, long strideC, int batchCount)
    {
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        ArgumentOutOfRangeException.ThrowIfNegative(batchCount);
        ArgumentOutOfRangeException.ThrowIfNegative(strideA);
        ArgumentOutOfRangeException.ThrowIfNegative(strideB);
        ArgumentOutOfRangeException.ThrowIfNegative(strideC);
        if (m <= 0 || n <= 0 || batchCount == 0) return false;
        long matrixC = (long)(m - 1) * ldc + n;
        if (batchCount > 1 && strideC < matrixC)
            throw new ArgumentOutOfRangeException(nameof(strideC), strideC,
                $"the batch's C matrices overlap: each spans {matrixC} elements ({m}×{n}, leading dimension {ldc}), so strideC must be at least that");
        return true;
    }

    /// <summary>The argument checks of <see cref="SgemmEpilogue"/> and <see cref="GemmBf16Epilogue"/> in both implementations.</summary>
    private protected static void CheckEpilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        int lda, int ldb, float beta, DevicePointer a, DevicePointer b, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux, bool bf16C = false)
    {
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (a.IsNull) throw new ArgumentNullException(nameof(a));
        if (b.IsNull) throw new ArgumentNullException(nameof(b));
        if (c.IsNull) throw new ArgumentNullException(nameof(c));
        if (bias.IsNull) throw new ArgumentNullException(nameof(bias), $"the {epilogue} epilogue needs its bias vector");
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        if (!Enum.IsDefined(epilogue)) throw new ArgumentOutOfRangeException(nameof(epilogue), epilogue, "not a GemmEpilogue");
        if (gelu && aux.IsNull) throw new ArgumentNullException(nameof(aux), $"the {epilogue} epilogue needs the GELU input matrix (aux)");
        if (!gelu && !aux.IsNull) throw new ArgumentException($"the {epilogue} epilogue takes no aux matrix", nameof(aux));
        if (gelu && beta != 0f) throw new ArgumentOutOfRangeException(nameof(beta), beta, $"the {epilogue} epilogue overwrites C: beta must be 0");
        if (bf16C && epilogue is GemmEpilogue.GeluGradientBiasGradient or GemmEpilogue.BiasGradientOfA)
            throw new ArgumentException($"the {epilogue} epilogue writes an FP32 gradient: a BF16 C is for the forward epilogues (Bias, GeluAuxBias)", nameof(bf16C));
        if (gelu)
        {
            long bytes = ((long)(m - 1) * ldc + n) * (bf16C ? sizeof(ushort) : sizeof(float));
            if (aux.Address < c.Address + (ulong)bytes && c.Address < aux.Address + (ulong)bytes)
                throw new ArgumentException($"the {epilogue} epilogue's aux matrix overlaps C", nameof(aux));
        }
    }

    internal abstract void CopyToDevice(DevicePointer destination, ReadOnlySpan<byte> source);
    internal abstract void CopyToHost(Span<byte> destination, DevicePointer source);
    internal abstract void Clear(DevicePointer destination, long bytes);
    internal abstract void Free(DevicePointer pointer);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}

/// <summary>
/// What <see cref="GpuContext.SgemmEpilogue"/> does with the row-major product <c>P = op(A)·op(B)</c> ([m, n]), in the
/// order cuBLASLt's epilogues define it. GELU here is the tanh form (cuBLASLt's, and <c>gelu(approximate="tanh")</c>'s):
/// ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Bias vectors are float arrays on the device (BF16 ones for
/// <see cref="GpuContext.GemmBf16Epilogue"/>'s forward epilogues into a BF16 C).
/// </summary>
public enum GemmEpilogue
{
    /// <summary><c>C = P + beta·C + bias[col]</c>; bias has n elements (a dense layer's forward). cuBLASLt: <c>BIAS</c>.</summary>
    Bias,

    /// <summary>
    /// <c>aux = P + bias[col]</c>, <c>C = gelu(aux)</c>: dense → gelu with the GELU input kept for the backward (bias: n
    /// elements; beta 0). cuBLASLt: <c>GELU_AUX_BIAS</c>.
    /// </summary>
    GeluAuxBias,

    /// <summary>
    /// <c>C = P ⊙ gelu'(aux)</c>, <c>bias[col] = Σ_rows C</c>: the gradient through a GELU whose input is aux, and the
    /// bias gradient of the dense layer before it (bias: n elements, written; beta 0). cuBLASLt: <c>DGELU_BGRAD</c>.
    /// </summary>
    GeluGradientBiasGradient,

    /// <summary>
    /// <c>C = P + beta·C</c>, <c>bias[row] = Σ_k op(A)[row, k]</c>: a dense layer's weight gradient <c>dYᵀ·X</c> (A = dY,
    /// transposed) with its bias gradient, the column sums of dY (bias: m elements, written). cuBLASLt: <c>BGRADB</c>
    /// (row-major A is the column-major call's B).
    /// </summary>
    BiasGradientOfA,
}

/// <summary>
/// An instantiated CUDA graph (<see cref="GpuContext.CaptureGraph"/>): a recorded sequence of kernel launches and GEMMs,
/// replayed by one <see cref="Launch"/> with the arguments they were captured with. Dispose it to free the graph.
/// </summary>
public abstract class GpuGraph : IDisposable
{
    /// <summary>The kernel launches and library calls (GEMMs) recorded in the graph.</summary>
    public abstract int Nodes { get; }

    /// <summary>Queues the whole graph (on a GPU <c>cuGraphLaunch</c> on the default stream, ordered with the copies there).</summary>
    public abstract void Launch();

    public abstract void Dispose();
}

/// <summary>A loaded module of generated kernels.</summary>
public abstract class GpuModule : IDisposable
{
    /// <summary>The kernel <paramref name="name"/> (an <c>extern "C" __global__</c> function of the source); throws naming the module when missing.</summary>
    public abstract GpuKernel GetKernel(string name);

    public abstract void Dispose();
}

/// <summary>One <c>__global__</c> function, launched with a grid, a block and its arguments in declaration order.</summary>
public abstract class GpuKernel
{
    protected GpuKernel(string name) => Name = name;

    public string Name { get; }

    /// <summary>
    /// Queues the kernel. Launch errors throw <see cref="CudaException"/> naming the kernel; errors inside the kernel
    /// surface at the next synchronising call (set <c>MODELDSL_CUDA_SYNC=1</c> to synchronise after every launch and so
    /// name the failing kernel).
    /// </summary>
    public abstract void Launch(Dim3 grid, Dim3 block, ref KernelArguments arguments);
}

/// <summary>A grid or block size.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    /// <summary>Blocks of <paramref name="blockSize"/> threads enough to cover <paramref name="count"/> elements (at least one).</summary>
    public static Dim3 Cover(long count, uint blockSize)
    {
        long blocks = Math.Max(1, (count + blockSize - 1) / blockSize);
        if (blocks > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(count), $"{count} elements need more than 2^31 blocks");
        return new Dim3((uint)blocks);
    }

    public override string ToString() => $"({X}, {Y}, {Z})";
}
