using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace ModelDsl.Cli.Onnx;

/// <summary>One float32 weight read from an ONNX graph, under the name it is written with.</summary>
/// <param name="Shape">PyTorch's layout: Linear weights are already transposed to [out, in].</param>
/// <param name="OnnxName">the initializer's name in the ONNX file (differs from <paramref name="Name"/> for renamed weights).</param>
internal sealed record ImportedTensor(string Name, int[] Shape, float[] Data, string OnnxName, bool Transposed);

/// <summary>What <see cref="OnnxWeights.Read"/> found: the weights, and what it left out (so the command can say so).</summary>
internal sealed record OnnxImport(IReadOnlyList<ImportedTensor> Tensors, IReadOnlyList<string> SkippedIntegers, IReadOnlyList<string> SkippedUnnamed);

/// <summary>
/// Reads the weights (graph initializers) of an ONNX ModelProto and gives them Hugging Face / PyTorch names.
/// <para>
/// PyTorch's exporter writes a <c>Linear</c> as <c>MatMul(x, W)</c> then <c>Add(bias, ·)</c>: W is W_torchᵀ, stored
/// [in, out] under an anonymous number ("927", "onnx::MatMul_927"), while the bias keeps its module name
/// (<c>encoder.layer.0.attention.self.query.bias</c>). Such a W is named after its bias
/// (<c>….query.weight</c>) and transposed back to [out, in]. Named initializers keep their name and layout.
/// Integer initializers (shape constants, index buffers such as <c>embeddings.position_ids</c>) and anonymous
/// float constants that feed no Linear are left out; any other element type (float16, double, …) is an error.
/// </para>
/// Only these protobuf fields are read (onnx/onnx.proto): ModelProto.graph = 7; GraphProto.node = 1,
/// initializer = 5; NodeProto input = 1, output = 2, op_type = 4; TensorProto dims = 1, data_type = 2,
/// float_data = 4, name = 8, raw_data = 9, data_location = 14.
/// </summary>
internal static class OnnxWeights
{
    private sealed record Node(string OpType, List<string> Inputs, List<string> Outputs);

    private sealed record Tensor(string Name, long[] Dims, int DataType, float[]? Data);

    /// <summary>Reads <paramref name="bytes"/> (a whole .onnx file); throws <see cref="InvalidDataException"/> with a one-line reason.</summary>
    public static OnnxImport Read(ReadOnlySpan<byte> bytes)
    {
        var graph = ReadModel(bytes);
        var nodes = new List<Node>();
        var tensors = new List<Tensor>();
        var reader = new ProtoReader(graph, "GraphProto");
        while (reader.Next(out int field, out int wire))
        {
            if (field == 1 && wire == ProtoReader.LengthDelimited) nodes.Add(ReadNode(reader.ReadBytes()));
            else if (field == 5 && wire == ProtoReader.LengthDelimited) tensors.Add(ReadTensor(reader.ReadBytes()));
            else reader.Skip(wire);
        }

        var linearNames = NameLinearWeights(nodes, tensors);
        var imported = new List<ImportedTensor>();
        var integers = new List<string>();
        var unnamed = new List<string>();
        foreach (var t in tensors)
        {
            if (t.Data is null)
            {
                integers.Add(t.Name);
                continue;
            }
            int[] shape = t.Dims.Select(d => checked((int)d)).ToArray();
            if (linearNames.TryGetValue(t.Name, out string? name))
                imported.Add(new ImportedTensor(name, [shape[1], shape[0]], Transpose(t.Data, shape[0], shape[1]), t.Name, Transposed: true));
            else if (IsAnonymous(t.Name))
                unnamed.Add(t.Name);
            else
                imported.Add(new ImportedTensor(t.Name, shape, t.Data, t.Name, Transposed: false));
        }
        var duplicate = imported.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidDataException($"two weights would be named '{duplicate.Key}' ({string.Join(", ", duplicate.Select(t => $"'{t.OnnxName}'"))})");
        return new OnnxImport(imported, integers, unnamed);
    }

