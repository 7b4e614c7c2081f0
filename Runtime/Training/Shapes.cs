using System;
using System.Globalization;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>Shape arithmetic and formatting shared by the tensor, parameter, checkpoint and shape-check types.</summary>
internal static class Shapes
{
    /// <summary>Product of the dims, validating each is positive. A rank-0 shape (a scalar) has one element.</summary>
    public static long Product(ReadOnlySpan<int> shape, string what)
    {
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] <= 0)
                throw new ArgumentException($"{what}: dimension {i} is {shape[i]}; every dimension must be positive (shape {Format(shape)}).");
            count = checked(count * shape[i]);
        }
        return count;
    }

    /// <summary><c>[128, 784]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        return text.Append(']').ToString();
    }

    /// <summary>
    /// Changes the leading dim in place (no allocation) and returns the new element count. Used for the last,
    /// partial mini-batch: the buffer stays the full-batch size and only the logical shape shrinks.
    /// </summary>
    public static int SetBatch(int[] shape, int rows, int capacity, string what)
    {
        if (shape.Length == 0)
            throw new InvalidOperationException($"{what}: a scalar has no batch dimension.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        long rest = 1;
        for (int i = 1; i < shape.Length; i++) rest *= shape[i];
        long needed = rest * rows;
        if (needed > capacity)
            throw new ArgumentOutOfRangeException(nameof(rows),
                $"{what}: {rows} rows of {rest} elements need {needed} but the buffer holds {capacity}.");
        shape[0] = rows;
        return (int)needed;
    }

    /// <summary>Copies <paramref name="shape"/> (the same rank) into <paramref name="current"/>, allocating nothing; returns the element count.</summary>
    public static int SetInPlace(int[] current, ReadOnlySpan<int> shape, int capacity, string what)
    {
        if (shape.Length != current.Length)
            throw new ArgumentException($"{what}: shape {Format(shape)} has rank {shape.Length}, not {current.Length}.", nameof(shape));
        long count = Product(shape, what);
        if (count > capacity)
            throw new ArgumentException($"{what}: shape {Format(shape)} needs {count} elements but the buffer holds {capacity}.", nameof(shape));
        shape.CopyTo(current);
        return (int)count;
    }

    /// <summary>Validates <paramref name="shape"/> against a buffer and copies it into <paramref name="current"/> when the rank matches.</summary>
    public static int[] Reshape(int[] current, int[] shape, int capacity, string what, out int length)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = Product(shape, what);
        if (count > capacity)
            throw new ArgumentException($"{what}: shape {Format(shape)} needs {count} elements but the buffer holds {capacity}.", nameof(shape));
        length = (int)count;
        // Same rank: overwrite in place so callers holding the Shape array see the change and nothing is allocated.
        if (current.Length == shape.Length)
        {
            shape.AsSpan().CopyTo(current);
            return current;
        }
        return (int[])shape.Clone();
    }
}
