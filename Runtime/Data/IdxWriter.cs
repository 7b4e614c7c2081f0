using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace ModelDsl.Runtime.Data;

/// <summary>Writes IDX files: for making small data sets and test fixtures in the format <see cref="IdxFile"/> reads.</summary>
public static class IdxWriter
{
    /// <summary>Header plus payload; <paramref name="bigEndianData"/> must hold exactly the values the dimensions declare.</summary>
    public static byte[] Encode(IdxDataType type, ReadOnlySpan<int> dimensions, ReadOnlySpan<byte> bigEndianData, bool gzip = false)
    {
        if (dimensions.Length < 1 || dimensions.Length > IdxFile.MaxRank)
            throw new ArgumentException($"IDX files have 1 to {IdxFile.MaxRank} dimensions, not {dimensions.Length}", nameof(dimensions));

        long expected = IdxDataTypes.SizeOf(type);
        foreach (int d in dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dimensions));
            expected *= d;
            if (expected > IdxFile.MaxDataBytes)
                throw new ArgumentException("the dimensions declare more data than an IDX file here may hold", nameof(dimensions));
        }
        if (bigEndianData.Length != expected)
            throw new ArgumentException($"the dimensions declare {expected} bytes of data but {bigEndianData.Length} were given", nameof(bigEndianData));

        var plain = new byte[4 + 4 * dimensions.Length + bigEndianData.Length];
        plain[2] = (byte)type;
        plain[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(4 + 4 * i), dimensions[i]);
        bigEndianData.CopyTo(plain.AsSpan(4 + 4 * dimensions.Length));
        if (!gzip) return plain;

        var output = new MemoryStream();
        using (var stream = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
            stream.Write(plain);
        return output.ToArray();
    }

    public static void Write(string path, IdxDataType type, ReadOnlySpan<int> dimensions, ReadOnlySpan<byte> bigEndianData, bool gzip = false) =>
        File.WriteAllBytes(path, Encode(type, dimensions, bigEndianData, gzip));
}
