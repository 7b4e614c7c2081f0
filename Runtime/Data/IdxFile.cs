using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// One IDX file (the MNIST / Fashion-MNIST container): element type, 1 to 4 dimensions and the big-endian payload.
/// Read it with <see cref="Read"/> (plain or gzip, told apart by content); every structural problem is an
/// <see cref="InvalidDataException"/> whose message starts with the file name.
/// </summary>
public sealed partial class IdxFile
{
    public const int MaxRank = 4;

    // The payload is a window on the buffer the file was read or decompressed into, so loading copies nothing.
    private readonly byte[] _buffer;
    private readonly int _offset;
    private readonly int _length;
    private readonly int[] _dimensions;

    private IdxFile(string name, IdxDataType type, int[] dimensions, byte[] buffer, int offset, int length)
    {
        Name = name;
        DataType = type;
        _dimensions = dimensions;
        _buffer = buffer;
        _offset = offset;
        _length = length;
    }

    /// <summary>The file name used in messages.</summary>
    public string Name { get; }

    public IdxDataType DataType { get; }

    public IReadOnlyList<int> Dimensions => _dimensions;

    public int Rank => _dimensions.Length;

    /// <summary>The first dimension: the number of items (images, labels).</summary>
    public int Count => _dimensions[0];

    /// <summary>Number of values: the product of the dimensions.</summary>
    public long ElementCount => _length / IdxDataTypes.SizeOf(DataType);

    /// <summary>The raw payload as stored: big-endian for multi-byte types.</summary>
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(_offset, _length);

    /// <summary>Converts every value to float, multiplied by <paramref name="scale"/>.</summary>
    public float[] ToSingleArray(float scale = 1f)
    {
        var result = new float[ElementCount];
        CopyTo(result, scale);
        return result;
    }

    public void CopyTo(Span<float> destination, float scale = 1f)
    {
        if (destination.Length < ElementCount)
            throw new ArgumentException($"destination holds {destination.Length} values but {Name} has {ElementCount}", nameof(destination));

        ReadOnlySpan<byte> data = Data;
        int n = (int)ElementCount;
        switch (DataType)
        {
            case IdxDataType.UnsignedByte:
                for (int i = 0; i < n; i++) destination[i] = data[i] * scale;
                break;
            case IdxDataType.SignedByte:
                for (int i = 0; i < n; i++) destination[i] = (sbyte)data[i] * scale;
                break;
            case IdxDataType.Int16:
                for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt16BigEndian(data[(2 * i)..]) * scale;
                break;
            case IdxDataType.Int32:
                for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt32BigEndian(data[(4 * i)..]) * scale;
                break;
            case IdxDataType.Float32:
                for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadSingleBigEndian(data[(4 * i)..]) * scale;
                break;
            default:
                for (int i = 0; i < n; i++) destination[i] = (float)(BinaryPrimitives.ReadDoubleBigEndian(data[(8 * i)..]) * scale);
                break;
        }
    }

    /// <summary>Converts an integer-typed file (labels, typically) to int; float types are refused rather than truncated.</summary>
    public int[] ToInt32Array()
    {
        var result = new int[ElementCount];
        ReadOnlySpan<byte> data = Data;
        switch (DataType)
        {
            case IdxDataType.UnsignedByte:
                for (int i = 0; i < result.Length; i++) result[i] = data[i];
                break;
            case IdxDataType.SignedByte:
                for (int i = 0; i < result.Length; i++) result[i] = (sbyte)data[i];
                break;
            case IdxDataType.Int16:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt16BigEndian(data[(2 * i)..]);
                break;
            case IdxDataType.Int32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32BigEndian(data[(4 * i)..]);
                break;
            default:
                throw new InvalidOperationException($"{Name}: holds {IdxDataTypes.Describe(DataType)} values, not integers");
        }
        return result;
    }

    public override string ToString() =>
        $"{Name}: {IdxDataTypes.Describe(DataType)} [{string.Join("×", _dimensions)}]";
}
