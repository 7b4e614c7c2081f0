using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime.Cpu;

/// <summary>The instruction set an SGEMM runs its micro-kernel with (<see cref="Sgemm.ActivePath"/>).</summary>
public enum SgemmPath
{
    /// <summary>Scalar code, for CPUs without AVX2/FMA (Arm64, old x64).</summary>
    Portable,

    /// <summary>AVX2 + FMA, 256-bit: a 6×16 micro-kernel.</summary>
    Avx2,

    /// <summary>AVX-512F, 512-bit: taken when <c>Vector512</c> is hardware accelerated.</summary>
    Avx512,
}

public static partial class Sgemm
{
    /// <summary>The environment variable that caps the instruction set: <c>avx2</c>, <c>avx512</c> or <c>portable</c>.</summary>
    public const string IsaVariable = "MODELDSL_CPU_ISA";

    /// <summary>
    /// The kernel path every <see cref="Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, int)"/>
    /// takes in this process: the widest this CPU runs well (<see cref="SgemmPath.Avx512"/> where <c>Vector512</c> is
    /// hardware accelerated, else <see cref="SgemmPath.Avx2"/> where AVX2 and FMA are, else <see cref="SgemmPath.Portable"/>),
    /// capped by <c>MODELDSL_CPU_ISA</c> when it is set. Read once, at first use.
    /// </summary>
    /// <remarks>
    /// <c>MODELDSL_CPU_ISA=avx2</c> runs the AVX2 kernels on an AVX-512 machine (to compare the two, or to reproduce a result
    /// of a machine without AVX-512 bit for bit: the paths sum in different orders and differ by rounding). A value
    /// naming a wider set than the CPU has falls back to the widest it has; any other value is an error.
    /// </remarks>
    public static SgemmPath ActivePath { get; } = SelectPath(Environment.GetEnvironmentVariable(IsaVariable));

    /// <summary>Whether this CPU can run <paramref name="path"/>.</summary>
    public static bool IsSupported(SgemmPath path) => path switch
    {
        SgemmPath.Portable => true,
        SgemmPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        // Vector512.IsHardwareAccelerated is false where the runtime judges 512-bit code slower (some Intel parts
        // that down-clock) even when Avx512F.IsSupported: follow the runtime's judgement.
        SgemmPath.Avx512 => Avx512F.IsSupported && Vector512.IsHardwareAccelerated && Fma.IsSupported,
        _ => false,
    };

    /// <summary>The path for a value of <c>MODELDSL_CPU_ISA</c> (null or empty: the widest supported).</summary>
    internal static SgemmPath SelectPath(string? isa)
    {
        SgemmPath cap = (isa ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "avx512" => SgemmPath.Avx512,
            "avx2" => SgemmPath.Avx2,
            "portable" or "scalar" => SgemmPath.Portable,
            _ => throw new InvalidOperationException(
                $"{IsaVariable}='{isa}' is not a known instruction set; use avx512, avx2 or portable (or unset it for the widest this CPU has)."),
        };
        for (var path = cap; path > SgemmPath.Portable; path--)
        {
            if (IsSupported(path)) return path;
        }
        return SgemmPath.Portable;
    }
}
