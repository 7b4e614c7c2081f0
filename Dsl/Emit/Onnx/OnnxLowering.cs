using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Onnx
{
    /// <summary>
    /// Lowers a model's inference path (from its inputs to <see cref="ModelGraph.Output"/>, dropout as identity)
    /// to an <see cref="OnnxGraphDescription"/> against the default ONNX domain at <see cref="Opset"/>. Initializers
    /// carry the parameter names (<c>fc1.weight</c>), so the exporter fills them from <c>Parameter.Value</c> as is:
    /// dense weights stay [out, in] and are read with <c>Gemm(transB=1)</c> (rank-2 input) or through a
    /// <c>Transpose</c> node before <c>MatMul</c> (any other rank). docs/onnx.md has the full mapping.
    /// </summary>
    public static class OnnxLowering
    {
        /// <summary>
        /// Opset 20: the first with <c>Gelu</c> (and its <c>approximate="tanh"</c> mode); also has
        /// <c>LayerNormalization</c> (17). ONNX Runtime 1.17 and later run it; the file's IR version is 9.
        /// </summary>
        public const int Opset = 20;

        /// <summary>The graph for <paramref name="model"/>, or null with a one-line reason when some op on the path has no lowering.</summary>
        public static OnnxGraphDescription? TryLower(ModelGraph model, out string? error) => TryLower(model, out error, out _);

        /// <summary>As <see cref="TryLower(ModelGraph, out string?)"/>, also giving the op without a lowering (null when the failure is not one op's).</summary>
        public static OnnxGraphDescription? TryLower(ModelGraph model, out string? error, out OpNode? unsupported)
        {
            unsupported = null;
            try
            {
                error = null;
                return Lower(model);
            }
            catch (NotLoweredException e)
            {
                error = e.Message;
                unsupported = e.Node;
                return null;
            }
            catch (NotSupportedException e)
            {
                error = e.Message;
                return null;
            }
        }

        /// <summary>An op on the inference path with no ONNX lowering.</summary>
        private sealed class NotLoweredException : NotSupportedException
        {
            public NotLoweredException(OpNode node)
                : base($"{node.Kind.ToSource()} ('{node.LayerPath}') has no ONNX lowering yet.") => Node = node;

            public OpNode Node { get; }
        }

        /// <exception cref="NotSupportedException">An op on the inference path has no ONNX lowering (the message names it).</exception>
        public static OnnxGraphDescription Lower(ModelGraph model)
        {
            if (model is null) throw new ArgumentNullException(nameof(model));
            return new Lowerer(model).Run();
        }

        private sealed class Lowerer
        {
            private readonly ModelGraph _model;
            private readonly HashSet<string> _used = new HashSet<string>(StringComparer.Ordinal);
            private readonly Dictionary<int, string> _names = new Dictionary<int, string>();
            private readonly HashSet<string> _inputNames = new HashSet<string>(StringComparer.Ordinal);
            private readonly List<OnnxNode> _nodes = new List<OnnxNode>();
            private readonly HashSet<string> _usedParameters = new HashSet<string>(StringComparer.Ordinal);
            private readonly Dictionary<string, string> _transposed = new Dictionary<string, string>(StringComparer.Ordinal);

            public Lowerer(ModelGraph model) => _model = model;

            public OnnxGraphDescription Run()
            {
                foreach (var p in _model.Parameters) _used.Add(p.Name);
                var inputs = new List<OnnxValueInfo>();
                foreach (var input in _model.Inputs)
                {
                    string name = Fresh(input.Name);
                    _names[input.Id] = name;
                    _inputNames.Add(name);
                    inputs.Add(new OnnxValueInfo(name, ElementType(input.DType), input.Shape.Dims.Select(DimText).ToList()));
                }

                var live = LiveNodes();
                foreach (var node in _model.Nodes)
                {
                    if (live.Contains(node.Id)) Lower(node);
                }

                var output = _model.Output;
                if (!_names.TryGetValue(output.Id, out string? outputName))
                    throw new NotSupportedException($"the output '{output.Name}' of {_model.Name} is not computed from its inputs.");
                if (_inputNames.Contains(outputName))
                {
                    // The output is an input (through dropout only): ONNX wants a distinct produced value.
                    string copy = Fresh(output.Name);
                    Emit("Identity", new[] { outputName }, copy);
                    outputName = copy;
                }

                var initializers = _model.Parameters
                    .Where(p => _usedParameters.Contains(p.Name))
                    .Select(p => new OnnxInitializer(p.Name, p.Shape.Dims.Select(d => d.Value).ToList()))
                    .ToList();
                // A tied parameter owned by a layer off the inference path is still a parameter of the model.
                foreach (var name in _usedParameters.Where(n => initializers.All(i => i.Name != n)).OrderBy(n => n, StringComparer.Ordinal))
                {
                    var p = _model.Nodes.SelectMany(n => n.Parameters).First(q => q.Name == name);
                    initializers.Add(new OnnxInitializer(p.Name, p.Shape.Dims.Select(d => d.Value).ToList()));
                }

                var outputs = new[] { new OnnxValueInfo(outputName, ElementType(output.DType), output.Shape.Dims.Select(DimText).ToList()) };
                return new OnnxGraphDescription(_model.Name, Opset, inputs, outputs, initializers, _nodes);
            }

            /// <summary>The ids of the nodes the output depends on.</summary>
            private HashSet<int> LiveNodes()
            {
                var producer = new Dictionary<int, OpNode>();
                foreach (var node in _model.Nodes) producer[node.Output.Id] = node;
                var live = new HashSet<int>();
                var stack = new Stack<TensorValue>();
                stack.Push(_model.Output);
                while (stack.Count > 0)
                {
                    var value = stack.Pop();
                    if (!producer.TryGetValue(value.Id, out var node) || !live.Add(node.Id)) continue;
                    foreach (var input in node.Inputs) stack.Push(input);
                }
                return live;
            }

            private void Lower(OpNode node)
            {
                string In(int i) => _names[node.Inputs[i].Id];
                if (node.Kind == OpKind.Dropout)
                {
                    // Inference: dropout is the identity, so the value keeps its producer's name and no node is written.
                    _names[node.Output.Id] = In(0);
                    return;
                }

                string output = Fresh(node.Output.Name);
                switch (node.Kind)
                {
                    case OpKind.Relu:
                        Emit("Relu", new[] { In(0) }, output);
                        break;
                    case OpKind.Sigmoid:
                        Emit("Sigmoid", new[] { In(0) }, output);
                        break;
                    case OpKind.Tanh:
                        Emit("Tanh", new[] { In(0) }, output);
                        break;
                    case OpKind.Gelu:
                        // The DSL's gelu is the tanh approximation; opset 20 Gelu computes exactly that with approximate="tanh".
                        Emit("Gelu", new[] { In(0) }, output, OnnxAttribute.String("approximate", "tanh"));
                        break;
                    case OpKind.Silu:
                    {
                        string sigmoid = Fresh(node.Output.Name + "/sigmoid");
                        Emit("Sigmoid", new[] { In(0) }, sigmoid);
                        Emit("Mul", new[] { In(0), sigmoid }, output);
                        break;
                    }
                    case OpKind.Add:
                        Emit("Add", new[] { In(0), In(1) }, output);
                        break;
                    case OpKind.Mul:
                        Emit("Mul", new[] { In(0), In(1) }, output);
                        break;
                    case OpKind.Dense:
                        LowerDense(node, In(0), output);
                        break;
                    case OpKind.Softmax:
                        Emit("Softmax", new[] { In(0) }, output, OnnxAttribute.Int("axis", Int(node, "axis")));
                        break;
                    case OpKind.LayerNorm:
                    {
                        string weight = Use(Owned(node, "weight"));
                        string bias = Use(Owned(node, "bias"));
                        float eps = (float)(node.Attribute("eps")?.AsReal ?? 1e-5);
                        Emit("LayerNormalization", new[] { In(0), weight, bias }, output, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", eps));
                        break;
                    }
                    case OpKind.Flatten:
                    {
                        // Reshape with 0 (copy the input's dim) for the kept axes and -1 for the rest: works with symbolic dims.
                        int start = (int)Int(node, "start");
                        var shape = Enumerable.Repeat(0L, start).Concat(new[] { -1L }).ToList();
                        Emit("Reshape", new[] { In(0), Constant(node.Output.Name + "/shape", shape) }, output);
                        break;
                    }
                    case OpKind.Reshape:
                        Emit("Reshape", new[] { In(0), Constant(node.Output.Name + "/shape", ReshapeTarget(node)) }, output);
                        break;
                    case OpKind.Concat:
                        Emit("Concat", node.Inputs.Select(v => _names[v.Id]).ToArray(), output, OnnxAttribute.Int("axis", Int(node, "axis")));
                        break;
                    case OpKind.Conv2d:
                    {
                        var inputs = new List<string> { In(0), Use(Owned(node, "weight")) };
                        if (node.Parameters.FirstOrDefault(p => p.Role == "bias") is { } bias) inputs.Add(Use(bias));
                        Emit("Conv", inputs, output, Window(node));
                        break;
                    }
                    case OpKind.MaxPool2d:
                        Emit("MaxPool", new[] { In(0) }, output, Window(node));
                        break;
                    case OpKind.AvgPool2d:
                        // PyTorch's default count_include_pad=True: padding counts in the k² divisor.
                        Emit("AveragePool", new[] { In(0) }, output, Window(node).Concat(new[] { OnnxAttribute.Int("count_include_pad", 1) }).ToArray());
                        break;
                    case OpKind.Embedding:
                        // Rows of the table picked by the ids: Gather along axis 0 takes int32 indices of any shape.
                        Emit("Gather", new[] { Use(Owned(node, "weight")), In(0) }, output, OnnxAttribute.Int("axis", 0));
                        break;
                    case OpKind.PositionalEmbedding:
                    {
                        // x + table[:T]: T read from x's shape at run time, so any sequence length up to max_len works.
                        string steps = Fresh(node.Output.Name + "/T");
                        Emit("Shape", new[] { In(0) }, steps, OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2));
                        string rows = Fresh(node.Output.Name + "/rows");
                        Emit("Slice", new[] { Use(Owned(node, "weight")), Constant(node.Output.Name + "/start", new long[] { 0 }), steps, Constant(node.Output.Name + "/axis", new long[] { 0 }) }, rows);
                        Emit("Add", new[] { In(0), rows }, output);
                        break;
                    }
                    default:
                        throw new NotLoweredException(node);
                }
                _names[node.Output.Id] = output;
            }

            private void LowerDense(OpNode node, string input, string output)
            {
                var bias = node.Parameters.FirstOrDefault(p => p.Role == "bias" && p.LayerPath == node.LayerPath && p.Shape.Rank == 1);
                var weight = node.Parameters.FirstOrDefault(p => p != bias && p.Shape.Rank == 2)
                    ?? throw new NotSupportedException($"dense '{node.LayerPath}' has no weight.");
                string w = Use(weight);
                if (node.Inputs[0].Shape.Rank == 2)
                {
                    var inputs = bias is null ? new[] { input, w } : new[] { input, w, Use(bias) };
                    Emit("Gemm", inputs, output, OnnxAttribute.Int("transB", 1));
                    return;
                }

                // [..., in] · Wᵀ: MatMul broadcasts over the leading axes but has no transpose flag.
                if (!_transposed.TryGetValue(w, out string? wt))
                {
                    wt = Fresh(weight.Name + "/T");
                    Emit("Transpose", new[] { w }, wt, OnnxAttribute.Ints("perm", new long[] { 1, 0 }));
                    _transposed[w] = wt;
                }
                if (bias is null)
                {
                    Emit("MatMul", new[] { input, wt }, output);
                    return;
                }
                string product = Fresh(node.Output.Name + "/matmul");
                Emit("MatMul", new[] { input, wt }, product);
                Emit("Add", new[] { product, Use(bias) }, output);
            }

            /// <summary>The ONNX Reshape target: fixed sizes as is, a symbolic dim equal to the input's at that axis as 0, at most one other as -1.</summary>
            private static List<long> ReshapeTarget(OpNode node)
            {
                var input = node.Inputs[0].Shape;
                var target = new List<long>();
                bool inferred = false;
                for (int i = 0; i < node.Output.Shape.Rank; i++)
                {
                    Dim d = node.Output.Shape[i];
                    if (d.IsKnown) target.Add(d.Value);
                    else if (i < input.Rank && input[i].Equals(d)) target.Add(0);
                    else if (!inferred)
                    {
                        inferred = true;
                        target.Add(-1);
                    }
                    else throw new NotSupportedException($"reshape '{node.LayerPath}' to {node.Output.Shape.ToExpression()} needs more than one inferred dimension.");
                }
                return target;
            }

            /// <summary>kernel_shape, pads and strides of a square window (conv2d, pooling), from the op's attributes.</summary>
            private static OnnxAttribute[] Window(OpNode node)
            {
                long k = Int(node, "kernel"), s = Int(node, "stride"), p = Int(node, "padding");
                return new[]
                {
                    OnnxAttribute.Ints("kernel_shape", new[] { k, k }),
                    OnnxAttribute.Ints("pads", new[] { p, p, p, p }),
                    OnnxAttribute.Ints("strides", new[] { s, s }),
                };
            }

            private string Constant(string hint, IReadOnlyList<long> values)
            {
                string name = Fresh(hint);
                Emit("Constant", new string[0], name, OnnxAttribute.Ints("value_ints", values));
                return name;
            }

            private ParameterInfo Owned(OpNode node, string role) =>
                node.Parameters.FirstOrDefault(p => p.Role == role)
                ?? throw new NotSupportedException($"{node.Kind.ToSource()} '{node.LayerPath}' has no {role}.");

            private string Use(ParameterInfo parameter)
            {
                _usedParameters.Add(parameter.Name);
                return parameter.Name;
            }

            private static long Int(OpNode node, string name) =>
                node.Attribute(name)?.AsInteger ?? throw new NotSupportedException($"{node.Kind.ToSource()} '{node.LayerPath}' lacks its '{name}' attribute.");

            private void Emit(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes) =>
                _nodes.Add(new OnnxNode(opType, inputs, new[] { output }, attributes));

            /// <summary>A value name no parameter, input or earlier value has: the hint itself when free.</summary>
            private string Fresh(string hint)
            {
                if (string.IsNullOrEmpty(hint)) hint = "v";
                string name = hint;
                for (int i = 1; !_used.Add(name); i++) name = hint + "_" + i.ToString(CultureInfo.InvariantCulture);
                return name;
            }

            private static string ElementType(DType dtype) => dtype == DType.I32 ? "i32" : "f32";

            private static string DimText(Dim dim) => dim.ToExpression();
        }
    }
}
