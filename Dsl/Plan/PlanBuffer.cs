using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    public enum BufferKind
    {
        /// <summary>A model input the caller passes in (read only).</summary>
        Input,
        /// <summary>A label the caller passes in (read only; only the loss reads it).</summary>
        Label,
        /// <summary>An intermediate value, planned once per bound set of symbolic dimensions.</summary>
        Activation,
        /// <summary>The gradient of the loss with respect to an activation.</summary>
        Gradient,
        /// <summary>A trainable parameter's values.</summary>
        Parameter,
        /// <summary>The gradient of the loss with respect to a parameter.</summary>
        ParameterGradient,
        /// <summary>
        /// Layer state kept between calls and never trained (<see cref="StateInfo"/>: batch_norm's running statistics):
        /// lives with the parameters, is saved and exported with them, gets no gradient and no optimizer update.
        /// </summary>
        State,
        /// <summary>
        /// State a forward layer kernel keeps for its backward: max-pool winners, layer-norm mean and 1/σ, an LSTM's
        /// hidden states when its output is the last one only. Planned like an activation.
        /// </summary>
        Saved,
        /// <summary>
        /// Working memory of a layer kernel whose size the target's runtime decides (it may depend on the thread count):
        /// conv2d column matrices, LSTM gates and cells, attention probabilities. What the forward leaves there is read by
        /// the backward. <see cref="PlanBuffer.Shape"/> is the part the plan fixes, a lower bound.
        /// </summary>
        Workspace,
    }

    /// <summary>
    /// A named, typed array the generated code reads or writes. <see cref="Name"/> is the identifier used in
    /// generated code (C# and CUDA C alike), derived from the .model names: <c>h_0</c>, <c>d_h_0</c>, <c>h_0_weight</c>.
    /// </summary>
    public sealed class PlanBuffer
    {
        public PlanBuffer(string name, BufferKind kind, Shape shape, DType dtype, TensorValue? value, ParameterInfo? parameter, PlanBuffer? aliasOf = null)
        {
            AliasOf = aliasOf;
            Name = name;
            Kind = kind;
            Shape = shape;
            DType = dtype;
            Value = value;
            Parameter = parameter;
        }

        public string Name { get; }
        public BufferKind Kind { get; }
        public Shape Shape { get; }
        public DType DType { get; }

        /// <summary>The graph value this buffer holds (or holds the gradient of); null for parameters and for a layer's internal buffers.</summary>
        public TensorValue? Value { get; }

        /// <summary>The parameter this buffer holds (or holds the gradient of).</summary>
        public ParameterInfo? Parameter { get; }

        /// <summary>The untrained layer state this buffer holds (<see cref="BufferKind.State"/>); null otherwise.</summary>
        public StateInfo? State { get; init; }

        /// <summary>
        /// Another buffer whose memory this one is (flatten and reshape: the same elements in the same order, viewed
        /// with this buffer's shape; a recomputed block instance's scratch: the same buffer of the first instance that
        /// shares it, see <see cref="SharesScratch"/>); null for a buffer with memory of its own. Targets render an alias as
        /// its <see cref="Root"/> and plan no memory for it.
        /// </summary>
        public PlanBuffer? AliasOf { get; private set; }

        /// <summary>
        /// True when this buffer is a recomputed block instance's scratch held in another instance's buffer (<see cref="AliasOf"/>,
        /// same kind, type and shape): the backward pass recomputes what it needs, so the instances take turns in one memory.
        /// </summary>
        public bool SharesScratch { get; private set; }

        /// <summary>Makes this buffer an alias of <paramref name="owner"/> (the plan's recomputation; Autodiff.PlanBuilder.Recompute.cs).</summary>
        internal void ShareMemoryOf(PlanBuffer owner)
        {
            if (AliasOf is not null || owner.Root == this || Kind != owner.Kind || DType != owner.DType || !Shape.Equals(owner.Shape))
                throw new System.InvalidOperationException($"{Name} cannot share {owner.Name}'s memory");
            AliasOf = owner;
            SharesScratch = true;
        }

        /// <summary>The buffer that owns the memory: this one, or the end of the <see cref="AliasOf"/> chain.</summary>
        public PlanBuffer Root => AliasOf is null ? this : AliasOf.Root;

        /// <summary>
        /// The buffer whose value this one is: <see cref="Root"/>, except that the chain stops at a recomputed instance's scratch
        /// (<see cref="SharesScratch"/>): two instances' buffers share memory in turns but never hold the same value, so a
        /// backend asking "does anything else read this value" compares these, not roots.
        /// </summary>
        public PlanBuffer ValueRoot => AliasOf is null || SharesScratch ? this : AliasOf.ValueRoot;

        /// <summary>True for buffers a target allocates once per binding of the symbolic dimensions (aliases excluded).</summary>
        public bool IsPlanned => AliasOf is null && (Kind == BufferKind.Activation || Kind == BufferKind.Gradient || Kind == BufferKind.Saved || Kind == BufferKind.Workspace);

        public override string ToString() => $"{Name}{Shape.ToExpression()}";
    }
}
