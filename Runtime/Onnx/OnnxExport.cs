using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Onnx;

/// <summary>
/// Writes ONNX models: a graph description (from the generator's <c>OnnxGraph</c> constant or the CLI) plus the
/// parameter values as FLOAT initializers in raw little-endian form. The protobuf is encoded here by hand; no
/// ONNX or protobuf package is needed. See docs/onnx.md.
/// </summary>
public static class OnnxExport
{
    /// <summary>The producer name written into every exported model.</summary>
    public const string ProducerName = "ModelDsl";

    /// <summary>
    /// Writes the model to <paramref name="path"/> atomically: a temporary file in the same folder is written,
    /// flushed and renamed over the target, so a failure leaves any previous file intact.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// An initializer the graph names has no parameter of that name, or its shape differs; the description is malformed.
    /// </exception>
    public static void Write(string path, string graphDescription, IReadOnlyList<Parameter> parameters) =>
        Write(path, graphDescription, parameters, Array.Empty<StateBuffer>());

    /// <summary>
    /// <see cref="Write(string, string, IReadOnlyList{Parameter})"/> for a model with untrained layer state: the graph's
    /// initializers may also name an f32 <see cref="StateBuffer"/> (batch_norm's running statistics, read by
    /// BatchNormalization at inference).
    /// </summary>
    public static void Write(string path, string graphDescription, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states)
    {
        ArgumentNullException.ThrowIfNull(path);
        ProtoWriter model = Build(graphDescription, parameters, states);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                model.CopyTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); }
            catch (IOException) { /* best effort: the original error matters more */ }
            catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The serialised ModelProto bytes (what <see cref="Write"/> puts in the file).</summary>
    public static byte[] Encode(string graphDescription, IReadOnlyList<Parameter> parameters) => Build(graphDescription, parameters, Array.Empty<StateBuffer>()).ToArray();

    /// <summary>The serialised ModelProto bytes of a model with layer state.</summary>
    public static byte[] Encode(string graphDescription, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states) => Build(graphDescription, parameters, states).ToArray();

    /// <summary>An initializer's source: a parameter's or an f32 state's values.</summary>
    private readonly record struct InitializerSource(int[] Shape, float[] Value, long Length);

    private static ProtoWriter Build(string graphDescription, IReadOnlyList<Parameter> parameters, IReadOnlyList<StateBuffer> states)
    {
        ArgumentNullException.ThrowIfNull(graphDescription);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(states);
        OnnxGraph graph;
        try
        {
            graph = OnnxGraph.Parse(graphDescription);
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message, nameof(graphDescription), e);
        }

        var byName = new Dictionary<string, InitializerSource>(StringComparer.Ordinal);
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!byName.TryAdd(p.Name, new InitializerSource(p.Shape, p.Value, p.Length)))
                throw new ArgumentException($"ONNX export of {graph.Name}: parameter '{p.Name}' appears twice.", nameof(parameters));
        }
        foreach (var st in states)
        {
            ArgumentNullException.ThrowIfNull(st, nameof(states));
            if (st.IsCounter) continue; // host-side counters (num_batches_tracked) play no part in inference
            if (!byName.TryAdd(st.Name, new InitializerSource(st.Shape, st.Value, st.Length)))
                throw new ArgumentException($"ONNX export of {graph.Name}: state '{st.Name}' appears twice or is named like a parameter.", nameof(states));
        }
        var values = new List<InitializerSource>(graph.Initializers.Count);
        foreach (var init in graph.Initializers)
        {
            if (!byName.TryGetValue(init.Name, out var p))
                throw new ArgumentException($"ONNX export of {graph.Name}: no parameter '{init.Name}' (the graph needs it with shape {Format(init.Shape)}).", nameof(parameters));
            if (!p.Shape.Select(d => (long)d).SequenceEqual(init.Shape))
                throw new ArgumentException($"ONNX export of {graph.Name}: parameter '{init.Name}' has shape {Shapes.Format(p.Shape)} but the graph needs {Format(init.Shape)}.", nameof(parameters));
            values.Add(p);
        }

        var g = new ProtoWriter();
        foreach (var node in graph.Nodes) g.WriteMessage(OnnxProto.GraphNode, w => WriteNode(w, node));
        g.WriteString(OnnxProto.GraphName, graph.Name);
        for (int i = 0; i < values.Count; i++)
        {
            var init = graph.Initializers[i];
            var value = values[i];
            g.WriteMessage(OnnxProto.GraphInitializer, t =>
            {
                foreach (long d in init.Shape) t.WriteInt64(OnnxProto.TensorDims, d);
                t.WriteInt64(OnnxProto.TensorDataType, OnnxProto.Float);
                t.WriteString(OnnxProto.TensorName, init.Name);
                t.WriteFloatsAsBytes(OnnxProto.TensorRawData, value.Value.AsSpan(0, (int)value.Length));
            });
        }
        foreach (var input in graph.Inputs) g.WriteMessage(OnnxProto.GraphInput, w => WriteValueInfo(w, input));
        foreach (var output in graph.Outputs) g.WriteMessage(OnnxProto.GraphOutput, w => WriteValueInfo(w, output));

        var model = new ProtoWriter();
        model.WriteInt64(OnnxProto.ModelIrVersion, OnnxProto.IrVersionFor(graph.Opset));
        model.WriteString(OnnxProto.ModelProducerName, ProducerName);
        model.WriteString(OnnxProto.ModelProducerVersion, typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
        model.WriteMessage(OnnxProto.ModelGraph, g);
        model.WriteMessage(OnnxProto.ModelOpsetImport, o =>
        {
            o.WriteString(OnnxProto.OpsetDomain, "");
            o.WriteInt64(OnnxProto.OpsetVersion, graph.Opset);
        });
        return model;
    }

    private static void WriteNode(ProtoWriter w, OnnxGraph.Node node)
    {
        foreach (var input in node.Inputs) w.WriteString(OnnxProto.NodeInput, input);
        foreach (var output in node.Outputs) w.WriteString(OnnxProto.NodeOutput, output);
        w.WriteString(OnnxProto.NodeName, node.OpType + ":" + node.Outputs.FirstOrDefault());
        w.WriteString(OnnxProto.NodeOpType, node.OpType);
        foreach (var a in node.Attributes)
        {
            w.WriteMessage(OnnxProto.NodeAttribute, m =>
            {
                m.WriteString(OnnxProto.AttributeName, a.Name);
                switch (a.Kind)
                {
                    case OnnxGraph.AttributeKind.Int:
                        m.WriteInt64(OnnxProto.AttributeI, a.Int);
                        m.WriteInt64(OnnxProto.AttributeType, OnnxProto.AttributeTypeInt);
                        break;
                    case OnnxGraph.AttributeKind.Float:
                        m.WriteFloat(OnnxProto.AttributeF, a.Float);
                        m.WriteInt64(OnnxProto.AttributeType, OnnxProto.AttributeTypeFloat);
                        break;
                    case OnnxGraph.AttributeKind.String:
                        m.WriteString(OnnxProto.AttributeS, a.Text!);
                        m.WriteInt64(OnnxProto.AttributeType, OnnxProto.AttributeTypeString);
                        break;
                    case OnnxGraph.AttributeKind.Ints:
                        foreach (long v in a.Ints!) m.WriteInt64(OnnxProto.AttributeInts, v);
                        m.WriteInt64(OnnxProto.AttributeType, OnnxProto.AttributeTypeInts);
                        break;
                }
            });
        }
    }

    private static void WriteValueInfo(ProtoWriter w, OnnxGraph.ValueInfo info)
    {
        w.WriteString(OnnxProto.ValueInfoName, info.Name);
        w.WriteMessage(OnnxProto.ValueInfoType, type => type.WriteMessage(OnnxProto.TypeTensorType, tensor =>
        {
            tensor.WriteInt64(OnnxProto.TensorTypeElemType, info.ElementType);
            tensor.WriteMessage(OnnxProto.TensorTypeShape, shape =>
            {
                foreach (var d in info.Dims)
                {
                    shape.WriteMessage(OnnxProto.ShapeDim, dim =>
                    {
                        if (d.Param is null) dim.WriteInt64(OnnxProto.DimValue, d.Value);
                        else dim.WriteString(OnnxProto.DimParam, d.Param);
                    });
                }
            });
        }));
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
