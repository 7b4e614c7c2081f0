using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ModelDsl.Runtime.Onnx;

/// <summary>
/// The parsed form of the graph description the generator (or the CLI) builds with
/// <c>ModelDsl.Emit.Onnx.OnnxGraphDescription.Serialize</c>: one line, records split by <c>;</c>, fields by spaces,
/// list items by commas (<c>-</c> is an empty list), names percent-escaped. See docs/onnx.md.
/// </summary>
internal sealed class OnnxGraph
{
    public const string FormatTag = "modeldsl-onnx 1";

    public string Name { get; private set; } = "";
    public int Opset { get; private set; }
    public List<ValueInfo> Inputs { get; } = [];
    public List<ValueInfo> Outputs { get; } = [];
    public List<Initializer> Initializers { get; } = [];
    public List<Node> Nodes { get; } = [];

    internal sealed record ValueInfo(string Name, int ElementType, IReadOnlyList<Dim> Dims);

    /// <summary>A fixed size (<see cref="Param"/> null) or a symbolic one (<c>B</c>).</summary>
    internal readonly record struct Dim(long Value, string? Param);

    internal sealed record Initializer(string Name, long[] Shape);

    internal sealed record Node(string OpType, string[] Inputs, string[] Outputs, IReadOnlyList<Attribute> Attributes);

    internal enum AttributeKind { Int, Float, String, Ints }

    internal sealed record Attribute(string Name, AttributeKind Kind, long Int, float Float, string? Text, long[]? Ints);

    /// <exception cref="FormatException">The text is not a description this runtime understands.</exception>
    public static OnnxGraph Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var records = text.Split(';');
        if (records[0] != FormatTag)
            throw new FormatException($"ONNX graph description: expected '{FormatTag}' at the start, found '{Truncate(records[0])}'.");
        var graph = new OnnxGraph();
        for (int r = 1; r < records.Length; r++)
        {
            var fields = records[r].Split(' ');
            string kind = fields[0];
            switch (kind)
            {
                case "opset":
                    Expect(fields, 2, records[r]);
                    graph.Opset = int.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
                    break;
                case "graph":
                    Expect(fields, 2, records[r]);
                    graph.Name = Unescape(fields[1]);
                    break;
                case "input":
                case "output":
                    Expect(fields, 4, records[r]);
                    var dims = new List<Dim>();
                    foreach (var d in List(fields[3]))
                    {
                        dims.Add(long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? new Dim(v, null) : new Dim(0, Unescape(d)));
                    }
                    var info = new ValueInfo(Unescape(fields[1]), ElementType(fields[2]), dims);
                    (kind == "input" ? graph.Inputs : graph.Outputs).Add(info);
                    break;
                case "initializer":
                    Expect(fields, 3, records[r]);
                    graph.Initializers.Add(new Initializer(Unescape(fields[1]), Longs(fields[2])));
                    break;
                case "node":
                    if (fields.Length < 4) throw Bad(records[r]);
                    var attributes = new List<Attribute>();
                    for (int a = 4; a < fields.Length; a++) attributes.Add(ParseAttribute(fields[a], records[r]));
                    graph.Nodes.Add(new Node(Unescape(fields[1]), Names(fields[2]), Names(fields[3]), attributes));
                    break;
                default:
                    throw Bad(records[r]);
            }
        }
        if (graph.Opset <= 0) throw new FormatException("ONNX graph description: no opset.");
        if (graph.Outputs.Count == 0) throw new FormatException("ONNX graph description: no output.");
        return graph;
    }

    private static Attribute ParseAttribute(string field, string record)
    {
        int colon = field.IndexOf(':');
        int equals = field.IndexOf('=');
        if (colon < 0 || equals < colon) throw Bad(record);
        string kind = field[..colon];
        string name = Unescape(field[(colon + 1)..equals]);
        string value = field[(equals + 1)..];
        return kind switch
        {
            "i" => new Attribute(name, AttributeKind.Int, long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture), 0, null, null),
            "f" => new Attribute(name, AttributeKind.Float, 0, float.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture), null, null),
            "s" => new Attribute(name, AttributeKind.String, 0, 0, Unescape(value), null),
            "ints" => new Attribute(name, AttributeKind.Ints, 0, 0, null, Longs(value)),
            _ => throw Bad(record),
        };
    }

    private static int ElementType(string text) => text switch
    {
        "f32" => OnnxProto.Float,
        "i32" => OnnxProto.Int32,
        _ => throw new FormatException($"ONNX graph description: unknown element type '{Truncate(text)}'."),
    };

    private static string[] List(string text) => text == "-" ? [] : text.Split(',');

    private static string[] Names(string text) => Array.ConvertAll(List(text), Unescape);

    private static long[] Longs(string text) =>
        Array.ConvertAll(List(text), s => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));

    private static void Expect(string[] fields, int count, string record)
    {
        if (fields.Length != count) throw Bad(record);
    }

    private static FormatException Bad(string record) => new($"ONNX graph description: malformed record '{Truncate(record)}'.");

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";

    /// <summary>Undoes the percent-escaping of UTF-8 bytes.</summary>
    internal static string Unescape(string text)
    {
        if (!text.Contains('%')) return text;
        var bytes = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 2;
            }
            else if (text[i] == '%')
            {
                throw new FormatException($"ONNX graph description: bad escape in '{Truncate(text)}'.");
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
