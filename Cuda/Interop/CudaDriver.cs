using System;

namespace ModelDsl.Cuda.Interop;

/// <summary>
/// The CUDA driver API (<c>libcuda.so.1</c>, installed with the NVIDIA kernel driver), bound as unmanaged function
/// pointers: the calls this backend makes and nothing more. Fields carry the C names and the C signatures of
/// <c>cuda.h</c> (CUdevice = int, CUcontext/CUmodule/CUfunction/CUstream = pointer-sized handles, CUdeviceptr = 64-bit
/// address, size_t = nuint), so each call site reads like the CUDA documentation and moving to ManagedCuda's
/// <c>DriverAPINativeMethods</c> is a rename.
/// </summary>
/// <remarks>
/// Versioned symbols are bound by the name <c>cuda.h</c> maps the plain name to (<c>cuMemAlloc</c> →
/// <c>cuMemAlloc_v2</c>, <c>cuDevicePrimaryCtxRelease</c> → <c>cuDevicePrimaryCtxRelease_v2</c> since CUDA 11).
/// Every result is checked by the caller through <see cref="Error"/>, which names the call, the error and its text.
/// </remarks>
internal sealed unsafe class CudaDriver
{
    public const string LibraryName = "libcuda.so.1";
    public const string NotFoundMessage = "no CUDA driver: libcuda.so.1 could not be loaded";

    private static readonly Lazy<CudaDriver?> s_shared = new(() =>
        NativeLibraries.TryLoadFirst([LibraryName], out nint library, out string name) ? new CudaDriver(library, name) : null);

    /// <summary>The system driver, loaded once per process; null when <c>libcuda.so.1</c> cannot be loaded.</summary>
    public static CudaDriver? Shared => s_shared.Value;

    /// <summary>A driver library at an explicit path (tests load a stand-in built from C++ with g++).</summary>
    public static CudaDriver Load(string path) => new(System.Runtime.InteropServices.NativeLibrary.Load(path), path);

    public string Library { get; }

    // Initialization, version, devices
    public readonly delegate* unmanaged<uint, CUresult> cuInit;
    public readonly delegate* unmanaged<int*, CUresult> cuDriverGetVersion;
    public readonly delegate* unmanaged<int*, CUresult> cuDeviceGetCount;
    public readonly delegate* unmanaged<int*, int, CUresult> cuDeviceGet;
    public readonly delegate* unmanaged<byte*, int, int, CUresult> cuDeviceGetName;
    public readonly delegate* unmanaged<int*, CUdevice_attribute, int, CUresult> cuDeviceGetAttribute;

    // Contexts: the device's primary context, the one the CUDA runtime (and so cuBLAS) also uses.
    public readonly delegate* unmanaged<nint*, int, CUresult> cuDevicePrimaryCtxRetain;
    public readonly delegate* unmanaged<int, CUresult> cuDevicePrimaryCtxRelease;
    public readonly delegate* unmanaged<nint, CUresult> cuCtxSetCurrent;
    public readonly delegate* unmanaged<nint, CUresult> cuCtxPushCurrent_v2;
    public readonly delegate* unmanaged<nint*, CUresult> cuCtxPopCurrent_v2;
    public readonly delegate* unmanaged<CUresult> cuCtxSynchronize;

    /// <summary>
    /// <c>cuStreamQuery(hStream)</c>: CUDA_SUCCESS when the stream's work is done, CUDA_ERROR_NOT_READY while it runs;
    /// null in a library without it (the tests' stand-in driver).
    /// </summary>
    public readonly delegate* unmanaged<nint, CUresult> cuStreamQuery;

    // Streams and CUDA graphs (driver API of CUDA 11.4+; null in an older driver, which then runs without graphs).
    // A graph is captured on a stream of our own (the legacy default stream cannot be captured), instantiated once and
    // launched on the default stream.
    public readonly delegate* unmanaged<nint*, uint, CUresult> cuStreamCreate;
    public readonly delegate* unmanaged<nint, CUresult> cuStreamDestroy_v2;
    public readonly delegate* unmanaged<nint, CUstreamCaptureMode, CUresult> cuStreamBeginCapture_v2;
    public readonly delegate* unmanaged<nint, nint*, CUresult> cuStreamEndCapture;
    public readonly delegate* unmanaged<nint*, nint, ulong, CUresult> cuGraphInstantiateWithFlags;
    public readonly delegate* unmanaged<nint, nint, CUresult> cuGraphLaunch;
    public readonly delegate* unmanaged<nint, CUresult> cuGraphExecDestroy;
    public readonly delegate* unmanaged<nint, CUresult> cuGraphDestroy;

