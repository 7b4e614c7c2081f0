using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelDsl.Emit.Onnx
{
    /// <summary>
    /// A target-neutral description of an ONNX inference graph: graph inputs with (possibly symbolic) dims, one
    /// output, the initializers (named and shaped like the model's parameters, values supplied at export time) and
    /// the nodes. <see cref="Serialize"/> writes it as one compact, deterministic line that generated code embeds as
    /// a constant and <c>ModelDsl.Runtime.Onnx.OnnxExport</c> parses back (docs/onnx.md describes the format).
    /// </summary>
    public sealed class OnnxGraphDescription
    {
        /// <summary>The format tag and version that start every serialised description.</summary>
        public const string FormatTag = "modeldsl-onnx 1";

        public OnnxGraphDescription(
            string name,
            int opset,
            IReadOnlyList<OnnxValueInfo> inputs,
            IReadOnlyList<OnnxValueInfo> outputs,
            IReadOnlyList<OnnxInitializer> initializers,
            IReadOnlyList<OnnxNode> nodes)
        {
            Name = name;
            Opset = opset;
            Inputs = inputs;
            Outputs = outputs;
            Initializers = initializers;
            Nodes = nodes;
        }

        public string Name { get; }

        /// <summary>The default-domain ("ai.onnx") opset the nodes are written against.</summary>
        public int Opset { get; }

        public IReadOnlyList<OnnxValueInfo> Inputs { get; }
        public IReadOnlyList<OnnxValueInfo> Outputs { get; }
        public IReadOnlyList<OnnxInitializer> Initializers { get; }
        public IReadOnlyList<OnnxNode> Nodes { get; }

        /// <summary>
        /// One line, records separated by <c>;</c>, fields by spaces, list items by commas, <c>-</c> for an empty list;
        /// names are percent-escaped outside <c>[A-Za-z0-9._*/]</c>:
        /// <code>
        /// modeldsl-onnx 1;opset 20;graph Name;input x f32 B,10;output y f32 B,1;initializer fc.weight 1,10;
        /// node Gemm x,fc.weight,fc.bias y i:transB=1
        /// </code>
        /// Attributes are <c>kind:name=value</c> with kind <c>i</c> (int64), <c>f</c> (float, round-trip text),
        /// <c>s</c> (string, escaped) or <c>ints</c> (comma list).
        /// </summary>
        public string Serialize()
        {
            var sb = new StringBuilder();
            sb.Append(FormatTag);
            sb.Append(";opset ").Append(Opset.ToString(CultureInfo.InvariantCulture));
            sb.Append(";graph ").Append(Escape(Name));
            foreach (var v in Inputs) sb.Append(";input ").Append(v.Serialize());
            foreach (var v in Outputs) sb.Append(";output ").Append(v.Serialize());
            foreach (var i in Initializers)
            {
                sb.Append(";initializer ").Append(Escape(i.Name)).Append(' ')
                  .Append(List(i.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))));
            }
            foreach (var n in Nodes)
            {
                sb.Append(";node ").Append(Escape(n.OpType)).Append(' ')
                  .Append(List(n.Inputs.Select(Escape))).Append(' ')
                  .Append(List(n.Outputs.Select(Escape)));
                foreach (var a in n.Attributes) sb.Append(' ').Append(a.Serialize());
            }
            return sb.ToString();
        }

        public override string ToString() => Serialize();

        internal static string List(IEnumerable<string> items)
        {
            string text = string.Join(",", items);
            return text.Length == 0 ? "-" : text;
        }

        /// <summary>Percent-escapes every UTF-8 byte outside <c>[A-Za-z0-9._*/]</c>, so names never contain a separator.</summary>
        public static string Escape(string text)
        {
            var sb = new StringBuilder(text.Length);
            foreach (byte b in Encoding.UTF8.GetBytes(text))
            {
                char c = (char)b;
                bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '*' || c == '/';
                if (plain) sb.Append(c);
                else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }
    }

    /// <summary>A graph input or output: name, element type (<c>f32</c> or <c>i32</c>) and dims (a size or a symbol such as <c>B</c>).</summary>
    public sealed class OnnxValueInfo
    {
        public OnnxValueInfo(string name, string elementType, IReadOnlyList<string> dims)
        {
            Name = name;
            ElementType = elementType;
            Dims = dims;
        }

        public string Name { get; }
        public string ElementType { get; }

        /// <summary>Each dim as text: digits for a fixed size, otherwise the ONNX <c>dim_param</c> (<c>B</c>, <c>B*T</c>).</summary>
        public IReadOnlyList<string> Dims { get; }

        internal string Serialize() =>
            OnnxGraphDescription.Escape(Name) + " " + ElementType + " " + OnnxGraphDescription.List(Dims.Select(OnnxGraphDescription.Escape));
    }

    /// <summary>An initializer the exporter fills from the parameter of the same name (f32, this shape).</summary>
    public sealed class OnnxInitializer
    {
        public OnnxInitializer(string name, IReadOnlyList<long> shape)
        {
            Name = name;
            Shape = shape;
        }

        public string Name { get; }
        public IReadOnlyList<long> Shape { get; }
    }

    public sealed class OnnxNode
    {
        public OnnxNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute> attributes)
        {
            OpType = opType;
            Inputs = inputs;
            Outputs = outputs;
            Attributes = attributes;
        }

        public string OpType { get; }
        public IReadOnlyList<string> Inputs { get; }
        public IReadOnlyList<string> Outputs { get; }
        public IReadOnlyList<OnnxAttribute> Attributes { get; }

        public override string ToString() => $"{OpType}({string.Join(", ", Inputs)}) -> {string.Join(", ", Outputs)}";
    }

    public enum OnnxAttributeKind
    {
        Int,
        Float,
        String,
        Ints,
    }

    public sealed class OnnxAttribute
    {
        private OnnxAttribute(string name, OnnxAttributeKind kind, long integer, float real, string? text, IReadOnlyList<long>? integers)
        {
            Name = name;
            Kind = kind;
            Integer = integer;
            Real = real;
            Text = text;
            Integers = integers;
        }

        public string Name { get; }
        public OnnxAttributeKind Kind { get; }
        public long Integer { get; }
        public float Real { get; }
        public string? Text { get; }
        public IReadOnlyList<long>? Integers { get; }

        public static OnnxAttribute Int(string name, long value) => new OnnxAttribute(name, OnnxAttributeKind.Int, value, 0, null, null);
        public static OnnxAttribute Float(string name, float value) => new OnnxAttribute(name, OnnxAttributeKind.Float, 0, value, null, null);
        public static OnnxAttribute String(string name, string value) => new OnnxAttribute(name, OnnxAttributeKind.String, 0, 0, value, null);
        public static OnnxAttribute Ints(string name, IReadOnlyList<long> values) => new OnnxAttribute(name, OnnxAttributeKind.Ints, 0, 0, null, values);

        internal string Serialize()
        {
            string name = OnnxGraphDescription.Escape(Name);
            switch (Kind)
            {
                case OnnxAttributeKind.Int: return "i:" + name + "=" + Integer.ToString(CultureInfo.InvariantCulture);
                case OnnxAttributeKind.Float: return "f:" + name + "=" + Real.ToString("R", CultureInfo.InvariantCulture);
                case OnnxAttributeKind.String: return "s:" + name + "=" + OnnxGraphDescription.Escape(Text!);
                case OnnxAttributeKind.Ints: return "ints:" + name + "=" + OnnxGraphDescription.List(Integers!.Select(v => v.ToString(CultureInfo.InvariantCulture)));
                default: throw new InvalidOperationException("Unknown attribute kind " + Kind);
            }
        }
    }
}
