using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>Little-endian writer that keeps a running CRC-32C of everything written.</summary>
internal sealed class CheckpointWriter(Stream stream)
{
    private readonly byte[] _scratch = new byte[1 << 16];
    private uint _crc = ~0u;

    public long Position { get; private set; }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        _crc = Crc32C.Update(_crc, bytes);
        stream.Write(bytes);
        Position += bytes.Length;
    }

    public void WriteUInt32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        WriteBytes(b);
    }

    public void WriteInt32(int value) => WriteUInt32((uint)value);

    public void WriteInt64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        WriteBytes(b);
    }

    public void WriteString(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        WriteInt32(bytes.Length);
        WriteBytes(bytes);
    }

    public void WriteFloats(ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            WriteBytes(MemoryMarshal.AsBytes(values));
            return;
        }
        // Big-endian hosts: byte-swap through the scratch buffer, a chunk at a time.
        Span<int> chunk = MemoryMarshal.Cast<byte, int>(_scratch.AsSpan());
        ReadOnlySpan<int> bits = MemoryMarshal.Cast<float, int>(values);
        while (!bits.IsEmpty)
        {
            int n = Math.Min(bits.Length, chunk.Length);
            BinaryPrimitives.ReverseEndianness(bits[..n], chunk[..n]);
            WriteBytes(MemoryMarshal.AsBytes(chunk[..n]));
            bits = bits[n..];
        }
    }

    /// <summary>Appends the CRC of everything written so far (the checksum itself is not covered).</summary>
    public void WriteChecksum()
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, ~_crc);
        stream.Write(b);
        Position += 4;
    }
}
