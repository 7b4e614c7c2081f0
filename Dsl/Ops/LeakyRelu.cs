using System.Collections.Generic;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Ops
{
    /// <summary><c>leaky_relu(negative_slope=0.01)</c>: the slope for negative inputs.</summary>
    public sealed record LeakyReluAttributes(double NegativeSlope) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("negative_slope", NegativeSlope) };
    }

    /// <summary>
    /// <c>leaky_relu(negative_slope=0.01)</c>: <c>x</c> where x &gt; 0, <c>negative_slope·x</c> elsewhere (PyTorch's
    /// nn.LeakyReLU). Elementwise on an f32 tensor, same shape, no parameters. Written with the relu and positive-mask
    /// primitives, so it needs no kernel of its own.
    /// </summary>
    internal sealed class LeakyRelu : OpRule<LeakyReluAttributes>
    {
        public static readonly LeakyRelu Rule = new LeakyRelu();

        private LeakyRelu()
            : base("leaky_relu", OpKind.LeakyRelu, new Signature(Signature.Tensor(), Signature.Real("negative_slope", 0.01)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.SetAttributes(new LeakyReluAttributes(c.Real("negative_slope")));
            return c.InputShape;
        }

        public override Planning Planning => Planning.Elementwise;

        // y = relu(x) + s·(x − relu(x))          (x where x > 0, s·x elsewhere; both exact in floats)
        // m = [x > 0]:  dx = g · (m + s·(1 − m))  (1 or s exactly; s at x = 0, as PyTorch)
        // The slope is the node's, so the rule is made per node (its constant lives in the expression).
        public override ElementwiseRule Elementwise { get; } = new ElementwiseRule(
            c =>
            {
                var x = c.Input(0);
                var relu = Unary(UnaryOp.Relu, x);
                return Add(relu, Mul(Slope(c), Sub(x, relu)));
            },
            (g, c) =>
            {
                var m = Unary(UnaryOp.PositiveMask, c.Input(0));
                return new[] { Mul(g, Add(m, Mul(Slope(c), Sub(Const(1f), m)))) };
            },
            backwardReadsInput: true);

        private static Expr Slope(IRuleContext c) => Const((float)Attributes(c.Node).NegativeSlope);

        // relu, subtract, multiply, add; the backward a mask, subtract, multiply, add and the product with g
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 4, 5);

        public override void LowerOnnx(IOnnxContext o, OpNode op) =>
            o.Emit("LeakyRelu", new[] { o.Input(0) }, o.Output, OnnxAttribute.Float("alpha", (float)Attributes(op).NegativeSlope));
    }
}
