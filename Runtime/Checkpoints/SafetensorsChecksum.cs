using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>
/// The CRC-32C in <c>__metadata__."modeldsl.crc32c"</c>. Format 2 (<c>"modeldsl.format": "2"</c>) covers the header's
/// meaning as well as the data: CRC-32C of the canonical header text below, then of the data section. Format 1
/// (files written before format 2 existed; no <c>modeldsl.format</c>) covered the data section alone, so a flipped
/// bit in <c>modeldsl.step</c> or in a key name went unnoticed.
/// <code>
/// modeldsl-checkpoint-header 2\n
/// metadata &lt;count&gt;\n
/// &lt;key byte count&gt;:&lt;key&gt;=&lt;value byte count&gt;:&lt;value&gt;\n     every entry but modeldsl.crc32c, keys in ordinal (byte) order
/// tensors &lt;count&gt;\n
/// &lt;name byte count&gt;:&lt;name&gt; &lt;DTYPE&gt; [d0,d1,…] &lt;begin&gt; &lt;end&gt;\n   ordered by begin, end, then name (ordinal)
/// </code>
/// The canonical text, not the raw header bytes, is checksummed so that the value can be computed before it is
/// written, and so that another tool re-serialising the same header (other key order, other padding) keeps the file
/// valid; every byte that carries meaning (keys, values, names, dtypes, shapes, offsets) is covered.
/// </summary>
internal static class SafetensorsChecksum
{
    public const string FormatKey = "modeldsl.format";
    public const string CurrentFormat = "2";

    /// <summary>The canonical header text (UTF-8) of the documented form.</summary>
    public static byte[] CanonicalHeader(IEnumerable<KeyValuePair<string, string>> metadata,
        IEnumerable<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)> tensors)
    {
        var text = new StringBuilder("modeldsl-checkpoint-header 2\n");
        var entries = metadata.Where(m => m.Key != Safetensors.ChecksumKey).OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
        text.Append(CultureInfo.InvariantCulture, $"metadata {entries.Count}\n");
        foreach ((string key, string value) in entries)
            text.Append(Counted(key)).Append('=').Append(Counted(value)).Append('\n');
        var ordered = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        text.Append(CultureInfo.InvariantCulture, $"tensors {ordered.Count}\n");
        foreach (var t in ordered)
            text.Append(Counted(t.Name)).Append(' ').Append(t.DType.Name()).Append(" [")
                .AppendJoin(',', t.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))
                .Append(CultureInfo.InvariantCulture, $"] {t.Begin} {t.End}\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string Counted(string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{Encoding.UTF8.GetByteCount(text)}:{text}");

    /// <summary>The format-2 checksum of what <paramref name="writer"/> will write (its checksum entry excluded).</summary>
    public static uint Of(SafetensorsWriter writer)
    {
        var crc = new Crc32CStream();
        crc.Write(CanonicalHeader(writer.Metadata, writer.Entries()));
        writer.WriteData(crc);
        return crc.Value;
    }

    /// <summary>
    /// Decides how <paramref name="file"/> is protected and checks it. ModelDsl's metadata without a usable checksum
    /// is corruption (a flipped bit in the key name must not switch checking off); a file with no <c>modeldsl.</c>
    /// metadata at all (PyTorch's <c>save_file</c>) has nothing to check against and loads unchecked.
    /// </summary>
    public static void Verify(string path, SafetensorsFile file)
    {
        IReadOnlyDictionary<string, string> metadata = file.Metadata;
        bool hasChecksum = metadata.TryGetValue(Safetensors.ChecksumKey, out string? checksumText);
        bool hasFormat = metadata.TryGetValue(FormatKey, out string? format);
        if (!hasChecksum)
        {
            string[] ours = metadata.Keys.Where(IsModelDslKey).Order(StringComparer.Ordinal).ToArray();
            if (ours.Length > 0)
                throw Checkpoint.Fail(path, $"the header has ModelDsl metadata ({string.Join(", ", ours.Select(k => $"'{k}'"))}) " +
                    $"but no '{Safetensors.ChecksumKey}' checksum: the header is corrupt (or was edited by hand); the file cannot be trusted");
            return;
        }
        if (!uint.TryParse(checksumText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint expected) || checksumText!.Length != 8)
            throw Checkpoint.Fail(path, $"__metadata__ '{Safetensors.ChecksumKey}' is \"{checksumText}\", not 8 hex digits: the header is corrupt");
        if (hasFormat && format != CurrentFormat)
            throw Checkpoint.Fail(path, $"__metadata__ '{FormatKey}' is \"{format}\": not a checkpoint format this runtime reads " +
                $"({CurrentFormat}, or none for files written before formats were numbered); written by a newer ModelDsl, or corrupt");

        var crc = new Crc32CStream();
        if (hasFormat) crc.Write(CanonicalHeader(metadata, file.Tensors.Select(t => (t.Name, t.DType, t.Shape, t.Begin, t.End))));
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            stream.Position = file.DataStart;
            stream.CopyTo(crc, 1 << 16);
        }
        if (crc.Value != expected)
            throw Checkpoint.Fail(path, hasFormat
                ? $"the header or the tensor data does not match its checksum ({Safetensors.ChecksumKey} {checksumText}, computed {crc.Value:x8}): the file is corrupt"
                : $"the tensor data does not match its checksum ({Safetensors.ChecksumKey} {checksumText}, computed {crc.Value:x8}): the file is corrupt");
    }

    // One flipped bit in the checksum's key name leaves the other modeldsl.* keys intact, so they reveal the file.
    private static bool IsModelDslKey(string key) => key.StartsWith("modeldsl.", StringComparison.Ordinal);

    /// <summary>A write-only stream that keeps the CRC-32C of what went through it.</summary>
    private sealed class Crc32CStream : Stream
    {
        private uint _crc = ~0u;

        public uint Value => ~_crc;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => _crc = Crc32C.Update(_crc, buffer);
    }
}
