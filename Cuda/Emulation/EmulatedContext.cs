using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace ModelDsl.Cuda.Emulation;

/// <summary>
/// The CPU emulator of generated CUDA C: each module is compiled by g++ together with <c>cuda_emulation.h</c> into a
/// shared library (cached on disk, see <see cref="CacheDirectory"/>) whose kernels run blocks one after another and a
/// block's threads as fibers. Device memory is 256-byte aligned, zeroed host memory: a device pointer is its host
/// address. Every copy, clear, free, GEMM operand and kernel pointer argument is checked against the live allocations.
/// Launches run synchronously on the calling thread, so errors name the failing kernel at once.
/// </summary>
public sealed unsafe class EmulatedContext : GpuContext
{
    private const nuint Alignment = 256;

    private readonly EmulationCompiler _compiler;
    private readonly AllocationTable _allocations = new();
    private readonly List<EmulatedModule> _modules = [];
    private List<Action>? _recording; // the calls of the graph being captured, in order; null when none is
    private bool _disposed;

    /// <summary>
    /// An emulator compiling with <paramref name="compiler"/> (a name looked up on PATH, or a path), else <c>$CXX</c>,
    /// else <c>g++</c>. Throws <see cref="CudaUnavailableException"/> when that compiler is not installed.
    /// </summary>
    public EmulatedContext(string? compiler = null)
    {
        _compiler = EmulationCompiler.Find(compiler);
    }

    ~EmulatedContext() => Dispose(false);

    public override string DeviceName => $"CPU emulation ({_compiler.DisplayName})";

    public override bool IsEmulated => true;

    /// <summary>Where compiled modules are kept: <c>$MODELDSL_CACHE_DIR/emulated</c>, else <c>$XDG_CACHE_HOME/modeldsl/emulated</c>, else <c>~/.cache/modeldsl/emulated</c>.</summary>
    public static string CacheDirectory => EmulationCompiler.CacheDirectory;

