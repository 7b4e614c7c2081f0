using System.Collections.Generic;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Ops
{
    /// <summary><c>elu(alpha=1.0)</c>: the scale of the negative branch.</summary>
    public sealed record EluAttributes(double Alpha) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("alpha", Alpha) };
    }

    /// <summary>
    /// <c>elu(alpha=1.0)</c>: <c>x</c> where x &gt; 0, <c>alpha·(eˣ − 1)</c> elsewhere (PyTorch's nn.ELU). Elementwise on an
    /// f32 tensor, same shape, no parameters. Its kernel is the primitive <see cref="UnaryOp.NegativeExpM1"/>,
    /// <c>e^min(x, 0) − 1</c>: <c>Runtime/Cpu/Activations.NegativeExpM1</c> and the CUDA prelude's <c>md_negative_exp_m1</c>.
    /// </summary>
    internal sealed class Elu : OpRule<EluAttributes>
    {
        public static readonly Elu Rule = new Elu();

        private Elu()
            : base("elu", OpKind.Elu, new Signature(Signature.Tensor(), Signature.Real("alpha", 1.0)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.SetAttributes(new EluAttributes(c.Real("alpha")));
            return c.InputShape;
        }

        public override Planning Planning => Planning.Elementwise;

        // e = e^min(x, 0) − 1 (0 for x > 0, and finite for any x):  y = relu(x) + α·e
        // m = [x > 0]:  dx = g · (m + α·(e + 1)·(1 − m))   (1, or α·eˣ; α at x = 0, as PyTorch)
        public override ElementwiseRule Elementwise { get; } = new ElementwiseRule(
            c => Add(Unary(UnaryOp.Relu, c.Input(0)), Mul(Alpha(c), Unary(UnaryOp.NegativeExpM1, c.Input(0)))),
            (g, c) =>
            {
                var m = Unary(UnaryOp.PositiveMask, c.Input(0));
                var exp = Add(Unary(UnaryOp.NegativeExpM1, c.Input(0)), Const(1f));
                return new[] { Mul(g, Add(m, Mul(Mul(Alpha(c), exp), Sub(Const(1f), m)))) };
            },
            backwardReadsInput: true);

        private static Expr Alpha(IRuleContext c) => Const((float)Attributes(c.Node).Alpha);

        // an exponential (~8) and three more; the backward the exponential again and five more
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 11, 13);

        public override void LowerOnnx(IOnnxContext o, OpNode op) =>
            o.Emit("Elu", new[] { o.Input(0) }, o.Output, OnnxAttribute.Float("alpha", (float)Attributes(op).Alpha));
    }
}
