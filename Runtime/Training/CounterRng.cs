using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime;

/// <summary>
/// Counter-based random numbers: the value is a pure function of (seed, index), so the same element gets the same
/// number on any thread, in any order, in scalar or vector code, in C# and (later) CUDA C. That is what makes
/// dropout masks reproducible without storing them and without a shared generator state.
/// </summary>
/// <remarks>
/// The hash is Chris Wellons' lowbias32. Index and seed are combined as
/// <c>Hash(index * 0x9E3779B9 ^ Hash(seed))</c>: the odd multiplier spreads neighbouring indices apart before
/// hashing, and hashing the seed keeps seeds 0, 1, 2 from giving shifted copies of one stream.
/// Every formula here is written so a CUDA port is line for line (uint arithmetic wraps the same way).
/// </remarks>
public static class CounterRng
{
    private const uint Golden = 0x9E3779B9u;
    private const float Inv24 = 1f / 16777216f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352du;
        x ^= x >> 15;
        x *= 0x846ca68bu;
        x ^= x >> 16;
        return x;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits (every value exactly representable as a float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(uint seed, uint index) => (Hash(index * Golden ^ Hash(seed)) >> 8) * Inv24;

    /// <summary>The same values as <see cref="Uniform(uint, uint)"/> for eight indices at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Uniform(uint seed, Vector256<uint> indices)
    {
        Vector256<uint> x = indices * Vector256.Create(Golden) ^ Vector256.Create(Hash(seed));
        x = Hash(x);
        // The top 24 bits fit an int exactly, so the signed conversion is exact (and a single instruction on AVX).
        return Vector256.ConvertToSingle((x >> 8).AsInt32()) * Vector256.Create(Inv24);
    }

    /// <summary>The same values as <see cref="Uniform(uint, uint)"/> for sixteen indices at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Uniform(uint seed, Vector512<uint> indices)
    {
        Vector512<uint> x = indices * Vector512.Create(Golden) ^ Vector512.Create(Hash(seed));
        x ^= x >> 16;
        x *= Vector512.Create(0x7feb352du);
        x ^= x >> 15;
        x *= Vector512.Create(0x846ca68bu);
        x ^= x >> 16;
        return Vector512.ConvertToSingle((x >> 8).AsInt32()) * Vector512.Create(Inv24);
    }

    /// <summary>Lane-wise <see cref="Hash(uint)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Hash(Vector256<uint> x)
    {
        x ^= x >> 16;
        x *= Vector256.Create(0x7feb352du);
        x ^= x >> 15;
        x *= Vector256.Create(0x846ca68bu);
        x ^= x >> 16;
        return x;
    }

    /// <summary>
    /// <c>destination[i] = Uniform(seed, firstIndex + i)</c>, vectorised. Indices wrap modulo 2^32, as a CUDA
    /// kernel's uint arithmetic would.
    /// </summary>
    public static void Fill(Span<float> destination, uint seed, uint firstIndex)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && destination.Length >= Vector256<float>.Count)
        {
            Vector256<uint> index = Vector256.Create(firstIndex) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            Vector256<uint> step = Vector256.Create((uint)Vector256<float>.Count);
            for (; i <= destination.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Uniform(seed, index).StoreUnsafe(ref destination[i]);
                index += step;
            }
        }
        for (; i < destination.Length; i++)
            destination[i] = Uniform(seed, unchecked(firstIndex + (uint)i));
    }
}
