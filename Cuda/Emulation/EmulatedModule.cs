using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;

namespace ModelDsl.Cuda.Emulation;

/// <summary>A CUDA module compiled for the emulator: a loaded shared library with a launch thunk per kernel.</summary>
internal sealed class EmulatedModule : GpuModule
{
    private readonly EmulatedContext _context;
    private readonly IReadOnlyList<KernelDeclaration> _kernels;
    private readonly Dictionary<string, EmulatedKernel> _loaded = new(StringComparer.Ordinal);
    private nint _handle;

    public EmulatedModule(EmulatedContext context, string name, nint handle, IReadOnlyList<KernelDeclaration> kernels)
    {
        _context = context;
        Name = name;
        _handle = handle;
        _kernels = kernels;
    }

    public string Name { get; }

    internal EmulatedContext Context => _context;

    public override unsafe GpuKernel GetKernel(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        if (_loaded.TryGetValue(name, out EmulatedKernel? kernel)) return kernel;

        KernelDeclaration? declaration = _kernels.FirstOrDefault(k => k.Name == name);
        if (declaration is null
            || !NativeLibrary.TryGetExport(_handle, KernelDeclarations.LaunchPrefix + name, out nint launch)
            || !NativeLibrary.TryGetExport(_handle, KernelDeclarations.ParametersPrefix + name, out nint parameters))
        {
            string known = _kernels.Count == 0 ? "none" : string.Join(", ", _kernels.Select(k => k.Name));
            throw new CudaException($"CUDA module '{Name}' has no kernel '{name}' (its extern \"C\" __global__ functions: {known})");
        }

        uint pointerMask;
        int count = ((delegate* unmanaged<uint*, int>)parameters)(&pointerMask);
        kernel = new EmulatedKernel(this, declaration, (delegate* unmanaged<uint, uint, uint, uint, uint, uint, void**, byte*, int, int>)launch, count, pointerMask);
        _loaded.Add(name, kernel);
        return kernel;
    }

    internal void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        _context.ThrowIfDisposed();
    }

    public override void Dispose()
    {
        if (_handle == 0) return;
        NativeLibrary.Free(_handle);
        _handle = 0;
        _context.Forget(this);
    }
}

/// <summary>
/// A kernel of an <see cref="EmulatedModule"/>. <see cref="Launch"/> runs the whole grid before returning; it checks
/// what a GPU would refuse (argument count, <c>__launch_bounds__</c>) and what would crash the process here (pointer
/// arguments outside device memory), then turns the emulator's error text into a <see cref="CudaException"/>.
/// </summary>
internal sealed unsafe class EmulatedKernel : GpuKernel
{
    private const int ErrorCapacity = 1024;

    private readonly EmulatedModule _module;
    private readonly delegate* unmanaged<uint, uint, uint, uint, uint, uint, void**, byte*, int, int> _launch;
    private readonly int _parameterCount;
    private readonly uint _pointerMask;
    private readonly int? _maxThreadsPerBlock;

    public EmulatedKernel(EmulatedModule module, KernelDeclaration declaration,
        delegate* unmanaged<uint, uint, uint, uint, uint, uint, void**, byte*, int, int> launch, int parameterCount, uint pointerMask)
        : base(declaration.Name)
    {
        _module = module;
        _launch = launch;
        _parameterCount = parameterCount;
        _pointerMask = pointerMask;
        _maxThreadsPerBlock = declaration.MaxThreadsPerBlock;
    }

    public override void Launch(Dim3 grid, Dim3 block, ref KernelArguments arguments)
    {
        _module.ThrowIfDisposed();
        if (arguments.Count != _parameterCount)
            throw Error(grid, block, $"it takes {_parameterCount} arguments but was given {arguments.Count}");
        long threads = (long)block.X * block.Y * block.Z;
        if (_maxThreadsPerBlock is int max && threads > max)
            throw Error(grid, block, $"it is declared __launch_bounds__({max}) but the block has {threads} threads (a GPU refuses this launch)");

        void** pointers = stackalloc void*[KernelArguments.Capacity];
        byte* error = stackalloc byte[ErrorCapacity];
        int status;
        fixed (ulong* slots = &arguments.First)
        {
            for (int i = 0; i < _parameterCount; i++)
            {
                if ((_pointerMask & (1u << i)) != 0 && slots[i] != 0 && !_module.Context.IsDeviceAddress(slots[i]))
                    throw Error(grid, block, $"pointer argument {i}: {_module.Context.DescribeAddress(slots[i])}");
            }
            if (_module.Context.IsCapturing)
            {
                _module.Context.Record(Replay(grid, block, arguments));
                return;
            }
            arguments.FillPointers(slots, pointers);
            status = _launch(grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, pointers, error, ErrorCapacity);
        }
        if (status != 0)
        {
            // The emulator's text names the kernel and the block: "kernel 'k', block (1, 0, 0): __syncthreads() reached by ..."
            throw new CudaException($"{Marshal.PtrToStringUTF8((nint)error)} (CPU emulator: module '{_module.Name}', grid {grid}, block {block})");
        }
    }

    /// <summary>
    /// A launch captured into a graph: the same launch with a copy of the arguments, run (and checked again) at each
    /// replay. Made here so that <see cref="Launch"/> itself allocates no closure.
    /// </summary>
    private Action Replay(Dim3 grid, Dim3 block, KernelArguments arguments) => () => Launch(grid, block, ref arguments);

    private CudaException Error(Dim3 grid, Dim3 block, string reason) =>
        new($"kernel '{Name}' of module '{_module.Name}' cannot be launched (grid {grid}, block {block}): {reason}");
}
