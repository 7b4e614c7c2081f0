using System;
using System.Collections.Generic;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda;

/// <summary>A module loaded by <see cref="CudaContext.LoadModule"/> (a <c>CUmodule</c>; ManagedCuda keeps it behind its <c>CudaKernel</c>s).</summary>
internal sealed unsafe class CudaDeviceModule : GpuModule
{
    private readonly CudaContext _context;
    private readonly CudaModuleHandle _handle;
    private readonly Dictionary<string, CudaDeviceKernel> _kernels = new(StringComparer.Ordinal);

    internal CudaDeviceModule(CudaContext context, string name, CudaModuleHandle handle)
    {
        _context = context;
        Name = name;
        _handle = handle;
    }

    /// <summary>The name the module was loaded under (the NVRTC program name; it names the module in errors).</summary>
    public string Name { get; }

    internal bool IsDisposed => _handle.IsClosed;

    /// <summary>The kernel <paramref name="name"/>, looked up once (<c>cuModuleGetFunction</c>) and then reused.</summary>
    public override GpuKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_kernels.TryGetValue(name, out CudaDeviceKernel? kernel)) return kernel;

        _context.MakeCurrent();
        CudaDriver driver = _context.Driver;
        byte[] symbol = NativeLibraries.ToUtf8(name);
        nint function;
        CUresult result;
        fixed (byte* pointer = symbol) result = driver.cuModuleGetFunction(&function, _handle.DangerousGetHandle(), pointer);
        if (result != CUresult.CUDA_SUCCESS)
        {
            string message = driver.Error($"cuModuleGetFunction(module '{Name}', kernel '{name}')", result).Message;
            throw new CudaException(result == CUresult.CUDA_ERROR_NOT_FOUND
                ? $"{message} (module '{Name}' has no extern \"C\" __global__ function '{name}')"
                : message);
        }
        kernel = new CudaDeviceKernel(_context, this, name, function);
        _kernels.Add(name, kernel);
        return kernel;
    }

    public override void Dispose()
    {
        if (IsDisposed) return;
        _kernels.Clear();
        _handle.Dispose();
        _context.Forget(this);
    }
}

/// <summary>A <c>__global__</c> function of a loaded module (ManagedCuda's <c>CudaKernel</c>, minus its per-launch allocations).</summary>
internal sealed unsafe class CudaDeviceKernel : GpuKernel
{
    private readonly CudaContext _context;
    private readonly CudaDeviceModule _module;
    private readonly nint _function;

    internal CudaDeviceKernel(CudaContext context, CudaDeviceModule module, string name, nint function) : base(name)
    {
        _context = context;
        _module = module;
        _function = function;
    }

    /// <summary>
    /// <c>cuLaunchKernel</c> on the default stream (the capture stream while a graph is captured) with no dynamic shared memory. <c>kernelParams</c> is built on the
    /// stack from the argument slots (pinned for the call), so a launch allocates nothing.
    /// </summary>
    public override void Launch(Dim3 grid, Dim3 block, ref KernelArguments arguments)
    {
        if (_module.IsDisposed) throw new ObjectDisposedException(nameof(CudaDeviceModule), $"kernel '{Name}' belongs to module '{_module.Name}', which is disposed");
        _context.MakeCurrent();
        CudaDriver driver = _context.Driver;
        void** parameters = stackalloc void*[KernelArguments.Capacity];
        CUresult result;
        fixed (ulong* slots = &arguments.First)
        {
            arguments.FillPointers(slots, parameters);
            result = driver.cuLaunchKernel(_function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, _context.Stream, parameters, null);
        }
        if (result != CUresult.CUDA_SUCCESS)
            throw driver.Error($"cuLaunchKernel(kernel '{Name}' of module '{_module.Name}', grid {grid}, block {block}, {arguments.Count} arguments)", result);

        if (_context.IsCapturing)
        {
            _context.CapturedNodes++; // recorded into the graph, not run: nothing to synchronise with
            return;
        }
        if (_context.SynchronizeAfterLaunch)
        {
            result = driver.cuCtxSynchronize();
            if (result != CUresult.CUDA_SUCCESS)
                throw driver.Error($"kernel '{Name}' of module '{_module.Name}' (grid {grid}, block {block}) failed while running; cuCtxSynchronize", result);
        }
    }
}
