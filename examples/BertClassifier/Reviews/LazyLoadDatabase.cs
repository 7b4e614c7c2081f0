using System.Buffers.Binary;
using System.IO.Compression;
using SharpCompress.Compressors.LZMA;

namespace BertClassifierExample.Reviews;

/// <summary>
/// One of R's lazy-load databases, as installed packages keep their data sets (<c>data/Rdata.rdx</c> and
/// <c>data/Rdata.rdb</c>): the index names every object and where its record lies in the .rdb; each record is the
/// object in R's serialization format, compressed. Reads the objects by name without R.
/// </summary>
/// <remarks>
/// The layout is R's src/library/tools/R/makeLazyLoad.R and src/main/serialize.c. The .rdx is an RDS file (gzip of
/// the serialization, or not compressed) of <c>list(variables = &lt;named list of c(offset, length)&gt;, references =
/// ..., compressed = 1 | 2 | 3)</c>. With compressed = 1 (zlib) a record is a big-endian int (the serialized length)
/// and a zlib stream; with 2 (bzip2) or 3 (xz) the int is followed by one byte naming the method actually used:
/// 'Z' a raw LZMA2 stream (what R's xz writes: no .xz container), '2' bzip2, '1' zlib, '0' stored. modeldata 1.1.0
/// uses compressed = 3.
/// </remarks>
internal sealed class LazyLoadDatabase
{
    private readonly string _rdb;
    private readonly Dictionary<string, (long Offset, int Length)> _records;
    private readonly int _compression;

    private LazyLoadDatabase(string rdb, Dictionary<string, (long, int)> records, int compression)
    {
        _rdb = rdb;
        _records = records;
        _compression = compression;
    }

    /// <summary>The objects' names, in the index's order.</summary>
    public IReadOnlyCollection<string> Names => _records.Keys;

    /// <summary>Opens the database whose index is <paramref name="rdx"/>; the records are read from the .rdb beside it.</summary>
    public static LazyLoadDatabase Open(string rdx)
    {
        string rdb = Path.ChangeExtension(rdx, ".rdb");
        if (!File.Exists(rdb)) throw new FileNotFoundException($"{rdb}: the records of the lazy-load database {rdx} are missing", rdb);
        var index = RSerializationReader.Read(Decompressed(File.ReadAllBytes(rdx), rdx), rdx);
        if (index is not RList list || NamesOf(list) is not { } names || names.Length != list.Values.Length)
            throw new InvalidDataException($"{rdx}: not a lazy-load index (a named list of variables, references and compressed)");
        RValue Field(string name) => Array.IndexOf(names, name) is >= 0 and var i ? list.Values[i]
            : throw new InvalidDataException($"{rdx}: the lazy-load index has no '{name}' entry");

        int compression = Field("compressed") switch
        {
            RIntegers { Values: [var c] } when c is >= 0 and <= 3 => c,
            RDoubles { Values: [var c] } when c is 0 or 1 or 2 or 3 => (int)c,
            _ => throw new InvalidDataException($"{rdx}: the lazy-load index's 'compressed' entry is not 0, 1, 2 or 3"),
        };
        if (Field("variables") is not RList variables || NamesOf(variables) is not { } variableNames || variableNames.Length != variables.Values.Length)
            throw new InvalidDataException($"{rdx}: the lazy-load index's 'variables' entry is not a named list");
        var records = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
        long rdbLength = new FileInfo(rdb).Length;
        for (int i = 0; i < variables.Values.Length; i++)
        {
            var (offset, length) = variables.Values[i] switch
            {
                RIntegers { Values: [var o, var l] } => ((long)o, (long)l),
                RDoubles { Values: [var o, var l] } when o == Math.Floor(o) && l == Math.Floor(l) => ((long)o, (long)l),
                _ => throw new InvalidDataException($"{rdx}: the index entry of '{variableNames[i]}' is not (offset, length)"),
            };
            if (offset < 0 || length < 5 || length > int.MaxValue || offset + length > rdbLength)
                throw new InvalidDataException($"{rdx}: the record of '{variableNames[i]}' ({length:N0} bytes at byte {offset:N0}) lies outside {rdb} ({rdbLength:N0} bytes)");
            records[variableNames[i]!] = (offset, (int)length);
        }
        return new LazyLoadDatabase(rdb, records, compression);
    }