    // Modules and launches
    public readonly delegate* unmanaged<nint*, void*, uint, CUjit_option*, void**, CUresult> cuModuleLoadDataEx;
    public readonly delegate* unmanaged<nint, CUresult> cuModuleUnload;
    public readonly delegate* unmanaged<nint*, nint, byte*, CUresult> cuModuleGetFunction;

    /// <summary>
    /// <c>cuLaunchKernel(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes, hStream,
    /// kernelParams, extra)</c>: <c>kernelParams[i]</c> points at the value of parameter i.
    /// </summary>
    public readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, CUresult> cuLaunchKernel;

    // Memory
    public readonly delegate* unmanaged<ulong*, nuint, CUresult> cuMemAlloc_v2;
    public readonly delegate* unmanaged<ulong, CUresult> cuMemFree_v2;
    public readonly delegate* unmanaged<ulong, void*, nuint, CUresult> cuMemcpyHtoD_v2;
    public readonly delegate* unmanaged<void*, ulong, nuint, CUresult> cuMemcpyDtoH_v2;
    public readonly delegate* unmanaged<ulong, byte, nuint, CUresult> cuMemsetD8_v2;

    // Errors
    public readonly delegate* unmanaged<CUresult, byte**, CUresult> cuGetErrorName;
    public readonly delegate* unmanaged<CUresult, byte**, CUresult> cuGetErrorString;

