using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// Open MPI's <c>libmpi.so.40</c> (Debian's <c>libopenmpi3</c>, Open MPI 4.x), loaded at run time and bound as
/// unmanaged function pointers with the signatures of <c>mpi.h</c>: only the calls data-parallel training needs.
/// Nothing here runs until distributed mode is requested, so a single-process program needs no MPI installed.
/// </summary>
/// <remarks>
/// Two things differ from a C program that includes <c>mpi.h</c>:
/// <list type="bullet">
/// <item>Open MPI's handles are pointers: <c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>, <c>MPI_FLOAT</c> is
/// <c>&amp;ompi_mpi_float</c>, <c>MPI_SUM</c> is <c>&amp;ompi_mpi_op_sum</c>: the addresses of exported globals, read here
/// with <c>dlsym</c>. (MPICH and MS-MPI use integer handles instead; this binding refuses a library without these
/// exports rather than pass wrong handles.)</item>
/// <item>The library is opened with <c>RTLD_GLOBAL</c>. Open MPI loads its transports as plugins
/// (<c>openmpi/lib/openmpi3/mca_*.so</c>) that are not linked against libmpi and expect its symbols to be global;
/// <see cref="NativeLibrary.Load(string)"/> opens with <c>RTLD_LOCAL</c>, and <c>MPI_Init</c> then fails to load them
/// (the same trap mpi4py documents).</item>
/// </list>
/// </remarks>
internal sealed unsafe class MpiLibrary
{
    /// <summary>Sonames tried in order; <see cref="PathVariable"/> overrides them with one path.</summary>
    public static readonly IReadOnlyList<string> LibraryNames = ["libmpi.so.40", "libmpi.so"];

    /// <summary>An explicit path to libmpi (an Open MPI installed outside the loader's paths).</summary>
    public const string PathVariable = "MODELDSL_MPI_LIBRARY";

    public const int MPI_SUCCESS = 0;
    public const int MPI_THREAD_SERIALIZED = 2;
    public const int MPI_MAX_ERROR_STRING = 256;

    /// <summary><c>MPI_IN_PLACE</c> in Open MPI's mpi.h: <c>((void *) 1)</c>.</summary>
    public static readonly void* InPlace = (void*)1;

