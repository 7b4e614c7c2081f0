using System;

namespace ModelDsl.Runtime.Cpu.Layers;

/// <summary>
/// Argument checks shared by the layer kernels. The passing path allocates nothing; messages are built only when
/// a check fails. Span lengths may exceed what the shape needs (buffers sized for the largest batch are reused).
/// </summary>
internal static class LayerArgs
{
    /// <summary>Throws unless <paramref name="value"/> ≥ 1.</summary>
    public static void Positive(int value, string name)
    {
        if (value < 1) ThrowPositive(value, name);
    }

    /// <summary>Throws unless <paramref name="length"/> ≥ <paramref name="needed"/>; the message names the span and its layout.</summary>
    public static void Length(int length, long needed, string name, string layout)
    {
        if (length < needed) ThrowLength(length, needed, name, layout);
    }

    /// <summary>Throws unless the span holds a <paramref name="layout"/> tensor of the given sizes (message: <c>[N, C, H, W] = [2, 3, 5, 5] needs 150</c>).</summary>
    public static void Length(int length, string name, string layout, int d0, int d1 = -1, int d2 = -1, int d3 = -1)
    {
        long needed = (long)d0 * Math.Max(d1, 1) * Math.Max(d2, 1) * Math.Max(d3, 1);
        if (length < needed) ThrowLength(length, needed, name, Describe(layout, d0, d1, d2, d3));
    }

    /// <summary>As <see cref="Length(int, string, string, int, int, int, int)"/>, but an empty span passes (it means "not wanted").</summary>
    public static void OptionalLength(int length, string name, string layout, int d0, int d1 = -1, int d2 = -1, int d3 = -1)
    {
        if (length != 0) Length(length, name, layout, d0, d1, d2, d3);
    }

    private static string Describe(string layout, int d0, int d1, int d2, int d3)
    {
        string sizes = d1 < 0 ? $"{d0}" : d2 < 0 ? $"{d0}, {d1}" : d3 < 0 ? $"{d0}, {d1}, {d2}" : $"{d0}, {d1}, {d2}, {d3}";
        return $"{layout} = [{sizes}]";
    }

    /// <summary>Throws when a product of sizes does not fit a span (more than <see cref="int.MaxValue"/> elements).</summary>
    public static int Size(long value, string what)
    {
        if (value > int.MaxValue) ThrowTooLarge(value, what);
        return (int)value;
    }

    private static void ThrowPositive(int value, string name) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be at least 1 but is {value}.");

    private static void ThrowLength(int length, long needed, string name, string layout) =>
        throw new ArgumentException($"Span '{name}' has {length} elements; {layout} needs {needed}.", name);

    private static void ThrowTooLarge(long value, string what) =>
        throw new ArgumentException($"{what} has {value} elements, more than a span can hold ({int.MaxValue}).");
}
