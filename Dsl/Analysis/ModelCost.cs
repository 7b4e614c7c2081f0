using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Analysis
{
    /// <summary>Per-layer and total cost of a model at bound symbolic dimensions.</summary>
    public sealed class ModelCost
    {
        public ModelCost(IReadOnlyList<LayerCost> layers, long activationBytes, bool activationBytesArePlanned)
        {
            Layers = layers;
            ActivationBytes = activationBytes;
            ActivationBytesArePlanned = activationBytesArePlanned;
        }

        public IReadOnlyList<LayerCost> Layers { get; }

        /// <summary>Floating-point operations of one forward pass (a multiply-add counts as 2).</summary>
        public long ForwardFlops => Layers.Sum(l => l.ForwardFlops);

        /// <summary>Forward, backward and the optimizer: the work of one training step.</summary>
        public long TrainingStepFlops => Layers.Sum(l => l.ForwardFlops + l.BackwardFlops) + OptimizerFlops;

        public long OptimizerFlops { get; internal set; }

        /// <summary>Bytes of activations and their gradients one training step keeps.</summary>
        public long ActivationBytes { get; }

        /// <summary>True when <see cref="ActivationBytes"/> is the generated code's exact buffer plan; false when it is an estimate (every op output and its gradient).</summary>
        public bool ActivationBytesArePlanned { get; }
    }

    public sealed class LayerCost
    {
        public LayerCost(OpNode node, long forwardFlops, long backwardFlops)
        {
            Node = node;
            ForwardFlops = forwardFlops;
            BackwardFlops = backwardFlops;
        }

        public OpNode Node { get; }
        public long ForwardFlops { get; }
        public long BackwardFlops { get; }
    }

    /// <summary>
    /// Counts FLOPs from the checked graph with the textbook formulas each op's rule states (<c>OpRule.Cost</c>; dense:
    /// 2·M·in·out; conv: 2·N·out·H'·W'·C·k²; attention: the projections, QKᵀ, AV; LSTM: the two gate GEMMs per step).
    /// Backward is counted as about twice the forward for ops with weights (the input and weight gradients) and equal
    /// to the forward for elementwise ops.
    /// </summary>
    public static class CostModel
    {
        /// <summary>
        /// The cost of <paramref name="compiled"/> at <paramref name="bindings"/>: FLOPs from its graph, activation memory
        /// from its training plan (the buffers the generated code allocates) or, without one, an estimate.
        /// </summary>
        public static ModelCost Estimate(CompiledModel compiled, IReadOnlyDictionary<string, long> bindings)
        {
            ModelGraph model = compiled.Graph;
            // Every count is checked: at huge bound sizes a silent wrap would print a wrong figure; the caller reports the overflow.
            checked
            {
                var context = new Ops.CostContext(model, bindings);
                long Count(Shape s) => context.Count(s);

                // Each op's formulas are in its rule (Dsl/Ops): forward and backward FLOPs at the bound sizes.
                var layers = new List<LayerCost>();
                foreach (var node in model.Nodes)
                {
                    var cost = Ops.OpCatalog.Of(node).Cost(node, context);
                    layers.Add(new LayerCost(node, cost.Forward, cost.Backward));
                }

                long parameterCount = model.Parameters.Sum(p => p.Count);
                long optimizerFlops = model.Optimizer?.Kind switch
                {
                    null => 0,
                    OptimizerKind.Sgd => 4 * parameterCount,
                    OptimizerKind.Adam or OptimizerKind.AdamW => 12 * parameterCount,
                    // d, square_avg, sqrt + eps, divide, update; 3 more for grad_avg, 2 for the momentum buffer.
                    OptimizerKind.Rmsprop => 9 * parameterCount,
                    var other => throw new System.InvalidOperationException($"no optimizer cost for {other}"),
                };

                long bytes;
                bool planned;
                if (compiled.Plan is { } plan)
                {
                    bytes = plan.Buffers.Where(b => b.IsPlanned).Sum(b => 4 * Count(b.Shape));
                    planned = true;
                }
                else
                {
                    bytes = model.Nodes.Sum(n => 2 * 4 * Count(n.Output.Shape));
                    planned = false;
                }

                return new ModelCost(layers, bytes, planned) { OptimizerFlops = optimizerFlops };
            }
        }
    }
}