    private static readonly Lazy<MpiLibrary> s_shared = new(() => Load(Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } path ? [path] : LibraryNames));

    /// <summary>The process's libmpi, loaded on first use; throws <see cref="DistributedUnavailableException"/> when there is none.</summary>
    public static MpiLibrary Shared => s_shared.Value;

    public string Library { get; }

    // Handles: addresses of Open MPI's predefined objects.
    public readonly nint CommWorld, Float, Double, Int, OpSum, OpMax, OpMin, ErrorsReturn;

    public readonly delegate* unmanaged<int*, byte***, int, int*, int> Init_thread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<nint, int*, int> Comm_rank;
    public readonly delegate* unmanaged<nint, int*, int> Comm_size;
    public readonly delegate* unmanaged<nint, nint, int> Comm_set_errhandler;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, nint*, int> Ibcast;
    public readonly delegate* unmanaged<nint, nint*, int> Ibarrier;
    public readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend;
    public readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Irecv;
    public readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    public readonly delegate* unmanaged<int, int, nint, int*, void*, int> Iprobe;
    public readonly delegate* unmanaged<nint*, int> Request_free;
    public readonly delegate* unmanaged<int, byte*, int*, int> Error_string;
    public readonly delegate* unmanaged<byte*, int*, int> Get_library_version;

    private MpiLibrary(nint handle, string library)
    {
        Library = library;
        nint Export(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out nint address)
            ? address
            : throw new DistributedUnavailableException(
                $"{library} does not export {symbol}: ModelDsl's MPI binding supports Open MPI 4.x (Debian's libopenmpi3); MPICH and MS-MPI use other handle types.");

        CommWorld = Export("ompi_mpi_comm_world");
        Float = Export("ompi_mpi_float");
        Double = Export("ompi_mpi_double");
        Int = Export("ompi_mpi_int");
        OpSum = Export("ompi_mpi_op_sum");
        OpMax = Export("ompi_mpi_op_max");
        OpMin = Export("ompi_mpi_op_min");
        ErrorsReturn = Export("ompi_mpi_errors_return");

        Init_thread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        Comm_rank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        Comm_size = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        Comm_set_errhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, nint, int, nint, nint*, int>)Export("MPI_Ibcast");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Ibarrier");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
        Iprobe = (delegate* unmanaged<int, int, nint, int*, void*, int>)Export("MPI_Iprobe");
        Request_free = (delegate* unmanaged<nint*, int>)Export("MPI_Request_free");
        Error_string = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        Get_library_version = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
    }

    /// <summary>The first of <paramref name="names"/> that loads (soname or path), opened <c>RTLD_NOW | RTLD_GLOBAL</c>.</summary>
    public static MpiLibrary Load(IReadOnlyList<string> names)
    {
        var reasons = new List<string>();
        foreach (string name in names)
        {
            nint handle = DlOpenGlobal(name, out string? error);
            if (handle != 0) return new MpiLibrary(handle, name);
            reasons.Add(error ?? name + ": not found");
        }
        throw new DistributedUnavailableException(
            $"distributed mode needs Open MPI, and no libmpi could be loaded (tried {string.Join(", ", names)}: {string.Join("; ", reasons)}). " +
            $"Install it (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi3) or set {PathVariable} to the path of libmpi.so.40; " +
            "a single-process run needs no MPI.");
    }

    /// <summary>The text of an MPI error code (<c>MPI_Error_string</c>), or the number when even that fails.</summary>
    public string ErrorText(int code)
    {
        byte* text = stackalloc byte[MPI_MAX_ERROR_STRING + 1];
        int length = 0;
        return Error_string(code, text, &length) == MPI_SUCCESS && length > 0
            ? Marshal.PtrToStringUTF8((nint)text, length)
            : $"MPI error {code}";
    }

    /// <summary><c>MPI_Get_library_version</c>'s first line (<c>Open MPI v4.1.4, ...</c>).</summary>
    public string Version()
    {
        byte* text = stackalloc byte[4096];
        int length = 0;
        if (Get_library_version(text, &length) != MPI_SUCCESS || length <= 0) return "unknown MPI version";
        // "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, ...": the length counts the terminating NUL.
        return Marshal.PtrToStringUTF8((nint)text, length).TrimEnd('\0').Split('\n')[0].Split(',')[0].Trim();
    }

    private const int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;

    /// <summary>
    /// <c>dlopen(name, RTLD_NOW | RTLD_GLOBAL)</c> through glibc (in libc.so.6 since 2.34, libdl.so.2 before), since
    /// <see cref="NativeLibrary"/> cannot pass RTLD_GLOBAL. 0 and <c>dlerror()</c>'s text when it fails.
    /// </summary>
    private static nint DlOpenGlobal(string name, out string? error)
    {
        error = null;
        nint libc = 0;
        if (!NativeLibrary.TryLoad("libc.so.6", out libc) || !NativeLibrary.TryGetExport(libc, "dlopen", out _))
        {
            if (!NativeLibrary.TryLoad("libdl.so.2", out libc))
            {
                // Not glibc (or not Linux): the plain loader at least finds the library; plugins may then fail in MPI_Init.
                return NativeLibrary.TryLoad(name, out nint plain) ? plain : 0;
            }
        }
        var dlopen = (delegate* unmanaged<byte*, int, nint>)NativeLibrary.GetExport(libc, "dlopen");
        var dlerror = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(libc, "dlerror");
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        nint handle;
        fixed (byte* p = utf8) handle = dlopen(p, RTLD_NOW | RTLD_GLOBAL);
        if (handle == 0)
        {
            byte* text = dlerror();
            error = text == null ? null : Marshal.PtrToStringUTF8((nint)text);
        }
        return handle;
    }
}
