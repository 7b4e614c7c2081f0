using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace ModelDsl.Cli.Onnx;

/// <summary>
/// Reads the protobuf wire format field by field, just enough for ONNX weights: varints (wire type 0), 64-bit
/// (1) and 32-bit (5) fixed values, and length-delimited strings, bytes, packed arrays and sub-messages (2).
/// Fields a caller does not ask for are skipped. Every length is checked against what is left, so a truncated or
/// non-protobuf file ends in <see cref="InvalidDataException"/> (never an out-of-range read).
/// The counterpart of <c>ModelDsl.Runtime.Onnx.ProtoWriter</c>.
/// </summary>
internal ref struct ProtoReader
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private readonly string _what;
    private int _position;

    /// <param name="what">the message being read, for error messages ("ModelProto", "TensorProto 'x'").</param>
    public ProtoReader(ReadOnlySpan<byte> data, string what)
    {
        _data = data;
        _what = what;
    }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (_position >= _data.Length)
        {
            field = wireType = 0;
            return false;
        }
        ulong tag = ReadRawVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0 || tag >> 3 > int.MaxValue || wireType is not (Varint or Fixed64 or LengthDelimited or Fixed32))
            throw Bad($"field tag {tag} at byte {_position} is not valid protobuf");
        return true;
    }

    public readonly bool AtEnd => _position >= _data.Length;

    public ulong ReadVarint() => ReadRawVarint();

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadRawVarint();
        if (length > (ulong)(_data.Length - _position))
            throw Bad($"a field of {length} bytes runs past the end ({_data.Length - _position} bytes left): the file is truncated or not ONNX");
        var bytes = _data.Slice(_position, (int)length);
        _position += (int)length;
        return bytes;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    public float ReadFixed32Float()
    {
        Need(4);
        float value = BinaryPrimitives.ReadSingleLittleEndian(_data[_position..]);
        _position += 4;
        return value;
    }

    /// <summary>Skips the value of a field this reader's caller does not need.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadRawVarint(); break;
            case Fixed64: Need(8); _position += 8; break;
            case Fixed32: Need(4); _position += 4; break;
            default: ReadBytes(); break;
        }
    }

    private void Need(int count)
    {
        if (_data.Length - _position < count)
            throw Bad($"a {count}-byte value runs past the end: the file is truncated or not ONNX");
    }

    private ulong ReadRawVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length) throw Bad("a number runs past the end: the file is truncated or not ONNX");
            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Bad($"a number longer than 10 bytes at byte {_position}: not protobuf");
    }

    private readonly InvalidDataException Bad(string message) => new($"{_what}: {message}");
}