    /// <summary>
    /// Anonymous MatMul weight → the name of the Linear it belongs to: <c>MatMul(x, W)</c> whose only consumer is an
    /// <c>Add</c> with a named 1-D float initializer "<c>P.bias</c>" of W's column count gives W the name "<c>P.weight</c>".
    /// </summary>
    private static Dictionary<string, string> NameLinearWeights(List<Node> nodes, List<Tensor> tensors)
    {
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in tensors) byName.TryAdd(t.Name, t);
        var consumers = new Dictionary<string, List<Node>>(StringComparer.Ordinal);
        foreach (var node in nodes)
            foreach (var input in node.Inputs)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var matMul in nodes)
        {
            if (matMul.OpType != "MatMul" || matMul.Inputs.Count != 2 || matMul.Outputs.Count != 1) continue;
            if (!byName.TryGetValue(matMul.Inputs[1], out var weight) || weight.Data is null || weight.Dims.Length != 2 || !IsAnonymous(weight.Name)) continue;
            if (!consumers.TryGetValue(matMul.Outputs[0], out var after) || after.Count != 1 || after[0].OpType != "Add" || after[0].Inputs.Count != 2) continue;
            var add = after[0];
            string biasName = add.Inputs[0] == matMul.Outputs[0] ? add.Inputs[1] : add.Inputs[0];
            if (!biasName.EndsWith(".bias", StringComparison.Ordinal) || !byName.TryGetValue(biasName, out var bias)
                || bias.Data is null || bias.Dims.Length != 1 || bias.Dims[0] != weight.Dims[1]) continue;
            string name = biasName[..^".bias".Length] + ".weight";
            if (names.TryGetValue(weight.Name, out string? earlier) && earlier != name)
                throw new InvalidDataException($"initializer '{weight.Name}' feeds two Linear layers ('{earlier}' and '{name}'); it cannot be given one name");
            names[weight.Name] = name;
        }
        return names;
    }

    /// <summary>PyTorch's exporter numbers the tensors it creates: "927", "onnx::MatMul_927".</summary>
    private static bool IsAnonymous(string name) =>
        name.Length == 0 || name.All(char.IsAsciiDigit) || name.StartsWith("onnx::", StringComparison.Ordinal);

    private static float[] Transpose(float[] data, int rows, int columns)
    {
        var result = new float[data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = data[r * columns + c];
        return result;
    }

    private static ReadOnlySpan<byte> ReadModel(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes, "not an ONNX model");
        ReadOnlySpan<byte> graph = default;
        bool found = false;
        while (reader.Next(out int field, out int wire))
        {
            if (field == 7 && wire == ProtoReader.LengthDelimited)
            {
                graph = reader.ReadBytes();
                found = true;
            }
            else reader.Skip(wire);
        }
        if (!found) throw new InvalidDataException("not an ONNX model: it has no graph (ModelProto field 7)");
        return graph;
    }

    private static Node ReadNode(ReadOnlySpan<byte> bytes)
    {
        var node = new Node("", [], []);
        string op = "";
        var reader = new ProtoReader(bytes, "NodeProto");
        while (reader.Next(out int field, out int wire))
        {
            if (wire != ProtoReader.LengthDelimited) reader.Skip(wire);
            else if (field == 1) node.Inputs.Add(reader.ReadString());
            else if (field == 2) node.Outputs.Add(reader.ReadString());
            else if (field == 4) op = reader.ReadString();
            else reader.Skip(wire);
        }
        return node with { OpType = op };
    }

    // TensorProto.DataType values that hold integers or booleans: left out, not an error.
    private static readonly HashSet<int> IntegerTypes = [2, 3, 4, 5, 6, 7, 9, 12, 13];

    private static readonly Dictionary<int, string> TypeNames = new()
    {
        [8] = "string", [10] = "float16", [11] = "double", [14] = "complex64", [15] = "complex128", [16] = "bfloat16",
    };

    private static Tensor ReadTensor(ReadOnlySpan<byte> bytes)
    {
        var dims = new List<long>();
        var floats = new List<float>();
        int dataType = 0;
        string name = "";
        ReadOnlySpan<byte> raw = default;
        bool hasRaw = false, external = false;
        var reader = new ProtoReader(bytes, "TensorProto");
        while (reader.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint: dims.Add((long)reader.ReadVarint()); break;
                case 1 when wire == ProtoReader.LengthDelimited:
                    for (var packed = new ProtoReader(reader.ReadBytes(), "TensorProto.dims"); !packed.AtEnd;) dims.Add((long)packed.ReadVarint());
                    break;
                case 2 when wire == ProtoReader.Varint: dataType = (int)reader.ReadVarint(); break;
                case 4 when wire == ProtoReader.Fixed32: floats.Add(reader.ReadFixed32Float()); break;
                case 4 when wire == ProtoReader.LengthDelimited:
                    for (var packed = new ProtoReader(reader.ReadBytes(), "TensorProto.float_data"); !packed.AtEnd;) floats.Add(packed.ReadFixed32Float());
                    break;
                case 8 when wire == ProtoReader.LengthDelimited: name = reader.ReadString(); break;
                case 9 when wire == ProtoReader.LengthDelimited: raw = reader.ReadBytes(); hasRaw = true; break;
                case 14 when wire == ProtoReader.Varint: external = reader.ReadVarint() == 1; break;
                default: reader.Skip(wire); break;
            }
        }

        if (IntegerTypes.Contains(dataType)) return new Tensor(name, [.. dims], dataType, null);
        if (dataType != 1)
            throw new InvalidDataException($"tensor '{name}' is {TypeNames.GetValueOrDefault(dataType, "of an unknown type")} (ONNX data type {dataType}); only float32 weights can be imported");
        if (external)
            throw new InvalidDataException($"tensor '{name}' keeps its data in an external file; only weights stored inside the .onnx file can be imported");
        if (dims.Any(d => d < 0 || d > int.MaxValue))
            throw new InvalidDataException($"tensor '{name}' has an invalid shape [{string.Join(", ", dims)}]");
        long count = dims.Aggregate(1L, (a, d) => checked(a * d));
        float[] data;
        if (hasRaw)
        {
            if (raw.Length != count * 4)
                throw new InvalidDataException($"tensor '{name}' [{string.Join(", ", dims)}] needs {count * 4} bytes of raw_data but has {raw.Length}");
            data = new float[count];
            if (BitConverter.IsLittleEndian) raw.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
            else for (int i = 0; i < data.Length; i++) data[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
        }
        else
        {
            if (floats.Count != count)
                throw new InvalidDataException($"tensor '{name}' [{string.Join(", ", dims)}] needs {count} values in float_data but has {floats.Count}");
            data = [.. floats];
        }
        return new Tensor(name, [.. dims], dataType, data);
    }
}
