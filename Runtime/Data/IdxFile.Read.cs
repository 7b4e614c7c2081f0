using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace ModelDsl.Runtime.Data;

public sealed partial class IdxFile
{
    /// <summary>
    /// The largest payload accepted, decompressed: the largest byte array .NET allocates. The header never sizes an
    /// allocation; this only bounds how far a gzip stream is inflated.
    /// </summary>
    public static readonly long MaxDataBytes = Array.MaxLength;

    // Deflate cannot expand by more than about 1032:1, which bounds an honest gzip's output before reading it.
    private const long MaxDeflateRatio = 1032;

    /// <summary>Reads a plain or gzip-compressed IDX file (gzip is recognised by its 1F 8B magic, not by the name).</summary>
    public static IdxFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Parses IDX bytes, gzip-compressed or not; <paramref name="name"/> is the file name used in messages.</summary>
    public static IdxFile Parse(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
        {
            (byte[] buffer, int length) = Gunzip(bytes, name);
            return ParseIdx(buffer, length, name);
        }
        return ParseIdx(bytes, bytes.Length, name);
    }

    private static IdxFile ParseIdx(byte[] buffer, int length, string name)
    {
        if (length < 4)
            throw Invalid(name, length == 0 ? "empty file" : $"truncated header: {length} bytes, an IDX header needs at least 4");
        if (buffer[0] != 0 || buffer[1] != 0)
            throw Invalid(name, $"bad magic: an IDX file starts with 00 00, this one with {buffer[0]:X2} {buffer[1]:X2}");
        if (!IdxDataTypes.IsDefined(buffer[2]))
            throw Invalid(name, $"unsupported data type 0x{buffer[2]:X2} (IDX defines 0x08, 0x09, 0x0B, 0x0C, 0x0D and 0x0E)");
        var type = (IdxDataType)buffer[2];

        int rank = buffer[3];
        if (rank < 1 || rank > MaxRank)
            throw Invalid(name, $"unsupported rank {rank} (expected 1 to {MaxRank} dimensions)");
        int headerBytes = 4 + 4 * rank;
        if (length < headerBytes)
            throw Invalid(name, $"truncated header: rank {rank} needs {headerBytes} header bytes but the file has {length}");

        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(4 + 4 * i));
            if (dims[i] < 0)
                throw Invalid(name, $"dimension {i + 1} of {rank} is negative ({dims[i]})");
        }

        long available = length - headerBytes;
        long declared = DeclaredBytes(type, dims);
        if (declared > available)
        {
            // declared is capped at MaxDataBytes + 1, so a header that claims more than any file could hold says so.
            string claim = declared > MaxDataBytes
                ? $"{Describe(type, dims)} = more than the limit of {MaxDataBytes} bytes"
                : $"{Describe(type, dims)} = {declared} bytes";
            throw Invalid(name, $"truncated: header declares {claim} of data but only {available} follow");
        }
        if (declared < available)
            throw Invalid(name, $"trailing garbage: header declares {Describe(type, dims)} = {declared} bytes of data but {available} follow ({available - declared} extra bytes)");

        return new IdxFile(name, type, dims, buffer, headerBytes, (int)declared);
    }

    /// <summary>Product of the dimensions times the element size, saturating just above the limit instead of overflowing.</summary>
    private static long DeclaredBytes(IdxDataType type, int[] dims)
    {
        long total = IdxDataTypes.SizeOf(type);
        foreach (int d in dims)
        {
            if (d == 0) return 0;
            total *= d; // both factors are at most MaxDataBytes + 1 < 2^31, so the product fits in a long
            if (total > MaxDataBytes) total = MaxDataBytes + 1;
        }
        return total;
    }

    private static string Describe(IdxDataType type, int[] dims)
    {
        string shape = string.Join("×", dims);
        return type == IdxDataType.UnsignedByte ? shape : $"{shape} {IdxDataTypes.Describe(type)} values";
    }

    private static (byte[] Buffer, int Length) Gunzip(byte[] compressed, string name)
    {
        long limit = Math.Min(MaxDataBytes, compressed.Length * MaxDeflateRatio);
        // ISIZE (the last 4 bytes) is the uncompressed size mod 2^32: a capacity hint only, clamped to what the
        // compressed length can honestly produce, so a lying trailer cannot trigger a huge allocation.
        long hint = compressed.Length >= 18 ? BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4)) : 0;
        var output = new MemoryStream((int)Math.Clamp(hint, 0, Math.Min(limit, 256L << 20)));
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress);
            var chunk = new byte[1 << 16];
            int read;
            while ((read = gzip.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (output.Length + read > limit)
                    throw Invalid(name, $"gzip data inflates to more than {limit} bytes");
                output.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(name + ":", StringComparison.Ordinal))
        {
            throw Invalid(name, $"corrupt gzip data ({ex.Message})", ex);
        }
        return (output.GetBuffer(), (int)output.Length);
    }

    private static InvalidDataException Invalid(string name, string problem, Exception? inner = null) =>
        new($"{name}: {problem}", inner);
}
