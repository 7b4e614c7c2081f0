using ModelDsl.IR;
using ModelDsl.Plan;

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
    /// must be kept in memory for the backward pass; everything else stays inside the fused loop. Each elementwise op's
    /// rule sits in its file under <c>Dsl/Ops</c> (<c>Activations.cs</c>: relu, sigmoid, ...), registered in <c>OpCatalog</c>.
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
}
