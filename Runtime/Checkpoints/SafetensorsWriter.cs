using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ModelDsl.Runtime;

/// <summary>
/// Builds a safetensors file. The output is deterministic — the same tensors and metadata give the same bytes:
/// <list type="bullet">
/// <item>the header is compact JSON: <c>__metadata__</c> first (omitted when empty) with its keys in ordinal
/// order, then the tensors in the order they were added, which is also their data order (offsets increase);</item>
/// <item>the header is padded with spaces so the data section starts at a multiple of 8 bytes (as the reference
/// implementation does), and the tensors' data follows back to back, little-endian.</item>
/// </list>
/// The data is referenced, not copied: it must not change until <see cref="WriteTo"/> or <see cref="Save"/> returns.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<Pending> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private sealed record Pending(string Name, SafetensorsDType DType, int[] Shape, ReadOnlyMemory<float> Singles, ReadOnlyMemory<int> Int32s);

    /// <summary>Sets a <c>__metadata__</c> entry (replacing one with the same key).</summary>
    public void SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>Adds an F32 tensor; <paramref name="data"/> holds exactly the shape's element count.</summary>
    public void AddSingles(string name, ReadOnlySpan<int> shape, ReadOnlyMemory<float> data) =>
        Add(name, SafetensorsDType.F32, shape, data.Length, data, default);

    /// <summary>Adds an I32 tensor; <paramref name="data"/> holds exactly the shape's element count.</summary>
    public void AddInt32s(string name, ReadOnlySpan<int> shape, ReadOnlyMemory<int> data) =>
        Add(name, SafetensorsDType.I32, shape, data.Length, default, data);

    /// <summary>
    /// Adds an I64 tensor (PyTorch's <c>num_batches_tracked</c> is an int64 scalar, shape []); <paramref name="data"/>
    /// holds exactly the shape's element count. The values are copied (as little-endian 32-bit halves).
    /// </summary>
    public void AddInt64s(string name, ReadOnlySpan<int> shape, ReadOnlySpan<long> data)
    {
        var halves = new int[2 * data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            halves[2 * i] = unchecked((int)data[i]);
            halves[2 * i + 1] = (int)(data[i] >> 32);
        }
        Add(name, SafetensorsDType.I64, shape, data.Length, default, halves);
    }

    private void Add(string name, SafetensorsDType dtype, ReadOnlySpan<int> shape, int length, ReadOnlyMemory<float> singles, ReadOnlyMemory<int> ints)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == SafetensorsFile.MetadataKey)
            throw new ArgumentException($"'{SafetensorsFile.MetadataKey}' is reserved for the metadata; it cannot name a tensor.", nameof(name));
        long count = 1;
        foreach (int dim in shape)
        {
            if (dim < 0) throw new ArgumentException($"Tensor '{name}': shape {Shapes.Format(shape)} has a negative dimension.", nameof(shape));
            count = checked(count * dim);
        }
        if (count != length)
            throw new ArgumentException($"Tensor '{name}': shape {Shapes.Format(shape)} has {count} elements but the data has {length}.", nameof(shape));
        if (!_names.Add(name))
            throw new ArgumentException($"Tensor '{name}' is added twice; safetensors names must be unique.", nameof(name));
        _tensors.Add(new Pending(name, dtype, shape.ToArray(), singles, ints));
    }

    /// <summary>The header bytes, padding included (its length is the file's u64 N).</summary>
    internal byte[] BuildHeader()
    {
        var json = new MemoryStream();
        // Relaxed escaping keeps names readable (only quotes, backslashes and control characters are escaped): still strict JSON.
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false }))
        {
            w.WriteStartObject();
            if (_metadata.Count > 0)
            {
                w.WriteStartObject(SafetensorsFile.MetadataKey);
                foreach (KeyValuePair<string, string> item in _metadata) w.WriteString(item.Key, item.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (Pending t in _tensors)
            {
                // I64 data is held as pairs of 32-bit halves, so every tensor is a run of 4-byte words.
                long bytes = 4L * (t.DType == SafetensorsDType.F32 ? t.Singles.Length : t.Int32s.Length);
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.Name());
                w.WriteStartArray("shape");
                foreach (int dim in t.Shape) w.WriteNumberValue(dim);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int length = (int)json.Length;
        int padded = (length + 7) & ~7;
        byte[] header = new byte[padded];
        json.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    /// <summary>The metadata set so far, in the order it is written (ordinal by key).</summary>
    internal IEnumerable<KeyValuePair<string, string>> Metadata => _metadata;

    /// <summary>Each tensor's header entry as <see cref="BuildHeader"/> writes it: offsets relative to the data section.</summary>
    internal IEnumerable<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)> Entries()
    {
        long offset = 0;
        foreach (Pending t in _tensors)
        {
            long bytes = 4L * (t.DType == SafetensorsDType.F32 ? t.Singles.Length : t.Int32s.Length); // I64: pairs of halves
            yield return (t.Name, t.DType, t.Shape, offset, offset + bytes);
            offset += bytes;
        }
    }

    /// <summary>Writes the whole file to <paramref name="stream"/>; returns the number of bytes written.</summary>
    public long WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = BuildHeader();
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        return 8 + header.Length + WriteData(stream);
    }

    /// <summary>The data section alone (every tensor's little-endian bytes, in order); returns its length.</summary>
    internal long WriteData(Stream stream)
    {
        long written = 0;
        byte[]? scratch = null;
        foreach (Pending t in _tensors)
        {
            ReadOnlySpan<int> bits = t.DType == SafetensorsDType.F32
                ? MemoryMarshal.Cast<float, int>(t.Singles.Span)
                : t.Int32s.Span;
            written += 4L * bits.Length;
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(bits));
                continue;
            }
            // Big-endian hosts: byte-swap a chunk at a time.
            scratch ??= new byte[1 << 16];
            Span<int> chunk = MemoryMarshal.Cast<byte, int>(scratch.AsSpan());
            while (!bits.IsEmpty)
            {
                int n = Math.Min(bits.Length, chunk.Length);
                BinaryPrimitives.ReverseEndianness(bits[..n], chunk[..n]);
                stream.Write(MemoryMarshal.AsBytes(chunk[..n]));
                bits = bits[n..];
            }
        }
        return written;
    }

    /// <summary>
    /// Writes the file atomically: a temporary file in the same folder is written, flushed to disk and renamed over
    /// <paramref name="path"/>, so an error or crash mid-write leaves the previous file intact (the temporary file
    /// is deleted on error). A symbolic link is written through to its target, an existing file keeps its
    /// permissions, and a folder, device or pipe at the path is refused (see <see cref="AtomicFile"/>).
    /// </summary>
    public void Save(string path) => Save(path, wrap: null);

    /// <summary><paramref name="wrap"/> lets tests put a failing stream between the writer and the temporary file.</summary>
    internal void Save(string path, Func<Stream, Stream>? wrap)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, file =>
        {
            Stream target = wrap is null ? file : wrap(file);
            WriteTo(target);
            target.Flush();
        });
    }
}
