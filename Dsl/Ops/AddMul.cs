using ModelDsl.Autodiff;
using ModelDsl.IR;
using ModelDsl.Shapes;
using ModelDsl.Plan;

namespace ModelDsl.Ops
{
    /// <summary><c>add(a, b)</c>, <c>mul(a, b)</c>, <c>a + b</c>, <c>a * b</c>: two tensors of the same shape and type.</summary>
    internal sealed class AddMul : OpRule<NoAttributes>
    {
        // y = a + b                          da = g, db = g
        public static readonly AddMul Add = new AddMul("add", OpKind.Add, "Add", new ElementwiseRule(
            c => E.Add(c.Input(0), c.Input(1)),
            (g, c) => new[] { g, g }));

        // y = a · b                          da = g · b, db = g · a
        public static readonly AddMul Mul = new AddMul("mul", OpKind.Mul, "Mul", new ElementwiseRule(
            c => E.Mul(c.Input(0), c.Input(1)),
            (g, c) => new[] { E.Mul(g, c.Input(1)), E.Mul(g, c.Input(0)) },
            backwardReadsInput: true));

        private readonly string _onnx;

        private AddMul(string name, OpKind kind, string onnx, ElementwiseRule rule)
            : base(name, kind, new Signature(Signature.Tensor("a"), Signature.Tensor("b")), outputType: null)
        {
            _onnx = onnx;
            Elementwise = rule;
        }

        public override Shape? Check(OpContext c)
        {
            var a = c.Inputs[0];
            var b = c.Inputs[1];
            if (!a.Shape.Equals(b.Shape))
            {
                c.Diagnostics.ReportElementwiseShapeMismatch(c.CallSpan, c.Name, c.InputNames[0], a.Shape, c.InputNames[1], b.Shape);
                return null;
            }
            if (a.DType != b.DType)
            {
                c.Diagnostics.ReportDTypeMismatch(c.InputSpans[1], c.Name, c.InputNames[1], a.DType, b.DType, b.Shape);
                return null;
            }
            c.SetAttributes(NoAttributes.Instance);
            return a.Shape;
        }

        public override Planning Planning => Planning.Elementwise;
        public override ElementwiseRule Elementwise { get; }
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 1, 1);
        public override void LowerOnnx(IOnnxContext o, OpNode op) => o.Emit(_onnx, new[] { o.Input(0), o.Input(1) }, o.Output);
    }
}
