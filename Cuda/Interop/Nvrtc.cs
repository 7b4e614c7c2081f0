using System;
using System.Collections.Generic;

namespace ModelDsl.Cuda.Interop;

/// <summary><c>nvrtcResult</c> under its C names.</summary>
internal enum nvrtcResult
{
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
    NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8,
    NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10,
    NVRTC_ERROR_INTERNAL_ERROR = 11,
}

/// <summary>
/// NVRTC, CUDA's runtime compiler (CUDA C++ → PTX), bound as unmanaged function pointers with the signatures of
/// <c>nvrtc.h</c> (<c>nvrtcProgram</c> = pointer-sized handle). It needs no GPU and no driver, so the tests compile every
/// kernel on machines without one. Probed newest first by soname: CUDA 13, 12, then 11.x (whose soname is
/// <c>libnvrtc.so.11.2</c> for every 11.2+ release; Debian's <c>libnvrtc11.2</c> is NVRTC 11.8), then the unversioned
/// development link.
/// </summary>
internal sealed unsafe class Nvrtc
{
    public static readonly IReadOnlyList<string> LibraryNames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"];

    private static readonly Lazy<(Nvrtc? Nvrtc, string Reason)> s_shared = new(() => TryLoad(LibraryNames));

    /// <summary>The NVRTC found on this machine, loaded once per process, or null with the reason.</summary>
    public static Nvrtc? Shared => s_shared.Value.Nvrtc;

    public static string UnavailableReason => s_shared.Value.Reason;

    public string Library { get; }
    public int Major { get; }
    public int Minor { get; }

    /// <summary>The virtual architectures this NVRTC compiles for (<c>80</c> for <c>compute_80</c>), ascending.</summary>
    public IReadOnlyList<int> SupportedArchitectures { get; }

    public readonly delegate* unmanaged<int*, int*, nvrtcResult> nvrtcVersion;
    public readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, nvrtcResult> nvrtcCreateProgram;
    public readonly delegate* unmanaged<nint, int, byte**, nvrtcResult> nvrtcCompileProgram;
    public readonly delegate* unmanaged<nint, nuint*, nvrtcResult> nvrtcGetProgramLogSize;
    public readonly delegate* unmanaged<nint, byte*, nvrtcResult> nvrtcGetProgramLog;
    public readonly delegate* unmanaged<nint, nuint*, nvrtcResult> nvrtcGetPTXSize;
    public readonly delegate* unmanaged<nint, byte*, nvrtcResult> nvrtcGetPTX;
    public readonly delegate* unmanaged<nint*, nvrtcResult> nvrtcDestroyProgram;
    public readonly delegate* unmanaged<nvrtcResult, byte*> nvrtcGetErrorString;

    // NVRTC 11.2+: the architectures it supports (absent in older releases, then the list is unknown and left empty).
    private readonly delegate* unmanaged<int*, nvrtcResult> nvrtcGetNumSupportedArchs;
    private readonly delegate* unmanaged<int*, nvrtcResult> nvrtcGetSupportedArchs;

    private Nvrtc(nint library, string name)
    {
        Library = name;
        nvrtcVersion = (delegate* unmanaged<int*, int*, nvrtcResult>)Export(library, "nvrtcVersion");
        nvrtcCreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, nvrtcResult>)Export(library, "nvrtcCreateProgram");
        nvrtcCompileProgram = (delegate* unmanaged<nint, int, byte**, nvrtcResult>)Export(library, "nvrtcCompileProgram");
        nvrtcGetProgramLogSize = (delegate* unmanaged<nint, nuint*, nvrtcResult>)Export(library, "nvrtcGetProgramLogSize");
        nvrtcGetProgramLog = (delegate* unmanaged<nint, byte*, nvrtcResult>)Export(library, "nvrtcGetProgramLog");
        nvrtcGetPTXSize = (delegate* unmanaged<nint, nuint*, nvrtcResult>)Export(library, "nvrtcGetPTXSize");
        nvrtcGetPTX = (delegate* unmanaged<nint, byte*, nvrtcResult>)Export(library, "nvrtcGetPTX");
        nvrtcDestroyProgram = (delegate* unmanaged<nint*, nvrtcResult>)Export(library, "nvrtcDestroyProgram");
        nvrtcGetErrorString = (delegate* unmanaged<nvrtcResult, byte*>)Export(library, "nvrtcGetErrorString");
        nvrtcGetNumSupportedArchs = (delegate* unmanaged<int*, nvrtcResult>)NativeLibraries.OptionalExport(library, "nvrtcGetNumSupportedArchs");
        nvrtcGetSupportedArchs = (delegate* unmanaged<int*, nvrtcResult>)NativeLibraries.OptionalExport(library, "nvrtcGetSupportedArchs");

        int major, minor;
        Check(nvrtcVersion(&major, &minor), "nvrtcVersion");
        Major = major;
        Minor = minor;
        SupportedArchitectures = ReadSupportedArchitectures();
    }

    private nint Export(nint library, string symbol) => NativeLibraries.Export(library, Library, symbol);

    private int[] ReadSupportedArchitectures()
    {
        if (nvrtcGetNumSupportedArchs == null || nvrtcGetSupportedArchs == null) return [];
        int count;
        Check(nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
        int[] architectures = new int[count];
        fixed (int* p = architectures) Check(nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        return architectures;
    }

    /// <summary>Loads the first of <paramref name="names"/>; when none loads, the reason names each one tried.</summary>
    internal static (Nvrtc? Nvrtc, string Reason) TryLoad(IReadOnlyList<string> names)
    {
        if (!NativeLibraries.TryLoadFirst(names, out nint library, out string name)) return (null, NotFoundMessage(names));
        try
        {
            var nvrtc = new Nvrtc(library, name);
            return (nvrtc, $"NVRTC {nvrtc.Major}.{nvrtc.Minor} ({name})");
        }
        catch (CudaException e)
        {
            return (null, e.Message);
        }
    }

    internal static string NotFoundMessage(IReadOnlyList<string> names) =>
        $"NVRTC not found: tried {string.Join(", ", names)} (on Debian: add the non-free component and apt-get install libnvrtc11.2)";

    public void Check(nvrtcResult result, string call)
    {
        if (result != nvrtcResult.NVRTC_SUCCESS) throw Error(call, result);
    }

    /// <summary><c>nvrtcGetPTX(program 'x') failed: NVRTC_ERROR_INVALID_PROGRAM (4)</c> (NVRTC's error string is the code's name).</summary>
    public CudaException Error(string call, nvrtcResult result) => new($"{call} failed: {ErrorName(result)} ({(int)result})");

    public string ErrorName(nvrtcResult result) =>
        NativeLibraries.FromUtf8(nvrtcGetErrorString(result)) ?? (Enum.IsDefined(result) ? result.ToString() : "unrecognised nvrtcResult");
}
