using System.Collections.Generic;
using ModelDsl.Autodiff;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Ops
{
    /// <summary><c>gelu(approximate="none")</c>: "none" is the exact erf form, "tanh" GPT-2's approximation.</summary>
    public sealed record GeluAttributes(string Approximate) : OpAttributes
    {
        public const string Exact = "none";
        public const string TanhApproximation = "tanh";

        public bool IsTanh => Approximate == TanhApproximation;

        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Word("approximate", Approximate) };
    }

    /// <summary>
    /// <c>gelu(approximate="none")</c>: PyTorch's nn.GELU. The default is exact, x·Φ(x) = ½x(1 + erf(x/√2)) (BERT's,
    /// PyTorch's default); <c>approximate="tanh"</c> is ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2's). Until
    /// 2026-12 the DSL's <c>gelu</c> was the tanh form; models that wrote <c>gelu</c> now compute the exact one, as
    /// the same PyTorch code would (docs/language.md). Elementwise on an f32 tensor, same shape, no parameters; the
    /// kernels are the <c>Gelu</c>/<c>GeluTanh</c> primitives (<c>Runtime/Cpu/Activations.cs</c>, the CUDA prelude's
    /// <c>md_gelu</c>/<c>md_gelu_tanh</c>).
    /// </summary>
    internal sealed class Gelu : OpRule<GeluAttributes>
    {
        public static readonly Gelu Rule = new Gelu();

        private Gelu()
            : base("gelu", OpKind.Gelu, new Signature(Signature.Tensor(),
                Signature.Word("approximate", GeluAttributes.Exact, GeluAttributes.Exact, GeluAttributes.TanhApproximation)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.SetAttributes(new GeluAttributes(c.Word("approximate") ?? GeluAttributes.Exact));
            return c.InputShape;
        }

        public override Planning Planning => Planning.Elementwise;

        // exact:  y = x·Φ(x) = ½x(1 + erf(x/√2))          dx = g · (Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
        // tanh:   y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
        //         dx = g · (½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²))
        // The form is the node's, so the rule picks the primitive per node.
        public override ElementwiseRule Elementwise { get; } = new ElementwiseRule(
            c => Unary(Attributes(c.Node).IsTanh ? UnaryOp.GeluTanh : UnaryOp.Gelu, c.Input(0)),
            (g, c) => new[] { Mul(g, Unary(Attributes(c.Node).IsTanh ? UnaryOp.GeluTanhGrad : UnaryOp.GeluGrad, c.Input(0))) },
            backwardReadsInput: true);

        // exact: erf's two polynomials (12 multiply-adds) and a division, then 3 more; the backward erf again, an exp, ~6 more.
        // tanh: as before, a tanh (exp) and ~7 operations either way.
        public override OpCost Cost(OpNode op, CostContext c) =>
            Attributes(op).IsTanh ? OpCost.PerElement(c.Output(op), 8, 10) : OpCost.PerElement(c.Output(op), 28, 40);

        // ONNX: opset 20's Gelu computes both forms (approximate="none" or "tanh"); OnnxLowering.Opset is 20.
        public override void LowerOnnx(IOnnxContext o, OpNode op) =>
            o.Emit("Gelu", new[] { o.Input(0) }, o.Output, OnnxAttribute.String("approximate", Attributes(op).Approximate));
    }
}
