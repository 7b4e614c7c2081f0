using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelDsl.Runtime.Onnx;

/// <summary>
/// The protobuf wire format, just what ONNX needs: varints (wire type 0), 32-bit floats (wire type 5) and
/// length-delimited strings, bytes and sub-messages (wire type 2). A sub-message is built in its own writer and
/// then copied in with its length, so lengths never have to be known in advance.
/// </summary>
internal sealed class ProtoWriter
{
    private const int Varint = 0;
    private const int Fixed32 = 5;
    private const int LengthDelimited = 2;

    private readonly MemoryStream _buffer = new();

    public long Length => _buffer.Length;

    public void WriteInt64(int field, long value)
    {
        Tag(field, Varint);
        // Negative int64/int32 values are ten-byte varints (two's complement), as protobuf specifies.
        RawVarint(unchecked((ulong)value));
    }

    public void WriteFloat(int field, float value)
    {
        Tag(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>Floats as little-endian bytes (TensorProto.raw_data).</summary>
    public void WriteFloatsAsBytes(int field, ReadOnlySpan<float> values)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)values.Length * 4);
        if (BitConverter.IsLittleEndian)
        {
            _buffer.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> bytes = stackalloc byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
            _buffer.Write(bytes);
        }
    }

    public void WriteMessage(int field, ProtoWriter message)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)message._buffer.Length);
        message._buffer.Position = 0;
        message._buffer.CopyTo(_buffer);
    }

    public void WriteMessage(int field, Action<ProtoWriter> build)
    {
        var message = new ProtoWriter();
        build(message);
        WriteMessage(field, message);
    }

    public void CopyTo(Stream destination)
    {
        _buffer.Position = 0;
        _buffer.CopyTo(destination);
    }

    public byte[] ToArray() => _buffer.ToArray();

    private void Tag(int field, int wireType) => RawVarint((ulong)((uint)field << 3 | (uint)wireType));

    private void RawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}