    private CudaDriver(nint library, string name)
    {
        Library = name;
        cuInit = (delegate* unmanaged<uint, CUresult>)Export(library, "cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, CUresult>)Export(library, "cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, CUresult>)Export(library, "cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, CUresult>)Export(library, "cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, CUresult>)Export(library, "cuDeviceGetName");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, CUdevice_attribute, int, CUresult>)Export(library, "cuDeviceGetAttribute");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, CUresult>)Export(library, "cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, CUresult>)NativeLibraries.FirstExport(library, name,
            "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
        cuCtxSetCurrent = (delegate* unmanaged<nint, CUresult>)Export(library, "cuCtxSetCurrent");
        cuCtxPushCurrent_v2 = (delegate* unmanaged<nint, CUresult>)Export(library, "cuCtxPushCurrent_v2");
        cuCtxPopCurrent_v2 = (delegate* unmanaged<nint*, CUresult>)Export(library, "cuCtxPopCurrent_v2");
        cuCtxSynchronize = (delegate* unmanaged<CUresult>)Export(library, "cuCtxSynchronize");
        cuStreamQuery = (delegate* unmanaged<nint, CUresult>)NativeLibraries.OptionalExport(library, "cuStreamQuery");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, CUresult>)NativeLibraries.OptionalExport(library, "cuStreamCreate");
        cuStreamDestroy_v2 = (delegate* unmanaged<nint, CUresult>)NativeLibraries.OptionalExport(library, "cuStreamDestroy_v2");
        cuStreamBeginCapture_v2 = (delegate* unmanaged<nint, CUstreamCaptureMode, CUresult>)NativeLibraries.OptionalExport(library, "cuStreamBeginCapture_v2");
        cuStreamEndCapture = (delegate* unmanaged<nint, nint*, CUresult>)NativeLibraries.OptionalExport(library, "cuStreamEndCapture");
        cuGraphInstantiateWithFlags = (delegate* unmanaged<nint*, nint, ulong, CUresult>)NativeLibraries.OptionalExport(library, "cuGraphInstantiateWithFlags");
        cuGraphLaunch = (delegate* unmanaged<nint, nint, CUresult>)NativeLibraries.OptionalExport(library, "cuGraphLaunch");
        cuGraphExecDestroy = (delegate* unmanaged<nint, CUresult>)NativeLibraries.OptionalExport(library, "cuGraphExecDestroy");
        cuGraphDestroy = (delegate* unmanaged<nint, CUresult>)NativeLibraries.OptionalExport(library, "cuGraphDestroy");
        cuModuleLoadDataEx = (delegate* unmanaged<nint*, void*, uint, CUjit_option*, void**, CUresult>)Export(library, "cuModuleLoadDataEx");
        cuModuleUnload = (delegate* unmanaged<nint, CUresult>)Export(library, "cuModuleUnload");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, CUresult>)Export(library, "cuModuleGetFunction");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, CUresult>)Export(library, "cuLaunchKernel");
        cuMemAlloc_v2 = (delegate* unmanaged<ulong*, nuint, CUresult>)Export(library, "cuMemAlloc_v2");
        cuMemFree_v2 = (delegate* unmanaged<ulong, CUresult>)Export(library, "cuMemFree_v2");
        cuMemcpyHtoD_v2 = (delegate* unmanaged<ulong, void*, nuint, CUresult>)Export(library, "cuMemcpyHtoD_v2");
        cuMemcpyDtoH_v2 = (delegate* unmanaged<void*, ulong, nuint, CUresult>)Export(library, "cuMemcpyDtoH_v2");
        cuMemsetD8_v2 = (delegate* unmanaged<ulong, byte, nuint, CUresult>)Export(library, "cuMemsetD8_v2");
        cuGetErrorName = (delegate* unmanaged<CUresult, byte**, CUresult>)Export(library, "cuGetErrorName");
        cuGetErrorString = (delegate* unmanaged<CUresult, byte**, CUresult>)Export(library, "cuGetErrorString");
    }

    /// <summary>
    /// The first graph or stream call this driver lacks (CUDA graphs need the driver API of CUDA 11.4+), or null when it
    /// has them all.
    /// </summary>
    public string? MissingGraphCall =>
        cuStreamCreate == null ? "cuStreamCreate"
        : cuStreamDestroy_v2 == null ? "cuStreamDestroy_v2"
        : cuStreamBeginCapture_v2 == null ? "cuStreamBeginCapture_v2"
        : cuStreamEndCapture == null ? "cuStreamEndCapture"
        : cuGraphInstantiateWithFlags == null ? "cuGraphInstantiateWithFlags"
        : cuGraphLaunch == null ? "cuGraphLaunch"
        : cuGraphExecDestroy == null ? "cuGraphExecDestroy"
        : cuGraphDestroy == null ? "cuGraphDestroy"
        : null;

    private nint Export(nint library, string symbol) => NativeLibraries.Export(library, Library, symbol);

    /// <summary>Throws <see cref="Error"/> unless <paramref name="result"/> is success (pass a constant <paramref name="call"/> on hot paths).</summary>
    public void Check(CUresult result, string call)
    {
        if (result != CUresult.CUDA_SUCCESS) throw Error(call, result);
    }

    /// <summary>
    /// The exception for a failed call: <c>cuMemAlloc_v2(268435456 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory</c>.
    /// </summary>
    public CudaException Error(string call, CUresult result) => new(FormatError(call, result, ErrorName(result), ErrorString(result)));

    /// <summary>The driver's name for <paramref name="result"/>, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string ErrorName(CUresult result)
    {
        byte* text = null;
        return cuGetErrorName(result, &text) == CUresult.CUDA_SUCCESS && NativeLibraries.FromUtf8(text) is { } name
            ? name
            : FallbackName(result);
    }

    /// <summary>The driver's description of <paramref name="result"/>, e.g. <c>out of memory</c>.</summary>
    public string ErrorString(CUresult result)
    {
        byte* text = null;
        return cuGetErrorString(result, &text) == CUresult.CUDA_SUCCESS && NativeLibraries.FromUtf8(text) is { } description
            ? description
            : "no description from the driver";
    }

    internal static string FallbackName(CUresult result) =>
        Enum.IsDefined(result) ? result.ToString() : "unrecognised CUresult";

    internal static string FormatError(string call, CUresult result, string name, string description) =>
        $"{call} failed: {name} ({(int)result}): {description}";

    /// <summary><c>12040</c> → <c>12.4</c> (the driver encodes 1000·major + 10·minor).</summary>
    internal static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";
}
