using System;

namespace ModelDsl.Runtime;

/// <summary>
/// An f32 tensor: contiguous row-major data plus a shape. <see cref="Data"/> may be longer than the shape needs
/// (buffers are allocated once at the largest batch size and reused), so always use <see cref="Span"/> or
/// <see cref="Length"/> rather than <c>Data.Length</c>.
/// </summary>
public sealed class Tensor
{
    private int[] _shape;

    /// <exception cref="ArgumentException">A dim is not positive, or <paramref name="data"/> is shorter than the shape needs.</exception>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = Shapes.Product(shape, "Tensor");
        if (count > data.Length)
            throw new ArgumentException($"Tensor: shape {Shapes.Format(shape)} needs {count} elements but the data holds {data.Length}.", nameof(data));
        Data = data;
        // Copied once here so a caller reusing its shape array cannot change this tensor behind its back.
        _shape = (int[])shape.Clone();
        Length = (int)count;
    }

    public static Tensor Zeros(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = Shapes.Product(shape, "Tensor");
        if (count > Array.MaxLength)
            throw new ArgumentException($"Tensor: shape {Shapes.Format(shape)} has {count} elements, more than an array can hold.", nameof(shape));
        return new Tensor(new float[count], shape);
    }

    public float[] Data { get; }

    /// <summary>The shape array itself (not a copy): read it, do not write it; use <see cref="Reshape"/> or <see cref="SetBatch"/>.</summary>
    public int[] Shape => _shape;

    public int Rank => _shape.Length;

    /// <summary>Product of the shape: the number of elements in use.</summary>
    public int Length { get; private set; }

    /// <summary>The elements in use: <c>Data.AsSpan(0, Length)</c>.</summary>
    public Span<float> Span => Data.AsSpan(0, Length);

    /// <summary>
    /// Gives the tensor a new shape over the same data. With the same rank the existing <see cref="Shape"/> array
    /// is updated in place; the <c>params</c> array itself still allocates, so hot paths should use <see cref="SetBatch"/>.
    /// </summary>
    public void Reshape(params int[] shape)
    {
        _shape = Shapes.Reshape(_shape, shape, Data.Length, "Tensor", out int length);
        Length = length;
    }

    /// <summary>Sets <c>Shape[0]</c> in place, allocating nothing: the last, partial batch of an epoch.</summary>
    public void SetBatch(int rows) => Length = Shapes.SetBatch(_shape, rows, Data.Length, "Tensor");

    /// <summary>A new shape of the same rank, set in place (nothing allocated): a generated workspace's output for another binding.</summary>
    internal void SetShape(ReadOnlySpan<int> shape) => Length = Shapes.SetInPlace(_shape, shape, Data.Length, "Tensor");

    /// <summary><c>Tensor f32[128, 784]</c>.</summary>
    public override string ToString() => "Tensor f32" + Shapes.Format(_shape);
}

/// <summary>An i32 tensor (class ids, token ids): the same contract as <see cref="Tensor"/>.</summary>
public sealed class IntTensor
{
    private int[] _shape;

    public IntTensor(int[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = Shapes.Product(shape, "IntTensor");
        if (count > data.Length)
            throw new ArgumentException($"IntTensor: shape {Shapes.Format(shape)} needs {count} elements but the data holds {data.Length}.", nameof(data));
        Data = data;
        _shape = (int[])shape.Clone();
        Length = (int)count;
    }

    public static IntTensor Zeros(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = Shapes.Product(shape, "IntTensor");
        if (count > Array.MaxLength)
            throw new ArgumentException($"IntTensor: shape {Shapes.Format(shape)} has {count} elements, more than an array can hold.", nameof(shape));
        return new IntTensor(new int[count], shape);
    }

    public int[] Data { get; }

    /// <summary>The shape array itself (not a copy): read it, do not write it.</summary>
    public int[] Shape => _shape;

    public int Rank => _shape.Length;

    public int Length { get; private set; }

    public Span<int> Span => Data.AsSpan(0, Length);

    public void Reshape(params int[] shape)
    {
        _shape = Shapes.Reshape(_shape, shape, Data.Length, "IntTensor", out int length);
        Length = length;
    }

    public void SetBatch(int rows) => Length = Shapes.SetBatch(_shape, rows, Data.Length, "IntTensor");

    internal void SetShape(ReadOnlySpan<int> shape) => Length = Shapes.SetInPlace(_shape, shape, Data.Length, "IntTensor");

    /// <summary><c>IntTensor i32[128]</c>.</summary>
    public override string ToString() => "IntTensor i32" + Shapes.Format(_shape);
}
