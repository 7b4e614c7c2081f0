using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// Dropout masks from the counter-based generator: element <c>i</c> is kept when <c>Uniform(seed, i) ≥ p</c> and then
/// scaled by <c>1/(1−p)</c>. The mask is a pure function of (seed, index), so the backward pass draws it again instead
/// of storing it, and any thread or device computes the same mask. With p = 0 and scale = 1 (inference) every
/// element is kept unscaled.
/// </summary>
public static class Dropout
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Mask(uint seed, int index, float p, float scale) =>
        CounterRng.Uniform(seed, (uint)index) >= p ? scale : 0f;

    /// <summary>The masks of elements <c>index .. index+7</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mask(uint seed, int index, Vector256<float> p, Vector256<float> scale)
    {
        var indices = Vector256.Create((uint)index) + Vector256<uint>.Indices;
        var keep = Vector256.GreaterThanOrEqual(CounterRng.Uniform(seed, indices), p);
        return Vector256.ConditionalSelect(keep, scale, Vector256<float>.Zero);
    }

    /// <summary>The seed of dropout layer <paramref name="slot"/> at optimizer step <paramref name="step"/>: fresh masks every step.</summary>
    public static uint Seed(ulong modelSeed, int step, int slot) => Seed(modelSeed, step, slot, stream: 0);

    /// <summary>
    /// The seed of dropout layer <paramref name="slot"/> at <paramref name="step"/> in replica stream <paramref name="stream"/>:
    /// data-parallel ranks share the model seed (the same initial weights) but must not draw the same masks for their
    /// different rows, so each rank draws its own stream. Stream 0 is the single-process seed, unchanged.
    /// </summary>
    public static uint Seed(ulong modelSeed, int step, int slot, int stream) =>
        stream == 0 ? SingleSeed(modelSeed, step, slot) : CounterRng.Hash(SingleSeed(modelSeed, step, slot) ^ CounterRng.Hash((uint)stream * 0x27D4EB2Fu + 0x165667B1u));

    private static uint SingleSeed(ulong modelSeed, int step, int slot) =>
        CounterRng.Hash(CounterRng.Hash((uint)modelSeed ^ (uint)(modelSeed >> 32) * 0x85EBCA6Bu) ^ CounterRng.Hash((uint)step * 0x9E3779B9u + (uint)slot));
}
