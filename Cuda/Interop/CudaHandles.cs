using System;
using System.Runtime.InteropServices;

namespace ModelDsl.Cuda.Interop;

/// <summary>
/// A retained primary context of one device (<c>cuDevicePrimaryCtxRetain</c> … <c>cuDevicePrimaryCtxRelease</c>). The
/// primary context is the one the CUDA runtime uses too, so cuBLAS runs in it with no extra set-up. Handles of things
/// that live in the context (<see cref="CudaModuleHandle"/>, <see cref="CublasHandle"/>) hold a reference on this handle,
/// so the context is released last even when finalizers run in any order.
/// </summary>
internal sealed unsafe class PrimaryContextHandle : SafeHandle
{
    private readonly CudaDriver _driver;

    private PrimaryContextHandle(CudaDriver driver, int device) : base(0, ownsHandle: true)
    {
        _driver = driver;
        Device = device;
    }

    public int Device { get; }

    public override bool IsInvalid => handle == 0;

    /// <summary>The device's primary context, retained (the handle exists before the call, so nothing can leak between them).</summary>
    public static PrimaryContextHandle Retain(CudaDriver driver, int device)
    {
        var context = new PrimaryContextHandle(driver, device);
        nint value;
        CUresult result = driver.cuDevicePrimaryCtxRetain(&value, device);
        if (result != CUresult.CUDA_SUCCESS)
        {
            context.SetHandleAsInvalid();
            throw driver.Error($"cuDevicePrimaryCtxRetain(device {device})", result);
        }
        context.SetHandle(value);
        return context;
    }

    protected override bool ReleaseHandle() => _driver.cuDevicePrimaryCtxRelease(Device) == CUresult.CUDA_SUCCESS;
}

/// <summary>
/// A handle to something created inside a context. Release pushes the context for the call and pops it afterwards, so
/// it works from any thread (the finalizer's too) and leaves that thread's current context as it was.
/// </summary>
internal abstract unsafe class ContextBoundHandle : SafeHandle
{
    private PrimaryContextHandle? _context;

    protected ContextBoundHandle(CudaDriver driver) : base(0, ownsHandle: true) => Driver = driver;

    protected CudaDriver Driver { get; }

    public override bool IsInvalid => handle == 0;

    /// <summary>Takes ownership of <paramref name="value"/>, created in <paramref name="context"/>, and holds a reference on the context.</summary>
    public void Attach(nint value, PrimaryContextHandle context)
    {
        bool added = false;
        context.DangerousAddRef(ref added);
        _context = context;
        SetHandle(value);
    }

    protected sealed override bool ReleaseHandle()
    {
        PrimaryContextHandle context = _context!;
        bool released = false;
        if (Driver.cuCtxPushCurrent_v2(context.DangerousGetHandle()) == CUresult.CUDA_SUCCESS)
        {
            released = Release(handle);
            nint popped;
            Driver.cuCtxPopCurrent_v2(&popped);
        }
        context.DangerousRelease();
        return released;
    }

    /// <summary>Destroys the object; the owning context is current.</summary>
    protected abstract bool Release(nint value);
}

/// <summary>A loaded module (<c>cuModuleLoadDataEx</c> … <c>cuModuleUnload</c>).</summary>
internal sealed unsafe class CudaModuleHandle(CudaDriver driver) : ContextBoundHandle(driver)
{
    protected override bool Release(nint value) => Driver.cuModuleUnload(value) == CUresult.CUDA_SUCCESS;
}

/// <summary>A cuBLAS handle (<c>cublasCreate_v2</c> … <c>cublasDestroy_v2</c>).</summary>
internal sealed unsafe class CublasHandle(CudaDriver driver, Cublas cublas) : ContextBoundHandle(driver)
{
    protected override bool Release(nint value) => cublas.cublasDestroy_v2(value) == cublasStatus_t.CUBLAS_STATUS_SUCCESS;
}

/// <summary>A stream of our own (<c>cuStreamCreate</c> … <c>cuStreamDestroy_v2</c>): where CUDA graphs are captured.</summary>
internal sealed unsafe class CudaStreamHandle(CudaDriver driver) : ContextBoundHandle(driver)
{
    protected override bool Release(nint value) => Driver.cuStreamDestroy_v2(value) == CUresult.CUDA_SUCCESS;
}

/// <summary>An instantiated CUDA graph (<c>cuGraphInstantiateWithFlags</c> … <c>cuGraphExecDestroy</c>).</summary>
internal sealed unsafe class CudaGraphExecHandle(CudaDriver driver) : ContextBoundHandle(driver)
{
    protected override bool Release(nint value) => Driver.cuGraphExecDestroy(value) == CUresult.CUDA_SUCCESS;
}
