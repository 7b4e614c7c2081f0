using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// Turns a checked <see cref="ModelGraph"/> into a <see cref="TrainingPlan"/>: buffers, the fused forward
    /// kernels (inference and training), the fused loss, and the reverse-mode backward pass derived at build time
    /// from each op's rule (<c>Dsl/Ops</c>, registered in <c>OpCatalog</c>). There is no tape: the backward pass is a fixed list of kernels.
    /// </summary>
    public sealed partial class PlanBuilder
    {
        private readonly ModelGraph _model;
        private readonly IReadOnlyList<FusionGroup> _groups;
        private readonly Dictionary<int, PlanBuffer> _values = new Dictionary<int, PlanBuffer>();
        private readonly Dictionary<int, PlanBuffer> _gradients = new Dictionary<int, PlanBuffer>();
        private readonly Dictionary<ParameterInfo, PlanBuffer> _parameters = new Dictionary<ParameterInfo, PlanBuffer>();
        private readonly Dictionary<ParameterInfo, PlanBuffer> _parameterGradients = new Dictionary<ParameterInfo, PlanBuffer>();
        private readonly Dictionary<StateInfo, PlanBuffer> _states = new Dictionary<StateInfo, PlanBuffer>();
        private readonly Dictionary<OpNode, int> _dropoutSlots = new Dictionary<OpNode, int>();

        /// <summary>flatten/reshape outputs by id → the value they view: their buffers (and gradients) alias the source's.</summary>
        private readonly Dictionary<int, TensorValue> _viewOf = new Dictionary<int, TensorValue>();
        private readonly List<PlanBuffer> _buffers = new List<PlanBuffer>();
        /// <summary>
        /// Buffer names given so far: each buffer's name is its .model name made an identifier, with a suffix where two would
        /// meet (<c>h</c>, <c>h_2</c>). What a target language or an emitter reserves is the emitter's business (NameScope).
        /// </summary>
        private readonly HashSet<string> _names = new HashSet<string>(System.StringComparer.Ordinal);
        private int _kernelCount;

        private PlanBuilder(ModelGraph model)
        {
            _model = model;
            _groups = FusionGrouping.Build(model);
            foreach (var node in model.Nodes.Where(n => Ops.OpCatalog.Of(n).IsView)) _viewOf[node.Output.Id] = node.Inputs[0];
        }

        /// <summary>
        /// Builds the plan, or returns null with the first op that has no generated code yet (concat, and softmax over
        /// an axis other than the last).
        /// </summary>
        public static TrainingPlan? TryBuild(ModelGraph model, out OpNode? unsupported)
        {
            unsupported = model.Nodes.FirstOrDefault(n => !IsSupported(n));
            if (unsupported is not null) return null;
            bool bindable = model.Inputs.Concat(model.Labels).All(v => v.Shape.Dims.All(IsBindable));
            if (!bindable) return null;
            return new PlanBuilder(model).Build();
        }

        /// <summary>
        /// Inputs bind their symbols from the tensors passed in, so each dimension must be a number or a single
        /// symbol; a product such as [B, 2*T] cannot be bound from a shape yet.
        /// </summary>
        internal static bool IsBindable(Dim dim) => dim.IsKnown || (dim.Coefficient == 1 && dim.Symbols.Count == 1);

        private TrainingPlan Build()
        {
            foreach (var input in _model.Inputs) _values[input.Id] = NewBuffer(input.Name, BufferKind.Input, input.Shape, input.DType, input, null);
            foreach (var label in _model.Labels) _values[label.Id] = NewBuffer(label.Name, BufferKind.Label, label.Shape, label.DType, label, null);
            foreach (var p in _model.Parameters) _parameters[p] = NewBuffer(p.Name, BufferKind.Parameter, p.Shape, DType.F32, null, p);
            foreach (var p in _model.Parameters) _parameterGradients[p] = NewBuffer("d_" + p.Name, BufferKind.ParameterGradient, p.Shape, DType.F32, null, p);
            foreach (var s in _model.States.Where(s => !s.IsCounter)) _states[s] = NewBuffer(s.Name, BufferKind.State, s.Shape, DType.F32, null, null, state: s);
            // One dropout slot (one seed per step) per op that draws a mask: dropout, and attention with dropout on its probabilities.
            foreach (var node in _model.Nodes.Where(n => n.Kind == OpKind.Dropout || Ops.Attention.DropsProbabilities(n))) _dropoutSlots[node] = _dropoutSlots.Count;

            // One forward pass serves inference and training: it computes the output and the loss's prediction,
            // stores what backward reads, and draws dropout masks only when called in training mode.
            var targets = new List<TensorValue>(_model.Outputs);
            if (_model.Loss is { } lossInfo) targets.Add(lossInfo.Prediction);
            var forward = Forward(Needed(targets), training: true);

            LossKernel? loss = null;
            var backward = new List<Kernel>();
            if (_model.Loss is { } info)
            {
                loss = LossKernelFor(info);
                backward.AddRange(Backward(info));
            }
            var recompute = PlanRecompute(forward, loss, backward);

            return new TrainingPlan(
                _model, _buffers, forward, _model.Outputs.Select(Value).ToList(), loss, backward,
                _model.Parameters.Select(p => _parameters[p]).ToList(),
                _model.Parameters.Select(p => _parameterGradients[p]).ToList(),
                _dropoutSlots.Count,
                new EntryChecks(_sizeLimits, _idRanges),
                _model.States.Where(s => !s.IsCounter).Select(s => _states[s]).ToList(),
                recompute, _recomputedKernel);
        }

        /// <summary>The groups whose results the targets depend on, in order.</summary>
        private IReadOnlyList<FusionGroup> Needed(IEnumerable<TensorValue> targets)
        {
            var needed = new HashSet<int>(targets.Select(t => t.Id));
            var result = new List<FusionGroup>();
            foreach (var group in _groups.Reverse())
            {
                if (!group.Ops.Any(op => needed.Contains(op.Output.Id))) continue;
                result.Add(group);
                foreach (var op in group.Ops)
                {
                    foreach (var input in op.Inputs) needed.Add(input.Id);
                    needed.Add(op.Output.Id);
                }
            }
            result.Reverse();
            return result;
        }

        /// <summary>The buffer holding <paramref name="value"/>; a view (flatten, reshape) aliases its source's buffer.</summary>
        private PlanBuffer Value(TensorValue value)
        {
            if (!_values.TryGetValue(value.Id, out var buffer))
            {
                var source = _viewOf.TryGetValue(value.Id, out var viewed) ? Value(viewed) : null;
                buffer = NewBuffer(value.Name, BufferKind.Activation, value.Shape, value.DType, value, null, source);
                _values[value.Id] = buffer;
            }
            return buffer;
        }

        /// <summary>The buffer holding d loss / d <paramref name="value"/>; a view's gradient aliases its source's gradient.</summary>
        private PlanBuffer Gradient(TensorValue value)
        {
            if (!_gradients.TryGetValue(value.Id, out var buffer))
            {
                var source = _viewOf.TryGetValue(value.Id, out var viewed) ? Gradient(viewed) : null;
                buffer = NewBuffer("d_" + value.Name, BufferKind.Gradient, value.Shape, DType.F32, value, null, source);
                _gradients[value.Id] = buffer;
            }
            return buffer;
        }

        private PlanBuffer NewBuffer(string sourceName, BufferKind kind, Shape shape, DType dtype, TensorValue? value, ParameterInfo? parameter, PlanBuffer? aliasOf = null, StateInfo? state = null)
        {
            string name = Identifier(sourceName);
            string unique = name;
            for (int i = 2; !_names.Add(unique); i++) unique = name + "_" + i.ToString(CultureInfo.InvariantCulture);
            var buffer = new PlanBuffer(unique, kind, shape, dtype, value, parameter, aliasOf) { State = state };
            _buffers.Add(buffer);
            return buffer;
        }

        /// <summary><c>logits.0.weight</c> → <c>logits_0_weight</c>: a valid identifier in C# and CUDA C.</summary>
        internal static string Identifier(string name)
        {
            var chars = name.Select(c => char.IsLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
            string id = new string(chars);
            return id.Length == 0 || char.IsDigit(id[0]) ? "v_" + id : id;
        }

        private string KernelName(string phase, string what) => $"{phase}_{_kernelCount++}_{what}";

        /// <summary>Rows × cols view of a shape for loops and GEMMs: the last dimension against everything before it.</summary>
        internal static (Dim Rows, Dim Cols) Matrix(Shape shape)
        {
            Dim rows = Dim.Known(1);
            for (int i = 0; i < shape.Rank - 1; i++) rows = rows.Multiply(shape[i]);
            return (rows, shape.Rank == 0 ? Dim.Known(1) : shape.Last);
        }

        private static Origin OriginOf(OpNode op)
        {
            string attributes = string.Join(", ", op.Attributes.Describe().Where(a => a.Key != "tied").Select(a => $"{a.Key}={a.Value}"));
            string inputs = string.Join(", ", op.Inputs.Select(i => i.Shape.ToExpression()));
            return new Origin(op.Span, $"{op.LayerPath} = {op.Kind.ToSource()}({attributes})  {inputs} -> {op.Output.Shape.ToExpression()}");
        }
    }
}
