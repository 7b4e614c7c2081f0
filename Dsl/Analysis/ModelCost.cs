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
    /// Counts FLOPs from the checked graph with the textbook formulas (dense: 2·M·in·out; conv: 2·N·out·H'·W'·C·k²;
    /// attention: the three projections, QKᵀ, AV and the output projection; LSTM: the two gate GEMMs per step).
    /// Backward is counted as twice the forward for ops with weights (the input and weight gradients) and equal to
    /// the forward for elementwise ops.
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
                long Size(Dim d)
                {
                    long v = d.Coefficient;
                    foreach (var s in d.Symbols) v = checked(v * (bindings.TryGetValue(s, out long b) ? b : 1));
                    return v;
                }
                long Count(Shape s) => s.Dims.Aggregate(1L, (acc, d) => checked(acc * Size(d)));

                var layers = new List<LayerCost>();
                foreach (var node in model.Nodes)
                {
                    long output = Count(node.Output.Shape);
                    long input = node.Inputs.Count > 0 ? Count(node.Inputs[0].Shape) : 0;
                    long forward, backward;
                    switch (node.Kind)
                    {
                        case OpKind.Dense:
                        {
                            long inFeatures = Size(node.Inputs[0].Shape.Last);
                            forward = 2 * output * inFeatures + output;
                            // dW always; dX only when the input is not a model input (the generated code skips it).
                            bool inputGradient = !model.Inputs.Any(v => v.Id == node.Inputs[0].Id);
                            backward = (inputGradient ? 2 : 1) * (2 * output * inFeatures) + output;
                            break;
                        }
                        case OpKind.Conv2d:
                        {
                            var x = node.Inputs[0].Shape;
                            long k = Kernel(node);
                            forward = 2 * output * Size(x[1]) * k * k + output;
                            backward = 2 * (2 * output * Size(x[1]) * k * k) + output;
                            break;
                        }
                        case OpKind.Lstm:
                        {
                            var x = node.Inputs[0].Shape;
                            long batch = Size(x[0]), steps = Size(x[1]), inFeatures = Size(x[2]);
                            long hidden = node.Attribute("hidden")!.AsInteger;
                            forward = steps * batch * (2 * 4 * hidden * (inFeatures + hidden) + 12 * hidden);
                            backward = 2 * forward;
                            break;
                        }
                        case OpKind.Attention:
                        {
                            var x = node.Inputs[0].Shape;
                            long batch = Size(x[0]), steps = Size(x[1]), d = Size(x[2]);
                            long projections = 2 * batch * steps * d * 4 * d;
                            long scores = 2 * 2 * batch * steps * steps * d;
                            long softmax = 5 * batch * (node.Attribute("heads")!.AsInteger) * steps * steps;
                            forward = projections + scores + softmax;
                            backward = 2 * (projections + scores) + softmax;
                            break;
                        }
                        case OpKind.Embedding:
                        case OpKind.Flatten:
                        case OpKind.Reshape:
                        case OpKind.Concat:
                            forward = 0;
                            backward = node.Kind == OpKind.Embedding ? output : 0;
                            break;
                        case OpKind.LayerNorm:
                            forward = 8 * output;
                            backward = 12 * output;
                            break;
                        case OpKind.Softmax:
                            forward = 5 * output;
                            backward = 4 * output;
                            break;
                        case OpKind.MaxPool2d:
                        case OpKind.AvgPool2d:
                            forward = input;
                            backward = input;
                            break;
                        case OpKind.Gelu:
                        case OpKind.Silu:
                        case OpKind.Sigmoid:
                        case OpKind.Tanh:
                            forward = 8 * output;
                            backward = 10 * output;
                            break;
                        case OpKind.PositionalEmbedding:
                        default:
                            forward = output;
                            backward = output;
                            break;
                    }
                    layers.Add(new LayerCost(node, forward, backward));
                }

                long parameterCount = model.Parameters.Sum(p => p.Count);
                long optimizerFlops = model.Optimizer?.Kind switch
                {
                    OptimizerKind.Sgd => 4 * parameterCount,
                    null => 0,
                    _ => 12 * parameterCount,
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

        private static long Kernel(OpNode node)
        {
            var kernel = node.Attribute("kernel");
            if (kernel is null) return 1;
            if (kernel.Integer is long k) return k;
            return kernel.Integers is { Count: > 0 } list ? list[0] : 1;
        }
    }
}
