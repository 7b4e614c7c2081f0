using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace ModelDsl.Runtime.Tests.Checkpoints;

/// <summary>
/// The format-2 checksum computed from docs/checkpoints.md alone (a JSON parse of the header, the canonical text, a
/// bit-by-bit CRC-32C), independent of the runtime's reader and writer, so hand-built files can carry ModelDsl
/// metadata and the runtime's checksum is checked against the documented definition.
/// </summary>
internal static class HandBuiltChecksum
{
    /// <summary>CRC-32C (Castagnoli, reflected 0x82F63B78) bit by bit.</summary>
    public static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The documented canonical header text of a JSON header (its modeldsl.crc32c entry left out).</summary>
    public static string Canonical(string headerJson)
    {
        using var doc = JsonDocument.Parse(headerJson);
        var metadata = new List<(string Key, string Value)>();
        var tensors = new List<(string Name, string DType, string Shape, long Begin, long End)>();
        foreach (JsonProperty e in doc.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__")
            {
                foreach (JsonProperty m in e.Value.EnumerateObject())
                    if (m.Name != "modeldsl.crc32c") metadata.Add((m.Name, m.Value.GetString()!));
                continue;
            }
            JsonElement offsets = e.Value.GetProperty("data_offsets");
            string shape = "[" + string.Join(",", e.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())) + "]";
            tensors.Add((e.Name, e.Value.GetProperty("dtype").GetString()!, shape, offsets[0].GetInt64(), offsets[1].GetInt64()));
        }
        static string Counted(string s) => $"{Encoding.UTF8.GetByteCount(s)}:{s}";
        var text = new StringBuilder("modeldsl-checkpoint-header 2\n");
        text.Append($"metadata {metadata.Count}\n");
        foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
            text.Append(Counted(key)).Append('=').Append(Counted(value)).Append('\n');
        text.Append($"tensors {tensors.Count}\n");
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ThenBy(t => t.Name, StringComparer.Ordinal))
            text.Append(Counted(t.Name)).Append(' ').Append(t.DType).Append(' ').Append(t.Shape).Append($" {t.Begin} {t.End}\n");
        return text.ToString();
    }

    /// <summary>The checksum of a format-2 file with this header and data section.</summary>
    public static string Checksum(string headerJson, byte[] data) =>
        BitwiseCrc32C([.. Encoding.UTF8.GetBytes(Canonical(headerJson)), .. data]).ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>
    /// <paramref name="headerJson"/> (which has a <c>"__metadata__":{</c> object) with <c>modeldsl.format</c> 2 and
    /// its correct <c>modeldsl.crc32c</c> added as the metadata's first entries.
    /// </summary>
    public static string Sign(string headerJson, byte[] data)
    {
        const string open = "\"__metadata__\":{";
        if (!headerJson.Contains(open, StringComparison.Ordinal)) throw new ArgumentException("the header needs a __metadata__ object");
        string withFormat = headerJson.Replace(open, open + "\"modeldsl.format\":\"2\",", StringComparison.Ordinal);
        return withFormat.Replace(open, open + $"\"modeldsl.crc32c\":\"{Checksum(withFormat, data)}\",", StringComparison.Ordinal);
    }
}
