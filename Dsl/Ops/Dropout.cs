using System.Collections.Generic;
using ModelDsl.Autodiff;
using ModelDsl.IR;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Ops
{
    /// <summary><c>dropout(p)</c>: the probability of zeroing an element, in [0, 1).</summary>
    public sealed record DropoutAttributes(double P) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("p", P) };
    }

    /// <summary><c>dropout(p)</c>, 0 ≤ p &lt; 1: same shape; identity at inference.</summary>
    internal sealed class Dropout : OpRule<DropoutAttributes>
    {
        public static readonly Dropout Rule = new Dropout();

        private Dropout()
            : base("dropout", OpKind.Dropout, new Signature(Signature.Tensor(), Signature.Real("p", null, 0, 1, maxExclusive: true)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            c.SetAttributes(new DropoutAttributes(c.Real("p")));
            return c.InputShape;
        }

        /// <summary>The probability as the kernels use it.</summary>
        public static float Probability(OpNode op) => (float)Attributes(op).P;

        public override Planning Planning => Planning.Elementwise;

        // y = x · m / (1 - p), m ~ Bernoulli(1 - p) from a counter-based generator
        //                                    dx = g · m / (1 - p)   (the mask is drawn again, not stored)
        // The planner makes c.DropoutMask from Probability(op); at inference it is 1 and the planner skips the op.
        public override ElementwiseRule Elementwise { get; } = new ElementwiseRule(
            c => Mul(c.Input(0), c.DropoutMask),
            (g, c) => new[] { Mul(g, c.DropoutMask) });

        public override OpCost Cost(OpNode op, CostContext c) => OpCost.PerElement(c.Output(op), 1, 1);

        /// <summary>Inference: dropout is the identity, so the value keeps its producer's name and no node is written.</summary>
        public override void LowerOnnx(IOnnxContext o, OpNode op) => o.PassThrough(0);
    }
}
