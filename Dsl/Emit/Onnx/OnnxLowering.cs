using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Onnx
{
    /// <summary>
    /// Lowers a model's inference path (from its inputs to every one of <see cref="ModelGraph.Outputs"/>, dropout as identity)
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
                : base($"{node.Kind.ToSource()} ('{node.LayerPath}') has no ONNX lowering: {OpCatalog.Of(node).NotExportable}.") => Node = node;

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
            private readonly HashSet<string> _usedStates = new HashSet<string>(StringComparer.Ordinal);
            private readonly Dictionary<string, string> _transposed = new Dictionary<string, string>(StringComparer.Ordinal);

            public Lowerer(ModelGraph model) => _model = model;

            public OnnxGraphDescription Run()
            {
                foreach (var p in _model.Parameters) _used.Add(p.Name);
                foreach (var st in _model.States) _used.Add(st.Name);
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

                // Every declared output is a graph output, in declaration order (the first is what Forward returns).
                var outputs = new List<OnnxValueInfo>();
                foreach (var output in _model.Outputs)
                {
                    if (!_names.TryGetValue(output.Id, out string? outputName))
                        throw new NotSupportedException($"the output '{output.Name}' of {_model.Name} is not computed from its inputs.");
                    if (_inputNames.Contains(outputName))
                    {
                        // The output is an input (through dropout only): ONNX wants a distinct produced value.
                        string copy = Fresh(output.Name);
                        Emit("Identity", new[] { outputName }, copy);
                        outputName = copy;
                    }
                    outputs.Add(new OnnxValueInfo(outputName, ElementType(output.DType), output.Shape.Dims.Select(DimText).ToList()));
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

                // Layer state the inference path reads (batch_norm's running statistics), after the parameters.
                initializers.AddRange(_model.States
                    .Where(st => _usedStates.Contains(st.Name))
                    .Select(st => new OnnxInitializer(st.Name, st.Shape.Dims.Select(d => d.Value).ToList())));

                return new OnnxGraphDescription(_model.Name, Opset, inputs, outputs, initializers, _nodes);
            }

            /// <summary>The ids of the nodes the outputs depend on.</summary>
            private HashSet<int> LiveNodes()
            {
                var producer = new Dictionary<int, OpNode>();
                foreach (var node in _model.Nodes) producer[node.Output.Id] = node;
                var live = new HashSet<int>();
                var stack = new Stack<TensorValue>();
                foreach (var output in _model.Outputs) stack.Push(output);
                while (stack.Count > 0)
                {
                    var value = stack.Pop();
                    if (!producer.TryGetValue(value.Id, out var node) || !live.Add(node.Id)) continue;
                    foreach (var input in node.Inputs) stack.Push(input);
                }
                return live;
            }

            /// <summary>Lowers one node through its op rule (<c>Dsl/Ops</c>), or throws when the rule says it cannot be exported.</summary>
            private void Lower(OpNode node)
            {
                var rule = OpCatalog.Of(node);
                if (rule.NotExportable is not null) throw new NotLoweredException(node);
                var context = new NodeContext(this, node);
                rule.LowerOnnx(context, node);
                _names[node.Output.Id] = context.OutputName ?? throw new InvalidOperationException($"{rule.Name}'s ONNX lowering named no output");
            }

            /// <summary>What one op's lowering sees (<see cref="IOnnxContext"/>).</summary>
            private sealed class NodeContext : IOnnxContext
            {
                private readonly Lowerer _lowerer;
                private readonly OpNode _node;

                public NodeContext(Lowerer lowerer, OpNode node)
                {
                    _lowerer = lowerer;
                    _node = node;
                }

                public string? OutputName { get; private set; }

                public string Input(int index) => _lowerer._names[_node.Inputs[index].Id];

                public string Output => OutputName ??= _lowerer.Fresh(_node.Output.Name);

                public string Fresh(string hint) => _lowerer.Fresh(hint);

                public void Emit(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes) => _lowerer.Emit(opType, inputs, new[] { output }, attributes);

                public void Emit(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes) => _lowerer.Emit(opType, inputs, outputs, attributes);

                public string Use(ParameterInfo parameter) => _lowerer.Use(parameter);

                public string Constant(string hint, IReadOnlyList<long> values) => _lowerer.Constant(hint, values);

                public string Use(StateInfo state)
                {
                    _lowerer._usedStates.Add(state.Name);
                    return state.Name;
                }

                public string Filled(string hint, long count, float value)
                {
                    string scalar = _lowerer.Fresh(hint + "/value");
                    _lowerer.Emit("Constant", new string[0], scalar, OnnxAttribute.Float("value_float", value));
                    string filled = _lowerer.Fresh(hint);
                    _lowerer.Emit("Expand", new[] { scalar, _lowerer.Constant(hint + "/shape", new[] { count }) }, filled);
                    return filled;
                }

                public string Transposed(ParameterInfo weight) => _lowerer.Transposed(weight);

                public void PassThrough(int input) => OutputName = Input(input);
            }

            /// <summary>A weight [out, in] as [in, out] for MatMul: one Transpose node per weight, however many layers read it.</summary>
            private string Transposed(ParameterInfo weight)
            {
                string w = Use(weight);
                if (!_transposed.TryGetValue(w, out string? wt))
                {
                    wt = Fresh(weight.Name + "/T");
                    Emit("Transpose", new[] { w }, wt, OnnxAttribute.Ints("perm", new long[] { 1, 0 }));
                    _transposed[w] = wt;
                }
                return wt;
            }

            private string Constant(string hint, IReadOnlyList<long> values)
            {
                string name = Fresh(hint);
                Emit("Constant", new string[0], name, OnnxAttribute.Ints("value_ints", values));
                return name;
            }

            private string Use(ParameterInfo parameter)
            {
                _usedParameters.Add(parameter.Name);
                return parameter.Name;
            }

            private void Emit(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes) =>
                Emit(opType, inputs, new[] { output }, attributes);

            private void Emit(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes) =>
                _nodes.Add(new OnnxNode(opType, inputs, outputs, attributes));

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
