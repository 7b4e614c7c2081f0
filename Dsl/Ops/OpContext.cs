using System.Collections.Generic;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.IR;
using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Ops
{
    /// <summary>
    /// What a shape rule sees of one call: the input tensors (with how the user referred to them), the resolved
    /// constant arguments with their spans, the layer path; and where it declares parameters and attributes.
    /// </summary>
    internal sealed class OpContext
    {
        private readonly Dictionary<string, Value> _values;
        private readonly Dictionary<string, TextSpan> _spans;
                private readonly List<ParameterInfo> _parameters = new List<ParameterInfo>();
        private readonly List<ParameterInfo> _owned = new List<ParameterInfo>();
        private readonly List<StateInfo> _states = new List<StateInfo>();

        public OpContext(OpRule op, TextSpan callSpan, string layerPath, DiagnosticBag diagnostics,
            IReadOnlyList<TensorValue> inputs, IReadOnlyList<TextSpan> inputSpans, IReadOnlyList<string> inputNames,
            Dictionary<string, Value> values, Dictionary<string, TextSpan> spans)
        {
            Op = op;
            CallSpan = callSpan;
            LayerPath = layerPath;
            Diagnostics = diagnostics;
            Inputs = inputs;
            InputSpans = inputSpans;
            InputNames = inputNames;
            _values = values;
            _spans = spans;
        }

        public OpRule Op { get; }
        public string Name => Op.Name;
        public TextSpan CallSpan { get; }
        public string LayerPath { get; }
        public DiagnosticBag Diagnostics { get; }
        public IReadOnlyList<TensorValue> Inputs { get; }
        public IReadOnlyList<TextSpan> InputSpans { get; }

        /// <summary>How the user referred to each input: <c>x</c>, or "the output of layer_norm".</summary>
        public IReadOnlyList<string> InputNames { get; }

        public TensorValue Input => Inputs[0];
        public Shape InputShape => Inputs[0].Shape;
        public TextSpan InputSpan => InputSpans[0];
        public string InputName => InputNames[0];

        /// <summary>The typed attributes the rule parsed (<see cref="SetAttributes"/>); none until it does.</summary>
        public OpAttributes Attributes { get; private set; } = NoAttributes.Instance;

        /// <summary>Every parameter the op reads, tied ones included.</summary>
        public IReadOnlyList<ParameterInfo> Parameters => _parameters;

        /// <summary>The parameters this op defines (not the tied ones).</summary>
        public IReadOnlyList<ParameterInfo> Owned => _owned;

        public bool IsGiven(string name) => _spans.ContainsKey(name);

        /// <summary>The argument's span when it was written, else the call's.</summary>
        public TextSpan SpanOf(string name) => _spans.TryGetValue(name, out var span) ? span : CallSpan;

        public Value? ValueOf(string name) => _values.TryGetValue(name, out var v) ? v : null;

        public long Int(string name) => _values.TryGetValue(name, out var v) && v is IntValue i ? i.Integer : 0;

        /// <summary>An integer argument as a dimension labelled the way the user wrote it (<c>d</c>, <c>4*d</c>).</summary>
        public Dim IntDim(string name) => _values.TryGetValue(name, out var v) && v is IntValue i ? i.ToDim() : Dim.Known(0);

        public double Real(string name) => _values.TryGetValue(name, out var v) ? v switch
        {
            RealValue r => r.Real,
            IntValue i => i.Integer,
            _ => 0,
        } : 0;

        /// <summary>The word a <see cref="ParamKind.Word"/> or <see cref="ParamKind.IntOrWord"/> argument was given as (<c>"same"</c>), or null for an integer.</summary>
        public string? Word(string name) => _values.TryGetValue(name, out var v) && v is StringValue w ? w.Text : null;

        public bool Bool(string name) => _values.TryGetValue(name, out var v) && v is BoolValue b && b.Boolean;

        public ParameterInfo? Tie(string name) => _values.TryGetValue(name, out var v) && v is ParamRefValue p ? p.Parameter : null;

        public ListValue? List(string name) => _values.TryGetValue(name, out var v) ? v as ListValue : null;

        /// <summary>Records the op's typed attributes, parsed once from the bound arguments (defaults already filled in).</summary>
        public void SetAttributes(OpAttributes attributes)
        {
            if (attributes.GetType() != Op.AttributesType)
                throw new System.InvalidOperationException($"{Name}: attributes {attributes.GetType().Name}, expected {Op.AttributesType.Name}");
            Attributes = attributes;
        }

        /// <summary>Declares a parameter owned by this layer: <c>{LayerPath}.{role}</c>.</summary>
        public ParameterInfo AddParameter(string role, Shape shape, InitKind init, long fanIn, long fanOut)
        {
            var p = new ParameterInfo(LayerPath + "." + role, LayerPath, role, shape, init, fanIn, fanOut, CallSpan);
            _parameters.Add(p);
            _owned.Add(p);
            return p;
        }

        /// <summary>The untrained state this op keeps between calls (<see cref="AddState"/>).</summary>
        public IReadOnlyList<StateInfo> States => _states;

        /// <summary>Declares f32 state owned by this layer, <c>{LayerPath}.{role}</c>, starting at <paramref name="initial"/>: saved and exported, never trained.</summary>
        public StateInfo AddState(string role, Shape shape, float initial)
        {
            var s = new StateInfo(LayerPath + "." + role, LayerPath, role, shape, isCounter: false, initial, CallSpan);
            _states.Add(s);
            return s;
        }

        /// <summary>Declares an int64 scalar counter owned by this layer (<c>num_batches_tracked</c>), counted on the host from 0.</summary>
        public StateInfo AddCounter(string role)
        {
            var s = new StateInfo(LayerPath + "." + role, LayerPath, role, new Shape(), isCounter: true, 0f, CallSpan);
            _states.Add(s);
            return s;
        }

        /// <summary>Reads another layer's parameter (weight tying): listed on this op, owned by the other.</summary>
        public void UseParameter(ParameterInfo parameter) => _parameters.Add(parameter);

        // ---- checks shared by the rules; each reports and returns false on failure ----

        public bool RequireDType(int index, DType dtype)
        {
            if (Inputs[index].DType == dtype) return true;
            Diagnostics.ReportDTypeMismatch(InputSpans[index], Name, InputNames[index], dtype, Inputs[index].DType, Inputs[index].Shape);
            return false;
        }

        public bool RequireRank(int index, int rank, string layout)
        {
            if (Inputs[index].Shape.Rank == rank) return true;
            Diagnostics.ReportRankMismatch(InputSpans[index], Name, InputNames[index], rank.ToString(System.Globalization.CultureInfo.InvariantCulture), layout, Inputs[index].Shape);
            return false;
        }

        public bool RequireMinRank(int index, int minRank, string layout)
        {
            if (Inputs[index].Shape.Rank >= minRank) return true;
            Diagnostics.ReportRankMismatch(InputSpans[index], Name, InputNames[index], "at least " + minRank.ToString(System.Globalization.CultureInfo.InvariantCulture), layout, Inputs[index].Shape);
            return false;
        }

        /// <summary>A dimension that sizes a parameter must be known at compile time.</summary>
        public bool RequireKnown(int index, int axis, string what)
        {
            var dim = Inputs[index].Shape[axis];
            if (dim.IsKnown) return true;
            Diagnostics.ReportSymbolicNotAllowed(InputSpans[index], Name, InputNames[index], what, dim, Inputs[index].Shape);
            return false;
        }
    }
}
