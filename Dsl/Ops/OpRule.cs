using System;
using System.Collections.Generic;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary>How the planner turns an op into kernels (<see cref="OpRule.Planning"/>).</summary>
    internal enum Planning
    {
        /// <summary>Fuses into a loop: <see cref="OpRule.Elementwise"/> gives its forward and backward expressions.</summary>
        Elementwise,
        /// <summary>A matrix product head (<see cref="HeadRule{T}"/>): <c>Y = X·Wᵀ</c>, its bias and the elementwise chain after it fused into one loop.</summary>
        Head,
        /// <summary>Kernels of its own: <see cref="OpRule.PlanForward"/> and <see cref="OpRule.PlanBackward"/>.</summary>
        Layer,
    }

    /// <summary>
    /// Everything the compiler knows about one op, in one place (micrograd's engine.py, tinygrad's op table): its source
    /// name and signature, the shape rule that checks a call and parses its typed attributes once, the forward and
    /// backward planning side by side, the FLOP cost, and the ONNX lowering or the reason there is none. The CPU kernel
    /// (<c>Runtime/Cpu</c>) and the CUDA kernel (the CUDA layer library, or the prelude's device functions for an
    /// elementwise op) are the only other places an op lives. <see cref="OpCatalog"/> registers every rule;
    /// docs/adding-an-op.md walks through adding one.
    /// </summary>
    internal abstract class OpRule
    {
        protected OpRule(string name, OpKind kind, Signature signature, DType? outputType = DType.F32)
        {
            Name = name;
            Kind = kind;
            Signature = signature;
            OutputType = outputType;
        }

        /// <summary>The name in <c>.model</c> source: <c>layer_norm</c>.</summary>
        public string Name { get; }

        /// <summary>Other source names for the same op (<c>linear</c> for dense).</summary>
        public virtual IReadOnlyList<string> Aliases => Array.Empty<string>();

        public OpKind Kind { get; }
        public Signature Signature { get; }

        /// <summary>The output element type; null means "same as the first input".</summary>
        public DType? OutputType { get; }

        /// <summary>The type of <see cref="OpNode.Attributes"/> for this op (the completeness test checks it).</summary>
        public abstract Type AttributesType { get; }

        // ---- 1. shape rule -------------------------------------------------------------------------------------

        /// <summary>
        /// Checks the inputs (ranks, dtypes, shapes), declares parameters, sets the typed attributes
        /// (<see cref="OpContext.SetAttributes"/>) and returns the output shape, or null after reporting why there is none.
        /// </summary>
        public abstract Shape? Check(OpContext c);

        // ---- 2. planning: forward and backward -----------------------------------------------------------------

        public abstract Planning Planning { get; }

        /// <summary>True when the output is the input viewed with another shape (flatten, reshape): the planner aliases their buffers and gradients.</summary>
        public virtual bool IsView => false;

        /// <summary>
        /// False for an input that carries no gradient through this op (attention's key padding mask: a 0/1 selector,
        /// as in PyTorch, where a boolean mask has no gradient): the planner then neither asks for its gradient nor
        /// counts values computed only for it as needing one.
        /// </summary>
        public virtual bool IsDifferentiable(int input) => true;

        /// <summary>Why the plan has no kernels for this call (it still checks and exports); null when it has.</summary>
        public virtual string? NotPlannable(OpNode op) => null;

        /// <summary>The forward and backward expressions of an elementwise op (<see cref="Planning.Elementwise"/>).</summary>
        public virtual ElementwiseRule? Elementwise => null;

        /// <summary>The forward kernel of a <see cref="Planning.Layer"/> op; its backward reads the sizes and saved buffers from it.</summary>
        public virtual Kernel PlanForward(IPlanContext p, OpNode op) => throw new NotSupportedException($"{Name} is not planned as a layer");

        /// <summary>The backward kernels of a <see cref="Planning.Layer"/> op, run once the gradient of its output is complete.</summary>
        public virtual IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward) => throw new NotSupportedException($"{Name} is not planned as a layer");

        /// <summary>
        /// The runtime calls one of this op's layer kernels is (class, method, typed arguments) and the comment above them;
        /// null for a kernel that is no call (a view, a GEMM, a fused loop). Both emitters render these.
        /// </summary>
        public virtual LayerCalls? Calls(Kernel kernel) => null;

        // ---- 3. cost -------------------------------------------------------------------------------------------

        /// <summary>FLOPs of one forward and one backward pass at the bound sizes (<c>modeldsl summary</c>).</summary>
        public abstract OpCost Cost(OpNode op, CostContext c);

        // ---- 4. ONNX -------------------------------------------------------------------------------------------

        /// <summary>Null when <see cref="LowerOnnx"/> exports the op; otherwise why it cannot be exported.</summary>
        public virtual string? NotExportable => null;

        /// <summary>Writes the op's ONNX nodes (opset <see cref="OnnxLowering.Opset"/>); read <see cref="IOnnxContext.Output"/> before any other fresh name.</summary>
        public virtual void LowerOnnx(IOnnxContext o, OpNode op) => throw new NotSupportedException($"{Name} has no ONNX lowering: {NotExportable}");

        // ---- helpers the rules share ---------------------------------------------------------------------------

        /// <summary>A parameter the op defines itself, by role (<c>weight_ih</c>, <c>in_proj_bias</c>); null when absent.</summary>
        protected static ParameterInfo? OwnedOrNull(OpNode op, string role)
        {
            foreach (var p in op.Parameters)
            {
                if (p.Role == role && p.LayerPath == op.LayerPath) return p;
            }
            return null;
        }

        protected static ParameterInfo Owned(OpNode op, string role) =>
            OwnedOrNull(op, role) ?? throw new InvalidOperationException($"{op.Kind.ToSource()} '{op.LayerPath}' has no {role}");

        /// <summary>The input's gradient when it needs one (assigned or added to), else null.</summary>
        protected static GradientOutput? InputGradient(IPlanContext p, OpNode op, int index = 0) =>
            p.NeedsGradient(op.Inputs[index]) ? p.Contribute(p.Gradient(op.Inputs[index])) : null;

        /// <summary>The gradient of one of the op's own parameters, assigned or added to.</summary>
        protected static GradientOutput ParameterGradient(IPlanContext p, OpNode op, string role) => p.Contribute(p.ParameterGradient(Owned(op, role)));

        /// <summary>Rows × cols view of a shape: the last dimension against everything before it.</summary>
        protected static (Dim Rows, Dim Cols) Matrix(Shape shape) => PlanBuilder.Matrix(shape);
    }

    /// <summary>An op rule with its typed attributes record <typeparamref name="T"/>.</summary>
    internal abstract class OpRule<T> : OpRule where T : OpAttributes
    {
        protected OpRule(string name, OpKind kind, Signature signature, DType? outputType = DType.F32)
            : base(name, kind, signature, outputType)
        {
        }

        public sealed override Type AttributesType => typeof(T);

        /// <summary>The op's attributes, as its shape rule parsed them.</summary>
        protected static T Attributes(OpNode op) => (T)op.Attributes;
    }

    /// <summary>FLOPs of one forward and one backward pass (a multiply-add counts as 2).</summary>
    internal readonly struct OpCost
    {
        public OpCost(long forward, long backward)
        {
            Forward = forward;
            Backward = backward;
        }

        public long Forward { get; }
        public long Backward { get; }

        /// <summary><paramref name="perElement"/> forward FLOPs per output element, <paramref name="backwardPerElement"/> backward.</summary>
        public static OpCost PerElement(long elements, long perElement, long backwardPerElement) => new OpCost(checked(perElement * elements), checked(backwardPerElement * elements));

        public static readonly OpCost Free = new OpCost(0, 0);
    }

    /// <summary>What a cost formula sees: sizes at the bound symbolic dimensions.</summary>
    internal sealed class CostContext
    {
        private readonly IReadOnlyDictionary<string, long> _bindings;
        private readonly ModelGraph _model;

        public CostContext(ModelGraph model, IReadOnlyDictionary<string, long> bindings)
        {
            _model = model;
            _bindings = bindings;
        }

        /// <summary>A dimension's size; an unbound symbol counts as 1.</summary>
        public long Size(Dim d)
        {
            long v = d.Coefficient;
            foreach (var s in d.Symbols) v = checked(v * (_bindings.TryGetValue(s, out long b) ? b : 1));
            return v;
        }

        public long Count(Shape s)
        {
            long n = 1;
            foreach (var d in s.Dims) n = checked(n * Size(d));
            return n;
        }

        public long Output(OpNode op) => Count(op.Output.Shape);

        public long Input(OpNode op, int index = 0) => op.Inputs.Count > index ? Count(op.Inputs[index].Shape) : 0;

        /// <summary>True when the value is a model input (the generated code computes no gradient for it).</summary>
        public bool IsModelInput(TensorValue value)
        {
            foreach (var v in _model.Inputs)
            {
                if (v.Id == value.Id) return true;
            }
            return false;
        }
    }
}
