using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// What the op rules see of the plan (<see cref="IPlanContext"/>), and the calls into them: a layer group is its
    /// rule's forward kernel, then (in backward) its rule's backward kernels. The rules themselves are in <c>Dsl/Ops</c>.
    /// </summary>
    public sealed partial class PlanBuilder : IPlanContext
    {
        /// <summary>The forward kernel of each layer op: its backward reads the sizes and the saved buffers from it.</summary>
        private readonly Dictionary<OpNode, Kernel> _layerForward = new Dictionary<OpNode, Kernel>();

        /// <summary>X of each head's product (dense: its input; attention: its core's output), for the dW GEMM.</summary>
        private readonly Dictionary<OpNode, PlanBuffer> _productInput = new Dictionary<OpNode, PlanBuffer>();

        private readonly Dictionary<(OpNode, string), object> _memo = new Dictionary<(OpNode, string), object>();
        private readonly List<SizeLimit> _sizeLimits = new List<SizeLimit>();
        private readonly List<IdRange> _idRanges = new List<IdRange>();

        /// <summary>Whether the plan has kernels for <paramref name="node"/> (its rule says why not: concat, softmax over another axis).</summary>
        private static bool IsSupported(OpNode node) => OpCatalog.Of(node).NotPlannable(node) is null;

        /// <summary>The forward kernel of a layer group.</summary>
        private IEnumerable<Kernel> LayerForward(OpNode op)
        {
            // The input's and the output's buffers first, so they come before the layer's own in the plan.
            Value(op.Inputs[0]);
            Value(op.Output);
            var rule = OpCatalog.Of(op);
            var kernel = rule.PlanForward(this, op);
            _layerForward[op] = kernel;
            return Attach(rule, new[] { kernel });
        }

        /// <summary>The backward kernels of a layer group; run once the gradient of its output is complete.</summary>
        private IEnumerable<Kernel> LayerBackward(OpNode op) => Attach(OpCatalog.Of(op), OpCatalog.Of(op).PlanBackward(this, op, _layerForward[op]));

        /// <summary>Each kernel's runtime calls, as its op's rule states them (<see cref="Kernel.Calls"/>).</summary>
        private static List<Kernel> Attach(OpRule rule, IEnumerable<Kernel> kernels)
        {
            var list = kernels.ToList();
            foreach (var kernel in list) kernel.Calls = rule.Calls(kernel);
            return list;
        }

        // ---- IPlanContext ----

        Precision IPlanContext.Precision => _model.Precision.Mode;

        PlanBuffer IPlanContext.Value(TensorValue value) => Value(value);

        PlanBuffer IPlanContext.Gradient(TensorValue value) => Gradient(value);

        PlanBuffer IPlanContext.Parameter(ParameterInfo parameter) => _parameters[parameter];

        PlanBuffer IPlanContext.State(StateInfo state) => _states[state];

        PlanBuffer IPlanContext.ParameterGradient(ParameterInfo parameter) => _parameterGradients[parameter];

        PlanBuffer IPlanContext.NewBuffer(string name, BufferKind kind, Shape shape, DType dtype) => NewBuffer(name, kind, shape, dtype, null, null);

        bool IPlanContext.NeedsGradient(TensorValue value) => _requiresGradient.Contains(value.Id);

        bool IPlanContext.FirstWrite(PlanBuffer target) => FirstWrite(target);

        GradientOutput IPlanContext.Contribute(PlanBuffer target) => ContributeGradient(target);

        ColumnSumOutput IPlanContext.ContributeSum(PlanBuffer target, Expr value) => ContributeSum(target, value);

        string IPlanContext.KernelName(string phase, string what) => KernelName(phase, what);

        Origin IPlanContext.Origin(OpNode op) => OriginOf(op);

        ElementwiseKernel IPlanContext.Elementwise(string name, OpNode op, Dim rows, Dim cols, IReadOnlyList<ElementwiseOutput> outputs, IReadOnlyList<ColumnSumOutput> sums) =>
            NewElementwise(name, new[] { OriginOf(op) }, rows, cols, outputs, sums);

        void IPlanContext.LimitSize(Dim size, long maximum, Origin origin, string layer) => _sizeLimits.Add(LimitOf(size, maximum, origin, layer));

        void IPlanContext.CheckIds(PlanBuffer ids, Dim count, long num, Origin origin, string layer) => _idRanges.Add(new IdRange(ids, count, num, origin, layer));

        int IPlanContext.DropoutSlot(OpNode op) =>
            _dropoutSlots.TryGetValue(op, out int slot) ? slot : throw new System.InvalidOperationException($"{op.Output.Name} draws no dropout mask");

        T IPlanContext.Memo<T>(OpNode op, string what, System.Func<T> create)
        {
            if (!_memo.TryGetValue((op, what), out var value))
            {
                value = create();
                _memo[(op, what)] = value;
            }
            return (T)value;
        }

        /// <summary>A limit on a symbolic size, checked where the input that binds its (first) symbol is bound.</summary>
        private SizeLimit LimitOf(Dim size, long maximum, Origin origin, string layer)
        {
            string symbol = size.Symbols[0];
            var input = _model.Inputs.Concat(_model.Labels).First(v => v.Shape.Dims.Any(d => d.Equals(Dim.Symbol(symbol))));
            return new SizeLimit(size, maximum, _values[input.Id], size.ToExpression(), origin, layer);
        }
    }
}
