namespace ModelDsl.Runtime.Data;

/// <summary>
/// SplitMix64: a tiny, allocation-free generator whose sequence is fixed by this code, not by the runtime's
/// <see cref="System.Random"/> implementation, so a seed means the same shuffle on every .NET version.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound): rejection sampling, so no modulo bias.</summary>
    public int NextBelow(int bound)
    {
        ulong b = (ulong)bound;
        ulong limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do x = Next(); while (x >= limit);
        return (int)(x % b);
    }
}