    /// <summary>The object named <paramref name="name"/>, read and deserialized.</summary>
    public RValue Read(string name)
    {
        if (!_records.TryGetValue(name, out var record))
            throw new InvalidDataException($"{_rdb}: the lazy-load database has no object '{name}' (it has {string.Join(", ", _records.Keys.Take(8))}{(_records.Count > 8 ? ", …" : "")})");
        var bytes = new byte[record.Length];
        using (var file = File.OpenRead(_rdb))
        {
            file.Position = record.Offset;
            file.ReadExactly(bytes);
        }
        string where = $"{_rdb}, record '{name}' at byte {record.Offset:N0}";
        return RSerializationReader.Read(DecompressRecord(bytes, _compression, where), where);
    }

    /// <summary>One record's serialized bytes, decompressed as the index's <c>compressed</c> entry says.</summary>
    internal static byte[] DecompressRecord(byte[] record, int compression, string where)
    {
        if (record.Length < 4) throw new InvalidDataException($"{where}: a record of {record.Length} bytes (at least the 4-byte length is needed)");
        int length = BinaryPrimitives.ReadInt32BigEndian(record);
        if (length < 0) throw new InvalidDataException($"{where}: a serialized length of {length}");
        if (compression == 0) return record.AsSpan(4).ToArray();
        if (compression == 1) return Inflate(record, 4, length, where, zlib: true);
        if (record.Length < 5) throw new InvalidDataException($"{where}: a record of {record.Length} bytes (the length and the method byte are needed)");
        return (char)record[4] switch
        {
            'Z' => Lzma2(record, length, where),
            '1' => Inflate(record, 5, length, where, zlib: true),
            '0' => record.Length - 5 == length ? record.AsSpan(5).ToArray()
                : throw new InvalidDataException($"{where}: a stored record of {record.Length - 5:N0} bytes where the header says {length:N0}"),
            '2' => throw new InvalidDataException($"{where}: a bzip2-compressed record, which this reader does not read (zlib and xz records it does)"),
            var m => throw new InvalidDataException($"{where}: compression method byte 0x{(byte)m:X2} at byte 4 of the record ('Z', '2', '1' or '0' expected)"),
        };
    }

    private static byte[] Inflate(byte[] record, int start, int length, string where, bool zlib)
    {
        var output = new byte[length];
        try
        {
            using var input = new MemoryStream(record, start, record.Length - start);
            using Stream z = zlib ? new ZLibStream(input, CompressionMode.Decompress) : new GZipStream(input, CompressionMode.Decompress);
            z.ReadExactly(output);
            if (z.ReadByte() != -1) throw new InvalidDataException($"{where}: the zlib stream holds more than the {length:N0} bytes its header says");
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{where}: the zlib stream ends before the {length:N0} bytes its header says (truncated or corrupt)");
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(where, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{where}: corrupt zlib data after byte {start} of the record ({ex.Message})");
        }
        return output;
    }

    private static byte[] Lzma2(byte[] record, int length, string where)
    {
        var output = new byte[length];
        try
        {
            // LZMA2's one property byte is the dictionary size; R's preset 6 uses 8 MiB (byte 22). A dictionary as
            // large as the output (at least 4 KiB) is enough to decode it and keeps the window small.
            byte dictionary = 0;
            while (dictionary < 40 && (2L | (dictionary & 1L)) << (dictionary / 2 + 11) < length) dictionary++;
            using var input = new MemoryStream(record, 5, record.Length - 5);
            using var lzma = LzmaStream.Create(new[] { dictionary }, input, record.Length - 5, length, null, true, false);
            lzma.ReadExactly(output);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or InvalidOperationException or IndexOutOfRangeException or ArgumentException or SharpCompress.Common.SharpCompressException)
        {
            throw new InvalidDataException($"{where}: corrupt or truncated LZMA2 data after byte 5 of the record ({ex.Message})");
        }
        return output;
    }

    /// <summary>An RDS file's bytes as serialization: gzip is undone, anything else is taken as it is.</summary>
    private static byte[] Decompressed(byte[] file, string path)
    {
        if (file.Length >= 2 && file[0] == 0x1F && file[1] == 0x8B)
        {
            try
            {
                using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
                using var output = new MemoryStream();
                gzip.CopyTo(output);
                return output.ToArray();
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"{path}: corrupt gzip data ({ex.Message})");
            }
        }
        return file;
    }

    private static string?[]? NamesOf(RValue value) => value.Attribute("names") is RStrings s ? s.Values : null;
}
