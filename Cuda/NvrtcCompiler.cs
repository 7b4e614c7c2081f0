using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda;

/// <summary>
/// CUDA C++ → PTX with NVRTC (no GPU or driver needed). The options are fixed and deliberately plain:
/// <c>--gpu-architecture=compute_XY -std=c++17 --fmad=true</c>, and never <c>--use_fast_math</c>, whose approximate
/// division, square root and transcendentals would break parity with the CPU backend (fused multiply-add stays on, as
/// it is in the CPU backend's FMA kernels). <see cref="PtxCache"/> keeps the results on disk.
/// </summary>
public static unsafe class NvrtcCompiler
{
    // Compiles are serialised: they are rare (the disk cache answers repeats) and this keeps the binding independent of
    // how thread-safe a given NVRTC release is.
    private static readonly object s_compileLock = new();

    /// <summary>True when NVRTC loads; otherwise <paramref name="reason"/> says what was tried (and how to install it).</summary>
    public static bool IsAvailable(out string reason)
    {
        reason = Nvrtc.UnavailableReason;
        return Nvrtc.Shared is not null;
    }

    /// <summary>NVRTC's version, <c>11.8</c>; part of every PTX cache key.</summary>
    public static string Version => $"{Require().Major}.{Require().Minor}";

    /// <summary>The virtual architectures NVRTC can target (<c>80</c> = <c>compute_80</c>), ascending; empty if NVRTC cannot tell.</summary>
    public static IReadOnlyList<int> SupportedArchitectures => Require().SupportedArchitectures;

    /// <summary>The exact options every compile passes (they are part of the cache identity).</summary>
    public static IReadOnlyList<string> Options(string architecture) =>
        [$"--gpu-architecture={architecture}", "-std=c++17", "--fmad=true"];

    /// <summary>
    /// The PTX of <paramref name="source"/> for <paramref name="architecture"/> (<c>compute_80</c>). A compile error
    /// throws <see cref="CudaException"/> with <paramref name="programName"/> and NVRTC's full log (whose lines start
    /// with the program name and line number); a missing NVRTC throws <see cref="CudaUnavailableException"/>.
    /// </summary>
    public static string CompileToPtx(string source, string programName, string architecture)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        CheckArchitecture(architecture);
        Nvrtc nvrtc = Require();
        IReadOnlyList<string> options = Options(architecture);
        string call = $"nvrtcCompileProgram('{programName}', {string.Join(' ', options)})";

        byte[] sourceText = NativeLibraries.ToUtf8(source);
        byte[] nameText = NativeLibraries.ToUtf8(programName);
        nint* optionTexts = stackalloc nint[options.Count];
        new Span<nint>(optionTexts, options.Count).Clear();
        lock (s_compileLock)
        {
            nint program;
            fixed (byte* s = sourceText, n = nameText)
                nvrtc.Check(nvrtc.nvrtcCreateProgram(&program, s, n, 0, null, null), $"nvrtcCreateProgram('{programName}')");
            try
            {
                for (int i = 0; i < options.Count; i++) optionTexts[i] = Marshal.StringToCoTaskMemUTF8(options[i]);
                nvrtcResult result = nvrtc.nvrtcCompileProgram(program, options.Count, (byte**)optionTexts);
                if (result != nvrtcResult.NVRTC_SUCCESS)
                {
                    string log = ReadLog(nvrtc, program, programName);
                    throw new CudaException($"{call} failed: {nvrtc.ErrorName(result)} ({(int)result})"
                        + (log.Length > 0 ? $"; NVRTC log:\n{log}" : ""));
                }
                return ReadPtx(nvrtc, program, programName);
            }
            finally
            {
                for (int i = 0; i < options.Count; i++) Marshal.FreeCoTaskMem(optionTexts[i]);
                nvrtc.nvrtcDestroyProgram(&program);
            }
        }
    }

    /// <summary>
    /// The architecture to compile for on a device of compute capability <paramref name="major"/>.<paramref name="minor"/>:
    /// <c>compute_{major}{minor}</c>, or the newest one NVRTC supports below it (PTX runs on newer GPUs through the driver's JIT).
    /// </summary>
    public static string ArchitectureFor(int major, int minor) =>
        ChooseArchitecture(major * 10 + minor, Require().SupportedArchitectures, Version);

    internal static string ChooseArchitecture(int computeCapability, IReadOnlyList<int> supported, string nvrtcVersion)
    {
        if (supported.Count == 0) return $"compute_{computeCapability}";
        int best = -1;
        foreach (int architecture in supported)
            if (architecture <= computeCapability && architecture > best) best = architecture;
        return best >= 0
            ? $"compute_{best}"
            : throw new CudaUnavailableException(
                $"NVRTC {nvrtcVersion} cannot compile for sm_{computeCapability}: it supports compute_{supported[0]} to compute_{supported[^1]}");
    }

    private static void CheckArchitecture(string architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        bool valid = architecture.StartsWith("compute_", StringComparison.Ordinal) && architecture.Length > "compute_".Length;
        for (int i = "compute_".Length; valid && i < architecture.Length; i++)
            valid = char.IsAsciiDigit(architecture[i]) || (i == architecture.Length - 1 && char.IsAsciiLetterLower(architecture[i]));
        if (!valid) throw new ArgumentException($"'{architecture}' is not a virtual architecture such as compute_80", nameof(architecture));
    }

    private static Nvrtc Require() => Nvrtc.Shared ?? throw new CudaUnavailableException(Nvrtc.UnavailableReason);

    private static string ReadLog(Nvrtc nvrtc, nint program, string programName)
    {
        nuint size;
        if (nvrtc.nvrtcGetProgramLogSize(program, &size) != nvrtcResult.NVRTC_SUCCESS || size <= 1) return "";
        byte[] log = new byte[(int)size];
        fixed (byte* p = log) nvrtc.Check(nvrtc.nvrtcGetProgramLog(program, p), $"nvrtcGetProgramLog('{programName}')");
        return Encoding.UTF8.GetString(log, 0, (int)size - 1).TrimEnd();
    }

    private static string ReadPtx(Nvrtc nvrtc, nint program, string programName)
    {
        nuint size;
        nvrtc.Check(nvrtc.nvrtcGetPTXSize(program, &size), $"nvrtcGetPTXSize('{programName}')");
        byte[] ptx = new byte[(int)size];
        fixed (byte* p = ptx) nvrtc.Check(nvrtc.nvrtcGetPTX(program, p), $"nvrtcGetPTX('{programName}')");
        int length = Array.IndexOf(ptx, (byte)0);
        return Encoding.UTF8.GetString(ptx, 0, length < 0 ? ptx.Length : length);
    }
}
