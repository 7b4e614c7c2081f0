using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace ModelDsl.Runtime;

/// <summary>One tensor entry of a safetensors header. Offsets are relative to the start of the data section.</summary>
public sealed class SafetensorsTensor
{
    internal SafetensorsTensor(string name, SafetensorsDType dtype, int[] shape, long elementCount, long begin, long end)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = elementCount;
        Begin = begin;
        End = end;
    }

    public string Name { get; }

    public SafetensorsDType DType { get; }

    /// <summary>The shape array itself (not a copy): read it, do not write it. Rank 0 is a scalar.</summary>
    public int[] Shape { get; }

    public long ElementCount { get; }

    /// <summary>First byte, relative to the data section.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte, relative to the data section.</summary>
    public long End { get; }

    public long ByteLength => End - Begin;

    /// <summary><c>logits.0.weight F32 [256, 784]</c>.</summary>
    public override string ToString() => $"{Name} {DType.Name()} {Shapes.Format(Shape)}";
}

/// <summary>
/// A validated, open safetensors file (the Hugging Face format): a little-endian u64 header length N, N bytes of
/// UTF-8 JSON (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>),
/// then the raw little-endian tensor data. <see cref="Open"/> checks the whole structure before returning — the
/// header length against the file, the JSON, every dtype, shape and byte size, and that the tensors tile the data
/// section exactly (no overlap, no gap, nothing missing or left over) — so a truncated or corrupt file fails there
/// with an <see cref="InvalidDataException"/> whose message starts with the path and names the problem. The format
/// has no checksum: flipped bits inside tensor data cannot be detected.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The limit the reference implementation puts on the header (100 MB): a longer one is corrupt.</summary>
    public const long MaxHeaderLength = 100_000_000;

    internal const string MetadataKey = "__metadata__";

    private readonly FileStream _stream;
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    private SafetensorsFile(string path, FileStream stream, long headerLength, List<SafetensorsTensor> tensors,
        Dictionary<string, SafetensorsTensor> byName, Dictionary<string, string> metadata)
    {
        Path = path;
        _stream = stream;
        HeaderLength = headerLength;
        Tensors = tensors;
        _byName = byName;
        Metadata = metadata;
    }

    /// <summary>The path as given to <see cref="Open"/>; every error message starts with it.</summary>
    public string Path { get; }

    /// <summary>N, the JSON header's length in bytes (padding included).</summary>
    public long HeaderLength { get; }

    /// <summary>Where the data section starts in the file: 8 + N.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>Every tensor, in data order (by offset; the header's key order carries no meaning).</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map (empty when the header has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGetTensor(string name, out SafetensorsTensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>The named tensor; an <see cref="InvalidDataException"/> naming the file if it has none.</summary>
    public SafetensorsTensor this[string name] =>
        _byName.TryGetValue(name, out SafetensorsTensor? t) ? t : throw Fail($"it has no tensor '{name}'");

    public void Dispose() => _stream.Dispose();

    /// <summary>Opens and validates the file; see the class summary. The file stays open (read sharing) until disposed.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Checkpoint.ThrowIfFolder(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            return Parse(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Bytes as text where printable (<c>"MDLCKPT1"</c>), else as hex.</summary>
    private static string Describe(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (b is < 0x20 or >= 0x7F || b == (byte)'"') return "0x" + Convert.ToHexString(bytes);
        return "\"" + Encoding.ASCII.GetString(bytes) + "\"";
    }

    private static SafetensorsFile Parse(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        if (got < 8)
            throw Fail(path, $"truncated: the file has {fileLength} bytes, fewer than the 8-byte header length");
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (prefix.SequenceEqual("MDLCKPT1"u8))
            throw Fail(path, "not a safetensors file: it is a ModelDsl checkpoint in the older MDLCKPT1 format " +
                "(Safetensors.Load and a model's Load read it; Checkpoint.Load reads it directly)");
        if (declared > MaxHeaderLength)
            throw Fail(path, $"not a safetensors file, or a corrupt one: its first 8 bytes ({Describe(prefix)}) give a header length of " +
                $"{declared} bytes, " + (declared > (ulong)fileLength
                    ? $"more than the whole file ({fileLength} bytes)"
                    : $"more than the {MaxHeaderLength}-byte limit"));
        long headerLength = (long)declared;
        if (headerLength > fileLength - 8)
            throw Fail(path, $"truncated: the header length says {headerLength} bytes but only {fileLength - 8} follow it");
        if (headerLength < 2)
            throw Fail(path, $"the header length is {headerLength} bytes, too short for a JSON object");

        byte[] header = new byte[headerLength];
        stream.ReadExactly(header);
        if (header[0] != (byte)'{')
            throw Fail(path, $"the header does not start with '{{' (byte 0x{header[0]:X2}): not a safetensors file, or a corrupt one");

        for (int at = 0; at < header.Length;)
        {
            if (Rune.DecodeFromUtf8(header.AsSpan(at), out _, out int used) != OperationStatus.Done)
                throw Fail(path, $"the header is not valid UTF-8 (at header byte {at})");
            at += used;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail(path, $"the header is not valid JSON: {e.Message}");
        }

        long dataLength = fileLength - 8 - headerLength;
        var tensors = new List<SafetensorsTensor>();
        var byName = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Fail(path, $"the header is a JSON {Kind(document.RootElement)}, not an object");
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    if (sawMetadata)
                        throw Fail(path, "the header has '__metadata__' twice");
                    sawMetadata = true;
                    ReadMetadata(path, entry.Value, metadata);
                    continue;
                }
                if (byName.ContainsKey(entry.Name))
                    throw Fail(path, $"the header has tensor '{entry.Name}' twice");
                SafetensorsTensor tensor = ReadEntry(path, entry.Name, entry.Value);
                tensors.Add(tensor);
                byName.Add(tensor.Name, tensor);
            }
        }

        CheckLayout(path, tensors, dataLength);
        return new SafetensorsFile(path, stream, headerLength, tensors, byName, metadata);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(path, $"'__metadata__' is a JSON {Kind(value)}, not an object of strings");
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Fail(path, $"'__metadata__' entry '{item.Name}' is a JSON {Kind(item.Value)}, not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Fail(path, $"'__metadata__' has key '{item.Name}' twice");
        }
    }

    private static SafetensorsTensor ReadEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(path, $"tensor '{name}': its entry is a JSON {Kind(value)}, not an object");
        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            // Unknown fields are ignored, as the reference implementation does.
            switch (field.Name)
            {
                case "dtype": dtypeElement = Once(path, name, field, dtypeElement); break;
                case "shape": shapeElement = Once(path, name, field, shapeElement); break;
                case "data_offsets": offsetsElement = Once(path, name, field, offsetsElement); break;
            }
        }
        if (dtypeElement is not { } dt) throw Fail(path, $"tensor '{name}' has no \"dtype\"");
        if (shapeElement is not { } sh) throw Fail(path, $"tensor '{name}' has no \"shape\"");
        if (offsetsElement is not { } of) throw Fail(path, $"tensor '{name}' has no \"data_offsets\"");

        if (dt.ValueKind != JsonValueKind.String)
            throw Fail(path, $"tensor '{name}': \"dtype\" is a JSON {Kind(dt)}, not a string");
        string dtypeName = dt.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out SafetensorsDType dtype))
        {
            if (Array.IndexOf(SafetensorsDTypes.SubByteNames, dtypeName) >= 0)
                throw Fail(path, $"tensor '{name}' has unsupported dtype {dtypeName} (a sub-byte type; ModelDsl reads F32 and I32)");
            throw Fail(path, $"tensor '{name}' has unknown dtype \"{dtypeName}\"");
        }

        if (sh.ValueKind != JsonValueKind.Array)
            throw Fail(path, $"tensor '{name}': \"shape\" is a JSON {Kind(sh)}, not an array");
        var shape = new int[sh.GetArrayLength()];
        long count = 1;
        int d = 0;
        foreach (JsonElement dim in sh.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size))
                throw Fail(path, $"tensor '{name}': shape dimension {d} is {dim.GetRawText()}, not an integer");
            if (size < 0)
                throw Fail(path, $"tensor '{name}': shape dimension {d} is {size}, negative");
            if (size > int.MaxValue)
                throw Fail(path, $"tensor '{name}': shape dimension {d} is {size}, larger than ModelDsl supports");
            shape[d++] = (int)size;
            count = count > 0 && size > long.MaxValue / count
                ? throw Fail(path, $"tensor '{name}': shape {sh.GetRawText()} has too many elements")
                : count * size;
        }

        if (of.ValueKind != JsonValueKind.Array || of.GetArrayLength() != 2)
            throw Fail(path, $"tensor '{name}': \"data_offsets\" is {of.GetRawText()}, not an array [begin, end]");
        long begin = Offset(path, name, of[0], "begin");
        long end = Offset(path, name, of[1], "end");
        if (end < begin)
            throw Fail(path, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        long expected = count > long.MaxValue / dtype.Size()
            ? throw Fail(path, $"tensor '{name}': shape {Shapes.Format(shape)} has too many elements")
            : count * dtype.Size();
        if (end - begin != expected)
            throw Fail(path, $"tensor '{name}': {dtypeName} {Shapes.Format(shape)} needs {expected} bytes " +
                $"but data_offsets [{begin}, {end}] span {end - begin}");
        return new SafetensorsTensor(name, dtype, shape, count, begin, end);
    }

    private static JsonElement Once(string path, string name, JsonProperty field, JsonElement? seen) =>
        seen is null ? field.Value : throw Fail(path, $"tensor '{name}' has \"{field.Name}\" twice");

    private static long Offset(string path, string name, JsonElement value, string which)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long offset) || offset < 0)
            throw Fail(path, $"tensor '{name}': data_offsets {which} is {value.GetRawText()}, not a non-negative integer");
        return offset;
    }

    /// <summary>The tensors, sorted by offset, must tile [0, dataLength) exactly.</summary>
    private static void CheckLayout(string path, List<SafetensorsTensor> tensors, long dataLength)
    {
        // Ties on (begin, end) keep header order; only empty tensors can share offsets legitimately.
        var ordered = new List<(SafetensorsTensor T, int Index)>(tensors.Count);
        for (int i = 0; i < tensors.Count; i++) ordered.Add((tensors[i], i));
        ordered.Sort((a, b) =>
            a.T.Begin != b.T.Begin ? a.T.Begin.CompareTo(b.T.Begin)
            : a.T.End != b.T.End ? a.T.End.CompareTo(b.T.End)
            : a.Index.CompareTo(b.Index));

        long covered = 0;
        SafetensorsTensor? previous = null;
        foreach ((SafetensorsTensor t, _) in ordered)
        {
            if (t.Begin < covered)
                throw Fail(path, $"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}) and '{t.Name}' " +
                    $"[{t.Begin}, {t.End}) overlap");
            if (t.Begin > covered)
                throw Fail(path, $"bytes [{covered}, {t.Begin}) of the data section belong to no tensor (a gap before '{t.Name}')");
            covered = t.End;
            previous = t;
        }
        if (covered > dataLength)
            throw Fail(path, $"truncated: the tensors need {covered} data bytes but the file has only {dataLength} " +
                $"after the header ('{previous!.Name}' ends at {previous.End})");
        if (covered < dataLength)
            throw Fail(path, $"the file has {dataLength - covered} bytes after the last tensor's data that belong to no tensor");

        tensors.Clear();
        foreach ((SafetensorsTensor t, _) in ordered) tensors.Add(t);
    }

    /// <summary>Reads an F32 tensor into a new array.</summary>
    public float[] ReadSingles(string name)
    {
        SafetensorsTensor t = this[name];
        var values = new float[CheckedCount(t)];
        ReadSingles(t, values);
        return values;
    }

    /// <summary>Reads an F32 tensor of this file into <paramref name="destination"/> (exactly its element count).</summary>
    public void ReadSingles(SafetensorsTensor tensor, Span<float> destination)
    {
        Require(tensor, SafetensorsDType.F32, destination.Length);
        ReadRaw(tensor, MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> bits = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    /// <summary>Reads an I32 tensor into a new array.</summary>
    public int[] ReadInt32s(string name)
    {
        SafetensorsTensor t = this[name];
        var values = new int[CheckedCount(t)];
        ReadInt32s(t, values);
        return values;
    }

    /// <summary>Reads an I32 tensor of this file into <paramref name="destination"/> (exactly its element count).</summary>
    public void ReadInt32s(SafetensorsTensor tensor, Span<int> destination)
    {
        Require(tensor, SafetensorsDType.I32, destination.Length);
        ReadRaw(tensor, MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(destination, destination);
    }

    /// <summary>Reads an I64 tensor of this file into <paramref name="destination"/> (exactly its element count).</summary>
    public void ReadInt64s(SafetensorsTensor tensor, Span<long> destination)
    {
        Require(tensor, SafetensorsDType.I64, destination.Length);
        ReadRaw(tensor, MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(destination, destination);
    }

    private int CheckedCount(SafetensorsTensor t) =>
        t.ElementCount <= Array.MaxLength ? (int)t.ElementCount
        : throw Fail($"tensor '{t.Name}' has {t.ElementCount} elements, more than an array can hold");

    private void Require(SafetensorsTensor tensor, SafetensorsDType dtype, int length)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryGetValue(tensor.Name, out SafetensorsTensor? own) || !ReferenceEquals(own, tensor))
            throw new ArgumentException($"Tensor '{tensor.Name}' is not one of {Path}'s tensors.", nameof(tensor));
        if (tensor.DType != dtype)
            throw Fail(tensor.DType is SafetensorsDType.F32 or SafetensorsDType.I32 or SafetensorsDType.I64
                ? $"tensor '{tensor.Name}' has dtype {tensor.DType.Name()}, not {dtype.Name()}"
                : $"tensor '{tensor.Name}' has unsupported dtype {tensor.DType.Name()} (ModelDsl reads F32, I32 and I64)");
        if (length != tensor.ElementCount)
            throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.ElementCount} elements; the destination has {length}.");
    }

    private void ReadRaw(SafetensorsTensor tensor, Span<byte> destination)
    {
        try
        {
            _stream.Position = DataStart + tensor.Begin;
            _stream.ReadExactly(destination);
        }
        catch (EndOfStreamException)
        {
            throw Fail($"truncated: the file ended inside tensor '{tensor.Name}' (it changed after it was opened?)");
        }
    }

    private InvalidDataException Fail(string problem) => Fail(Path, problem);

    private static InvalidDataException Fail(string path, string problem) => Checkpoint.Fail(path, problem);

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };
}
