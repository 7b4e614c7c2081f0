using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// What an elementwise rule sees: its inputs as expressions (already fused values or loads of materialised
    /// buffers), its output as a load (valid in backward, when the output was materialised), and the op itself.
    /// </summary>
    internal interface IRuleContext
    {
        OpNode Node { get; }
        Expr Input(int index);
        Expr Output { get; }
        Expr DropoutMask { get; }
    }

    /// <summary>
    /// The forward and backward rule of one elementwise op, side by side (micrograd's engine.py; tinygrad's
    /// gradient.py). <see cref="Backward"/> maps the output gradient <c>g</c> to one gradient per input.
    /// <see cref="BackwardReadsInput"/>/<see cref="BackwardReadsOutput"/> tell the planner which forward values
    /// must be kept in memory for the backward pass; everything else stays inside the fused loop.
    /// </summary>
    internal sealed class ElementwiseRule
    {
        public ElementwiseRule(System.Func<IRuleContext, Expr> forward, System.Func<Expr, IRuleContext, Expr[]> backward, bool backwardReadsInput = false, bool backwardReadsOutput = false)
        {
            Forward = forward;
            Backward = backward;
            BackwardReadsInput = backwardReadsInput;
            BackwardReadsOutput = backwardReadsOutput;
        }

        public System.Func<IRuleContext, Expr> Forward { get; }
        public System.Func<Expr, IRuleContext, Expr[]> Backward { get; }
        public bool BackwardReadsInput { get; }
        public bool BackwardReadsOutput { get; }
    }

    internal static class GradientRules
    {
        private static readonly Expr One = Const(1f);

        public static readonly IReadOnlyDictionary<OpKind, ElementwiseRule> Elementwise = new Dictionary<OpKind, ElementwiseRule>
        {
            // y = max(x, 0)                      dx = g · [y > 0]
            [OpKind.Relu] = new ElementwiseRule(
                c => Unary(UnaryOp.Relu, c.Input(0)),
                (g, c) => new[] { Mul(g, Unary(UnaryOp.PositiveMask, c.Output)) },
                backwardReadsOutput: true),

            // y = 1 / (1 + e^-x)                 dx = g · y · (1 - y)
            [OpKind.Sigmoid] = new ElementwiseRule(
                c => Unary(UnaryOp.Sigmoid, c.Input(0)),
                (g, c) => new[] { Mul(g, Mul(c.Output, Sub(One, c.Output))) },
                backwardReadsOutput: true),

            // y = tanh x                         dx = g · (1 - y²)
            [OpKind.Tanh] = new ElementwiseRule(
                c => Unary(UnaryOp.Tanh, c.Input(0)),
                (g, c) => new[] { Mul(g, Sub(One, Mul(c.Output, c.Output))) },
                backwardReadsOutput: true),

            // y = gelu(x) (tanh approximation)   dx = g · gelu'(x)
            [OpKind.Gelu] = new ElementwiseRule(
                c => Unary(UnaryOp.Gelu, c.Input(0)),
                (g, c) => new[] { Mul(g, Unary(UnaryOp.GeluGrad, c.Input(0))) },
                backwardReadsInput: true),

            // y = x · σ(x)                       dx = g · (σ(x) + x·σ(x)·(1 - σ(x)))
            [OpKind.Silu] = new ElementwiseRule(
                c => Unary(UnaryOp.Silu, c.Input(0)),
                (g, c) => new[] { Mul(g, Unary(UnaryOp.SiluGrad, c.Input(0))) },
                backwardReadsInput: true),

            // y = x · m / (1 - p), m ~ Bernoulli(1 - p) from a counter-based generator
            //                                    dx = g · m / (1 - p)   (the mask is drawn again, not stored)
            [OpKind.Dropout] = new ElementwiseRule(
                c => Mul(c.Input(0), c.DropoutMask),
                (g, c) => new[] { Mul(g, c.DropoutMask) }),

            // y = a + b                          da = g, db = g
            [OpKind.Add] = new ElementwiseRule(
                c => Add(c.Input(0), c.Input(1)),
                (g, c) => new[] { g, g }),

            // y = a · b                          da = g · b, db = g · a
            [OpKind.Mul] = new ElementwiseRule(
                c => Mul(c.Input(0), c.Input(1)),
                (g, c) => new[] { Mul(g, c.Input(1)), Mul(g, c.Input(0)) },
                backwardReadsInput: true),
        };

        public static bool IsElementwise(OpKind kind) => Elementwise.ContainsKey(kind);
    }
}
