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
    }

    /// <summary>
    /// A named, typed array the generated code reads or writes. <see cref="Name"/> is the identifier used in
    /// generated code (C# and CUDA C alike), derived from the .model names: <c>h_0</c>, <c>d_h_0</c>, <c>h_0_weight</c>.
    /// </summary>
    public sealed class PlanBuffer
    {
        public PlanBuffer(string name, BufferKind kind, Shape shape, DType dtype, TensorValue? value, ParameterInfo? parameter)
        {
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

        /// <summary>The graph value this buffer holds (or holds the gradient of); null for parameters.</summary>
        public TensorValue? Value { get; }

        /// <summary>The parameter this buffer holds (or holds the gradient of).</summary>
        public ParameterInfo? Parameter { get; }

        public bool IsPlanned => Kind == BufferKind.Activation || Kind == BufferKind.Gradient;

        public override string ToString() => $"{Name}{Shape.ToExpression()}";
    }
}
