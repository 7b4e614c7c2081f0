using System;

namespace ModelDsl.Cuda;

/// <summary>
/// BF16 (bfloat16: the upper 16 bits of an IEEE-754 float) on the host: the same rounding as <c>md_bf16_from_float</c>
/// in Cuda/Kernels/bf16.cuh, bit for bit, so the emulator's BF16 GEMM and the tests agree with the device code. Also
/// TF32's rounding (10 stored mantissa bits), which the emulator applies to the operands of a TF32 GEMM.
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// <paramref name="value"/> rounded to BF16: to nearest, ties to even; finite values past the largest BF16 become ±Inf;
    /// subnormals round like any value (no flush); a NaN stays a NaN of the same sign with its quiet bit set.
    /// </summary>
    public static ushort Round(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x0040u);
        u += 0x7fffu + ((u >> 16) & 1u);
        return (ushort)(u >> 16);
    }

    /// <summary>The float a BF16 value stands for (exact).</summary>
    public static float Widen(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Every value of <paramref name="source"/> rounded to BF16 (<see cref="Round(float)"/>) into <paramref name="destination"/>, which is at least as long: an f32 input on its way to a BF16 activation buffer.</summary>
    public static void Round(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"{destination.Length} BF16 values cannot hold {source.Length} floats", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = Round(source[i]);
    }

    /// <summary>Every BF16 value of <paramref name="source"/> widened (exactly) into <paramref name="destination"/>, which is at least as long: a BF16 output read back as floats.</summary>
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"{destination.Length} floats cannot hold {source.Length} BF16 values", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = Widen(source[i]);
    }

    /// <summary><paramref name="value"/> rounded to BF16 and widened again: what a BF16 store keeps of a float.</summary>
    public static float Quantize(float value) => Widen(Round(value));

    /// <summary>
    /// <paramref name="value"/> rounded to TF32 (8 exponent bits, 10 stored mantissa bits; kept in a float with the low 13
    /// bits zero): to nearest, ties to even, NaN kept. How the emulator models a tensor core reading an FP32 operand in
    /// TF32 mode (the hardware's exact conversion is not documented; cuBLAS's rounding may differ in the last TF32 bit).
    /// </summary>
    public static float RoundToTf32(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7fffffffu) >= 0x7f800000u) return value;
        u += 0xfffu + ((u >> 13) & 1u);
        return BitConverter.UInt32BitsToSingle(u & 0xffffe000u);
    }
}