    public override GpuModule LoadModule(string moduleName, string cudaSource)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        ArgumentNullException.ThrowIfNull(cudaSource);
        ThrowIfDisposed();
        IReadOnlyList<KernelDeclaration> kernels = KernelDeclarations.Find(cudaSource);
        string library = _compiler.Build(moduleName, cudaSource, kernels);
        nint handle;
        try
        {
            handle = NativeLibrary.Load(library);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new CudaException($"CUDA module '{moduleName}': the emulator could not load {library}: {e.Message}", e);
        }
        var module = new EmulatedModule(this, moduleName, handle, kernels);
        _modules.Add(module);
        return module;
    }

    public override DeviceVariable Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ThrowIfDisposed();
        if (IsCapturing) throw CaptureRefused($"Allocate({bytes} bytes)");
        void* memory;
        try
        {
            memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), Alignment);
        }
        catch (OutOfMemoryException e)
        {
            throw new CudaException($"out of emulated device memory: {bytes} bytes could not be allocated", e);
        }
        NativeMemory.Clear(memory, (nuint)bytes);
        _allocations.Add((ulong)memory, bytes);
        return new DeviceVariable(this, new DevicePointer((ulong)memory), bytes);
    }

    /// <summary>
    /// The CPU's <c>ModelDsl.Runtime.Cpu.Sgemm.Multiply</c> on the operands' host memory, after checking each lies in one
    /// allocation; with <see cref="GpuContext.Tf32"/>, on copies of A and B rounded to TF32 (<see cref="BFloat16.RoundToTf32"/>).
    /// </summary>
    public override void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc)
    {
        ThrowIfDisposed();
        if (m > 0 && n > 0)
        {
            CheckMatrix(c, m, n, ldc, "C");
            if (k > 0 && alpha != 0f)
            {
                CheckMatrix(a, transA ? k : m, transA ? m : k, lda, "A");
                CheckMatrix(b, transB ? n : k, transB ? k : n, ldb, "B");
            }
        }
        if (IsCapturing && Record(SgemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))) return;
        if (Tf32 && m > 0 && n > 0 && k > 0 && alpha != 0f)
        {
            // A tensor core reads FP32 operands as TF32: round copies of A and B, then accumulate in FP32.
            float[] ra = RoundedCopy((float*)a.Address, transA ? k : m, transA ? m : k, lda, BFloat16.RoundToTf32);
            float[] rb = RoundedCopy((float*)b.Address, transB ? n : k, transB ? k : n, ldb, BFloat16.RoundToTf32);
            fixed (float* pa = ra, pb = rb)
                Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, (float*)c.Address, ldc);
            return;
        }
        Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, alpha, (float*)a.Address, lda, (float*)b.Address, ldb, beta, (float*)c.Address, ldc);
    }

    /// <summary>The emulator's TF32 mode only changes how <see cref="Sgemm"/> reads its operands.</summary>
    private protected override void SetTf32(bool enabled) => ThrowIfDisposed();

    /// <summary>
    /// The BF16 GEMM as a GPU computes it: the BF16 operands widened to float (exact), then the FP32 SGEMM (FP32
    /// accumulation; the sum order is the CPU SGEMM's, not cuBLAS's, so results agree with a GPU to FP32 rounding of the
    /// sums, not bit for bit). Each operand is checked against the live allocations at 2 bytes per element. A BF16 C
    /// (<paramref name="bf16C"/>) is widened into FP32 (when beta reads it), the product computed there, and each element
    /// rounded back once, to nearest even (BFloat16.Round, md_bf16_from_float's function).
    /// </summary>
    public override void GemmBf16(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, bool bf16C = false)
    {
        ThrowIfDisposed();
        CheckSgemm(transA, transB, m, n, k, lda, ldb, ldc);
        if (m <= 0 || n <= 0) return;
        if (IsCapturing && Record(GemmBf16Call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bf16C))) return; // checked when replayed
        CheckMatrix(c, m, n, ldc, "C", bf16C ? sizeof(ushort) : sizeof(float));
        bool product = k != 0 && alpha != 0f;
        if (product)
        {
            CheckMatrix(a, transA ? k : m, transA ? m : k, lda, "A", sizeof(ushort));
            CheckMatrix(b, transB ? n : k, transB ? k : n, ldb, "B", sizeof(ushort));
        }
        // C in FP32: the destination itself, or (BF16 C) a float copy, widened only where beta reads it.
        float[]? wc = bf16C ? (beta != 0f ? Widened((ushort*)c.Address, m, n, ldc) : new float[(long)(m - 1) * ldc + n]) : null;
        fixed (float* pc = wc)
        {
            float* cFloat = bf16C ? pc : (float*)c.Address;
            if (!product) Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, alpha, null, lda, null, ldb, beta, cFloat, ldc);
            else
            {
                float[] wa = Widened((ushort*)a.Address, transA ? k : m, transA ? m : k, lda);
                float[] wb = Widened((ushort*)b.Address, transB ? n : k, transB ? k : n, ldb);
                fixed (float* pa = wa, pb = wb)
                    Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, cFloat, ldc);
            }
            if (!bf16C) return;
            ushort* c16 = (ushort*)c.Address;
            for (int r = 0; r < m; r++)
                for (int col = 0; col < n; col++) c16[(long)r * ldc + col] = BFloat16.Round(pc[(long)r * ldc + col]);
        }
    }

    // A rows × cols matrix with row stride ld, copied with the same stride (the gaps stay 0).
    private static float[] RoundedCopy(float* source, int rows, int cols, int ld, Func<float, float> round)
    {
        var copy = new float[(long)(rows - 1) * ld + cols];
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col++) copy[(long)r * ld + col] = round(source[(long)r * ld + col]);
        return copy;
    }

    private static float[] Widened(ushort* source, int rows, int cols, int ld)
    {
        var copy = new float[(long)(rows - 1) * ld + cols];
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col++) copy[(long)r * ld + col] = BFloat16.Widen(source[(long)r * ld + col]);
        return copy;
    }

    /// <summary>
    /// <see cref="Sgemm"/> once per matrix of the batch, in order; each matrix is checked against the live allocations, so
    /// a stride that walks off a buffer names the operand.
    /// </summary>
    public override void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, long strideA, DevicePointer b, int ldb, long strideB, float beta,
        DevicePointer c, int ldc, long strideC, int batchCount)
    {
        ThrowIfDisposed();
        if (!CheckStridedBatched(transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC, batchCount)) return;
        if (IsCapturing && Record(StridedBatchedCall(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount))) return;
        for (int i = 0; i < batchCount; i++)
            Sgemm(transA, transB, m, n, k, alpha, a.Plus(i * strideA), lda, b.Plus(i * strideB), ldb, beta, c.Plus(i * strideC), ldc);
    }

    /// <summary>
    /// <see cref="Sgemm"/> (the CPU's SGEMM), then the epilogue's formulas in float, as <see cref="GemmEpilogue"/> states
    /// them and cuBLASLt computes them: GELU's tanh form and its derivative are the CPU backend's
    /// (<c>Activations.GeluTanh</c>/<c>GeluTanhGrad</c>), so an epilogue on the emulator matches the generated kernel it
    /// replaces. Bias gradients are summed in row order. Every operand is checked against the live allocations.
    /// </summary>
    public override void SgemmEpilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default)
    {
        ThrowIfDisposed();
        CheckEpilogue(epilogue, transA, transB, m, n, k, lda, ldb, beta, a, b, c, ldc, bias, aux);
        CheckMatrix(bias, 1, epilogue == GemmEpilogue.BiasGradientOfA ? m : n, 1, "bias");
        if (!aux.IsNull) CheckMatrix(aux, m, n, ldc, "aux");
        if (IsCapturing && Record(EpilogueCall(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux))) return;
        float* vector = (float*)bias.Address;
        switch (epilogue)
        {
            case GemmEpilogue.Bias:
            {
                Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);
                for (int i = 0; i < m; i++)
                {
                    float* row = (float*)c.Address + (long)i * ldc;
                    for (int j = 0; j < n; j++) row[j] += vector[j];
                }
                break;
            }
            case GemmEpilogue.GeluAuxBias:
            {
                Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, aux, ldc);
                for (int i = 0; i < m; i++)
                {
                    float* input = (float*)aux.Address + (long)i * ldc, output = (float*)c.Address + (long)i * ldc;
                    for (int j = 0; j < n; j++)
                    {
                        float x = input[j] + vector[j];
                        input[j] = x;
                        output[j] = Runtime.Cpu.Activations.GeluTanh(x);
                    }
                }
                break;
            }
            case GemmEpilogue.GeluGradientBiasGradient:
            {
                Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
                new Span<float>(vector, n).Clear();
                for (int i = 0; i < m; i++)
                {
                    float* input = (float*)aux.Address + (long)i * ldc, output = (float*)c.Address + (long)i * ldc;
                    for (int j = 0; j < n; j++)
                    {
                        float g = output[j] * Runtime.Cpu.Activations.GeluTanhGrad(input[j]);
                        output[j] = g;
                        vector[j] += g;
                    }
                }
                break;
            }
            case GemmEpilogue.BiasGradientOfA:
            {
                // bias[row] = Σ_k op(A)[row, k], summed in k order
                float* stored = (float*)a.Address;
                for (int i = 0; i < m; i++)
                {
                    float sum = 0f;
                    for (int p = 0; p < k; p++) sum += transA ? stored[(long)p * lda + i] : stored[(long)i * lda + p];
                    vector[i] = sum;
                }
                Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);
                break;
            }
        }
    }

    /// <summary>
    /// <see cref="GpuContext.GemmBf16Epilogue"/> as cuBLASLt computes it: the BF16 operands widened (exactly), the FP32
    /// product with beta·C (a BF16 C widened) by the CPU's SGEMM, then <see cref="SgemmEpilogue"/>'s formulas in float,
    /// the bias read (or written) and aux kept in C's element type; a BF16 C and aux are rounded once, to nearest even
    /// (<see cref="BFloat16.Round(float)"/>, md_bf16_from_float's function). With a float C the results are those of
    /// <see cref="SgemmEpilogue"/> on the widened operands (FP32 math mode), bit for bit. Every operand is checked against the live
    /// allocations at its element size.
    /// </summary>
    public override void GemmBf16Epilogue(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux = default, bool bf16C = false)
    {
        ThrowIfDisposed();
        CheckEpilogue(epilogue, transA, transB, m, n, k, lda, ldb, beta, a, b, c, ldc, bias, aux, bf16C);
        int size = bf16C ? sizeof(ushort) : sizeof(float);
        CheckMatrix(bias, 1, epilogue == GemmEpilogue.BiasGradientOfA ? m : n, 1, "bias", size);
        if (!aux.IsNull) CheckMatrix(aux, m, n, ldc, "aux", size);
        if (IsCapturing && Record(GemmBf16EpilogueCall(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux, bf16C))) return;
        CheckMatrix(c, m, n, ldc, "C", size);
        CheckMatrix(a, transA ? k : m, transA ? m : k, lda, "A", sizeof(ushort));
        CheckMatrix(b, transB ? n : k, transB ? k : n, ldb, "B", sizeof(ushort));

        // P = op(A)·op(B) + beta·C in FP32 (row stride ldc; C read only where beta is not 0).
        float[] wa = Widened((ushort*)a.Address, transA ? k : m, transA ? m : k, lda);
        float[] wb = Widened((ushort*)b.Address, transB ? n : k, transB ? k : n, ldb);
        float[] product = new float[(long)(m - 1) * ldc + n];
        if (beta != 0f)
        {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) product[(long)i * ldc + j] = Load(c, (long)i * ldc + j);
        }
        fixed (float* pa = wa, pb = wb, pp = product)
            Runtime.Cpu.Sgemm.Multiply(transA, transB, m, n, k, 1f, pa, lda, pb, ldb, beta, pp, ldc);

        switch (epilogue)
        {
            case GemmEpilogue.Bias:
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) Store(c, (long)i * ldc + j, product[(long)i * ldc + j] + Load(bias, j));
                break;
            case GemmEpilogue.GeluAuxBias:
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        long at = (long)i * ldc + j;
                        float x = product[at] + Load(bias, j); // the GELU reads the FP32 sum; aux keeps it in C's type
                        Store(aux, at, x);
                        Store(c, at, Runtime.Cpu.Activations.GeluTanh(x));
                    }
                }
                break;
            case GemmEpilogue.GeluGradientBiasGradient:
            {
                float* vector = (float*)bias.Address;
                new Span<float>(vector, n).Clear();
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        long at = (long)i * ldc + j;
                        float g = product[at] * Runtime.Cpu.Activations.GeluTanhGrad(((float*)aux.Address)[at]);
                        ((float*)c.Address)[at] = g;
                        vector[j] += g;
                    }
                }
                break;
            }
            case GemmEpilogue.BiasGradientOfA:
            {
                // bias[row] = Σ_k op(A)[row, k] over A's BF16 values, summed in k order
                float* vector = (float*)bias.Address;
                for (int i = 0; i < m; i++)
                {
                    float sum = 0f;
                    for (int p = 0; p < k; p++) sum += transA ? wa[(long)p * lda + i] : wa[(long)i * lda + p];
                    vector[i] = sum;
                }
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) ((float*)c.Address)[(long)i * ldc + j] = product[(long)i * ldc + j];
                break;
            }
        }

        float Load(DevicePointer p, long at) => bf16C ? BFloat16.Widen(((ushort*)p.Address)[at]) : ((float*)p.Address)[at];

        void Store(DevicePointer p, long at, float value)
        {
            if (bf16C) ((ushort*)p.Address)[at] = BFloat16.Round(value);
            else ((float*)p.Address)[at] = value;
        }
    }

    /// <summary>Nothing to wait for: emulated launches finish before <see cref="GpuKernel.Launch"/> returns.</summary>
    public override void Synchronize()
    {
        ThrowIfDisposed();
        if (IsCapturing) throw CaptureRefused("Synchronize");
    }

    /// <summary>Always true: emulated launches finish before <see cref="GpuKernel.Launch"/> returns.</summary>
    public override bool IsIdle()
    {
        ThrowIfDisposed();
        if (IsCapturing) throw CaptureRefused("IsIdle");
        return true;
    }

    // CUDA graphs: a capture records each launch and GEMM as the same call with the same arguments (checked when
    // recorded, and again when replayed, against the allocations live then); the graph replays them in order.
    private protected override void BeginCapture()
    {
        ThrowIfDisposed();
        _recording = [];
    }

    private protected override GpuGraph EndCapture()
    {
        var graph = new EmulatedGraph(this, _recording!.ToArray());
        _recording = null;
        return graph;
    }

    private protected override void AbortCapture() => _recording = null;

    // The recorded calls are made here, not in the methods that record them: a lambda over a method's parameters would
    // allocate its closure at every call of that method, captured or not (and launches must not allocate).
    private Action SgemmCall(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc) =>
        KeepingMathMode(() => Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));

    private Action StridedBatchedCall(bool transA, bool transB, int m, int n, int k, float alpha, DevicePointer a, int lda, long strideA,
        DevicePointer b, int ldb, long strideB, float beta, DevicePointer c, int ldc, long strideC, int batchCount) =>
        KeepingMathMode(() => SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount));

    private Action EpilogueCall(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux) =>
        KeepingMathMode(() => SgemmEpilogue(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux));

    private Action GemmBf16EpilogueCall(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k, DevicePointer a, int lda,
        DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, DevicePointer bias, DevicePointer aux, bool bf16C) =>
        () => GemmBf16Epilogue(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, aux, bf16C);

    /// <summary>A captured product replays in the math mode (<see cref="GpuContext.Tf32"/>) it was captured in, as cuBLAS's captured kernel does on a GPU.</summary>
    private Action KeepingMathMode(Action product)
    {
        bool tf32 = Tf32;
        return () =>
        {
            bool current = Tf32;
            Tf32 = tf32;
            try
            {
                product();
            }
            finally
            {
                Tf32 = current;
            }
        };
    }

    private Action GemmBf16Call(bool transA, bool transB, int m, int n, int k, float alpha,
        DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc, bool bf16C) =>
        () => GemmBf16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bf16C);

    /// <summary>While a graph is captured, adds <paramref name="call"/> to it and returns true (the caller then runs nothing).</summary>
    internal bool Record(Action call)
    {
        if (_recording is null) return false;
        _recording.Add(call);
        return true;
    }

    internal override void CopyToDevice(DevicePointer destination, ReadOnlySpan<byte> source)
    {
        if (IsCapturing) throw CaptureRefused($"copy of {source.Length} bytes to the device");
        CheckRange(destination, source.Length, "copy to the device");
        source.CopyTo(new Span<byte>((void*)destination.Address, source.Length));
    }

    internal override void CopyToHost(Span<byte> destination, DevicePointer source)
    {
        if (IsCapturing) throw CaptureRefused($"copy of {destination.Length} bytes from the device");
        CheckRange(source, destination.Length, "copy from the device");
        new ReadOnlySpan<byte>((void*)source.Address, destination.Length).CopyTo(destination);
    }

    internal override void Clear(DevicePointer destination, long bytes)
    {
        if (IsCapturing) throw CaptureRefused($"clear of {bytes} bytes");
        CheckRange(destination, bytes, "clear");
        NativeMemory.Clear((void*)destination.Address, (nuint)bytes);
    }

    internal override void Free(DevicePointer pointer)
    {
        if (_disposed) return;  // freed with the context already
        if (!_allocations.Remove(pointer.Address))
            throw new CudaException($"free of {pointer}: not the start of a live emulated device allocation (freed twice?)");
        NativeMemory.AlignedFree((void*)pointer.Address);
    }

    /// <summary>
    /// Bytes of emulated device memory allocated and not yet freed, as requested from <see cref="Allocate"/>: what a GPU's
    /// cuMemAlloc calls would hold (tests compare it with the memory plan <c>modeldsl summary --device cuda</c> prints).
    /// </summary>
    public long AllocatedBytes
    {
        get
        {
            ThrowIfDisposed();
            return _allocations.Bytes;
        }
    }

    /// <summary>True when <paramref name="pointer"/> lies in (or just past the end of) a live allocation: what kernel pointer arguments must satisfy.</summary>
    internal bool IsDeviceAddress(ulong pointer) => _allocations.Contains(pointer, 0);

    internal string DescribeAddress(ulong pointer) => _allocations.Describe(pointer, 0);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    internal void Forget(EmulatedModule module) => _modules.Remove(module);

    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        if (disposing)
        {
            foreach (EmulatedModule module in _modules.ToArray()) module.Dispose();
        }
        foreach (ulong start in _allocations.Starts()) NativeMemory.AlignedFree((void*)start);
        _allocations.Clear();
    }

    private void CheckRange(DevicePointer pointer, long bytes, string what)
    {
        ThrowIfDisposed();
        if (!_allocations.Contains(pointer.Address, bytes))
            throw new CudaException($"{what} of {bytes} bytes at {pointer}: {_allocations.Describe(pointer.Address, bytes)}");
    }

    // A row-major matrix of rows × cols elements (floats, or 2-byte BF16 values) with row stride ld must lie in one allocation.
    private void CheckMatrix(DevicePointer pointer, int rows, int cols, int ld, string name, int elementBytes = sizeof(float))
    {
        if (rows <= 0 || cols <= 0) return;
        long bytes = ((long)(rows - 1) * Math.Max(ld, cols) + cols) * elementBytes;
        if (!_allocations.Contains(pointer.Address, bytes))
            throw new CudaException($"Sgemm operand {name} ({rows}×{cols}, leading dimension {ld}, {bytes} bytes at {pointer}): {_allocations.Describe(pointer.Address, bytes)}");
    }
}

/// <summary>A captured graph on the emulator: the recorded calls, replayed in order (each checked again as it runs).</summary>
internal sealed class EmulatedGraph : GpuGraph
{
    private readonly EmulatedContext _context;
    private Action[]? _calls;

    public EmulatedGraph(EmulatedContext context, Action[] calls)
    {
        _context = context;
        _calls = calls;
    }

    public override int Nodes => _calls?.Length ?? 0;

    public override void Launch()
    {
        ObjectDisposedException.ThrowIf(_calls is null, this);
        _context.ThrowIfDisposed();
        if (_context.IsCapturing) throw new InvalidOperationException("launching a CUDA graph while another is being captured is not supported");
        foreach (Action call in _calls) call();
    }

    public override void Dispose() => _calls = null;
}
