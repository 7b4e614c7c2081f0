using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Cuda.Interop;

/// <summary><c>ncclResult_t</c> under its C names (nccl.h, NCCL 2.x).</summary>
internal enum ncclResult_t
{
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
}

/// <summary><c>ncclDataType_t</c> values this binding passes.</summary>
internal enum ncclDataType_t
{
    ncclFloat32 = 7,
}

/// <summary><c>ncclRedOp_t</c> values this binding passes.</summary>
internal enum ncclRedOp_t
{
    ncclSum = 0,
}

/// <summary><c>ncclUniqueId</c>: 128 opaque bytes (<c>NCCL_UNIQUE_ID_BYTES</c>), made by rank 0 and sent to every rank.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct ncclUniqueId
{
    public const int Bytes = 128;

    public fixed byte Internal[Bytes];
}

/// <summary>
/// NCCL (<c>libnccl.so.2</c>: NVIDIA's <c>libnccl2</c> package, or the copy PyTorch's wheels bring), loaded at run time
/// like cuBLAS and bound as unmanaged function pointers with the signatures of <c>nccl.h</c>: only the calls GPU
/// data-parallel training makes. Nothing is loaded until a GPU data-parallel run starts, so nothing else needs NCCL.
/// </summary>
/// <remarks>
/// <para>Handles: <c>ncclComm_t</c> and <c>cudaStream_t</c> are pointers (<see cref="nint"/>); buffers are device
/// addresses (<c>CUdeviceptr</c>, <see cref="ulong"/>); <c>size_t</c> is <see cref="nuint"/>. <c>ncclUniqueId</c> is
/// passed to <c>ncclCommInitRank</c> by value, as a 128-byte struct.</para>
/// <para>Every result is checked by the caller (<c>NcclCommunicator</c>), which names the call and the rank and adds
/// <c>ncclGetErrorString</c>'s text and, where the library has it (NCCL 2.13+), <c>ncclGetLastError</c>'s detail.</para>
/// <para>The tests load a stand-in through <see cref="PathVariable"/>: tests/Distributed.Tests/StandInNccl, a test
/// double over shared memory for the CPU emulator of the GPU, not NCCL.</para>
/// </remarks>
internal sealed unsafe class Nccl
{
    /// <summary>Sonames tried in order; <see cref="PathVariable"/> overrides them with one path.</summary>
    public static readonly IReadOnlyList<string> LibraryNames = ["libnccl.so.2", "libnccl.so"];

    /// <summary>An explicit path to libnccl (PyTorch's copy, a build of one's own, or the tests' stand-in).</summary>
    public const string PathVariable = "MODELDSL_NCCL_LIBRARY";

    private static readonly Lazy<Nccl> s_shared = new(() =>
        Load(Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } path ? [path] : LibraryNames));

    /// <summary>The process's NCCL, loaded on first use; throws <see cref="DistributedUnavailableException"/> when there is none.</summary>
    public static Nccl Shared => s_shared.Value;

    public string Library { get; }

    public readonly delegate* unmanaged<int*, ncclResult_t> ncclGetVersion;
    public readonly delegate* unmanaged<ncclUniqueId*, ncclResult_t> ncclGetUniqueId;

    /// <summary><c>ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)</c>: blocks until every rank has joined.</summary>
    public readonly delegate* unmanaged<nint*, int, ncclUniqueId, int, ncclResult_t> ncclCommInitRank;

    /// <summary><c>ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t)</c>.</summary>
    public readonly delegate* unmanaged<ulong, ulong, nuint, ncclDataType_t, ncclRedOp_t, nint, nint, ncclResult_t> ncclAllReduce;

    /// <summary><c>ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t, int root, ncclComm_t, cudaStream_t)</c>.</summary>
    public readonly delegate* unmanaged<ulong, ulong, nuint, ncclDataType_t, int, nint, nint, ncclResult_t> ncclBroadcast;

    public readonly delegate* unmanaged<nint, ncclResult_t> ncclCommDestroy;

    /// <summary><c>ncclCommAbort(comm)</c>: stops the communicator's pending work (a collective whose peer died) and frees it.</summary>
    public readonly delegate* unmanaged<nint, ncclResult_t> ncclCommAbort;

    /// <summary><c>ncclCommGetAsyncError(comm, ncclResult_t* asyncError)</c>: an error found while the collectives ran (a peer that died: ncclRemoteError).</summary>
    public readonly delegate* unmanaged<nint, ncclResult_t*, ncclResult_t> ncclCommGetAsyncError;

    public readonly delegate* unmanaged<ncclResult_t, byte*> ncclGetErrorString;

    /// <summary><c>const char* ncclGetLastError(ncclComm_t)</c>, NCCL 2.13+: the detail of the last error; null when absent.</summary>
    private readonly delegate* unmanaged<nint, byte*> ncclGetLastError;

    /// <summary>The tests' stand-in says what it is through this export (never present in NCCL); null otherwise.</summary>
    private readonly delegate* unmanaged<byte*> modeldsl_nccl_standin;

    private Nccl(nint library, string name)
    {
        Library = name;
        nint Export(string symbol) => NativeLibrary.TryGetExport(library, symbol, out nint address)
            ? address
            : throw new DistributedUnavailableException($"{name} does not export {symbol}: ModelDsl's NCCL binding needs NCCL 2.4 or newer.");

        ncclGetVersion = (delegate* unmanaged<int*, ncclResult_t>)Export("ncclGetVersion");
        ncclGetUniqueId = (delegate* unmanaged<ncclUniqueId*, ncclResult_t>)Export("ncclGetUniqueId");
        ncclCommInitRank = (delegate* unmanaged<nint*, int, ncclUniqueId, int, ncclResult_t>)Export("ncclCommInitRank");
        ncclAllReduce = (delegate* unmanaged<ulong, ulong, nuint, ncclDataType_t, ncclRedOp_t, nint, nint, ncclResult_t>)Export("ncclAllReduce");
        ncclBroadcast = (delegate* unmanaged<ulong, ulong, nuint, ncclDataType_t, int, nint, nint, ncclResult_t>)Export("ncclBroadcast");
        ncclCommDestroy = (delegate* unmanaged<nint, ncclResult_t>)Export("ncclCommDestroy");
        ncclCommAbort = (delegate* unmanaged<nint, ncclResult_t>)Export("ncclCommAbort");
        ncclCommGetAsyncError = (delegate* unmanaged<nint, ncclResult_t*, ncclResult_t>)Export("ncclCommGetAsyncError");
        ncclGetErrorString = (delegate* unmanaged<ncclResult_t, byte*>)Export("ncclGetErrorString");
        ncclGetLastError = (delegate* unmanaged<nint, byte*>)NativeLibraries.OptionalExport(library, "ncclGetLastError");
        modeldsl_nccl_standin = (delegate* unmanaged<byte*>)NativeLibraries.OptionalExport(library, "modeldsl_nccl_standin");
    }

    /// <summary>The first of <paramref name="names"/> that loads (soname or path).</summary>
    public static Nccl Load(IReadOnlyList<string> names)
    {
        var reasons = new List<string>();
        foreach (string name in names)
        {
            try
            {
                return new Nccl(NativeLibrary.Load(name), name);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                reasons.Add(e.Message);
            }
        }
        throw new DistributedUnavailableException(
            $"data-parallel training on GPUs needs NCCL, and no libnccl could be loaded (tried {string.Join(", ", names)}: {string.Join("; ", reasons)}). " +
            $"Install it (NVIDIA's CUDA repository: apt-get install libnccl2) or set {PathVariable} to the path of libnccl.so.2 " +
            "(PyTorch's wheels bring one: site-packages/nvidia/nccl/lib/libnccl.so.2); a single-GPU run needs no NCCL.");
    }

    /// <summary>
    /// True for the tests' stand-in (tests/Distributed.Tests/StandInNccl), which reduces host memory: the CPU emulator's
    /// device memory. It cannot read a real GPU's memory, and NCCL cannot read the emulator's.
    /// </summary>
    public bool IsStandIn => modeldsl_nccl_standin != null;

    /// <summary><c>libnccl.so.2 (NCCL 2.21.5)</c>, or the stand-in's own description.</summary>
    public string Describe()
    {
        if (modeldsl_nccl_standin != null && NativeLibraries.FromUtf8(modeldsl_nccl_standin()) is { } standIn) return $"{Library} ({standIn})";
        int version = 0;
        if (ncclGetVersion(&version) != ncclResult_t.ncclSuccess || version <= 0) return $"{Library} (version unknown)";
        return $"{Library} (NCCL {FormatVersion(version)})";
    }

    /// <summary>
    /// <c>ncclGetVersion</c>'s code as text: NCCL_VERSION(X,Y,Z) is X·1000 + Y·100 + Z before 2.9 (<c>2708</c> → 2.7.8) and
    /// X·10000 + Y·100 + Z since (<c>21903</c> → 2.19.3).
    /// </summary>
    internal static string FormatVersion(int code) => code >= 10000
        ? $"{code / 10000}.{code % 10000 / 100}.{code % 100}"
        : $"{code / 1000}.{code % 1000 / 100}.{code % 100}";

    /// <summary><c>ncclRemoteError (6): remote process exited or there was a network error; rank 1 exited</c>.</summary>
    public string ErrorText(ncclResult_t result, nint comm)
    {
        string name = Enum.IsDefined(result) ? result.ToString() : "unrecognised ncclResult_t";
        string text = NativeLibraries.FromUtf8(ncclGetErrorString(result)) ?? "no description from NCCL";
        string? detail = ncclGetLastError != null ? NativeLibraries.FromUtf8(ncclGetLastError(comm)) : null;
        return string.IsNullOrWhiteSpace(detail) ? $"{name} ({(int)result}): {text}" : $"{name} ({(int)result}): {text}; {detail.Trim()}";
    }
}
