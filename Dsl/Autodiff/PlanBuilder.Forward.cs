using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    public sealed partial class PlanBuilder
    {
        /// <summary>
        /// Forward kernels for the given groups: per group at most one GEMM (dense: Y = X·Wᵀ; attention: its projections
        /// around the attention core) and one fused loop (bias + the elementwise chain); a layer group is its layer's
        /// kernel. Inside the loop a value is stored only when something outside needs it: the group's result always,
        /// and in training whatever the backward rules read.
        /// </summary>
        private List<Kernel> Forward(IReadOnlyList<FusionGroup> groups, bool training)
        {
            var kernels = new List<Kernel>();
            foreach (var group in groups)
            {
                int start = kernels.Count;
                ForwardGroup(group, training, kernels);
                MarkRecomputed(group, kernels, start);
            }
            return kernels;
        }

        private void ForwardGroup(FusionGroup group, bool training, List<Kernel> kernels)
        {
            if (group.Layer is { } layer)
            {
                kernels.AddRange(LayerForward(layer));
                return;
            }

            var origins = group.Ops.Select(OriginOf).ToList();
            var stored = StoredValues(group, training);
            var outputs = new List<ElementwiseOutput>();
            Expr? current = null;

            if (group.Head is { } head)
            {
                // dense: Y[M, out] = X[M, in] · W[out, in]ᵀ (+ bias, added in the fused loop below);
                // attention: the same for out_proj, after in_proj and the attention core
                var rule = (IHeadRule)OpCatalog.Of(head);
                int before = kernels.Count;
                var x = rule.PlanProductInput(this, head, kernels);
                Attach(OpCatalog.Of(head), kernels.Skip(before));
                _productInput[head] = x;
                var y = Value(head.Output);
                var (m, inFeatures) = Matrix(x.Shape);
                var units = head.Output.Shape.Last;
                kernels.Add(new GemmKernel(KernelName("fwd", rule.ProductName), new[] { OriginOf(head) }, false, true, m, units, inFeatures, x, _parameters[rule.Weight(head)], y, accumulate: false));

                var bias = rule.Bias(head);
                current = bias is null ? Load(y) : Add(Load(y), Column(_parameters[bias]));
                if (bias is not null && (stored.Contains(head.Output.Id) || group.Chain.Count == 0)) outputs.Add(new ElementwiseOutput(y, current, accumulate: false));
            }

            foreach (var op in group.Chain)
            {
                var rule = OpCatalog.Of(op).Elementwise!;
                var chainValue = current;
                Expr InputExpr(int i) => chainValue is not null && i < op.Inputs.Count && op.Inputs[i].Id == ChainInput(group, op)?.Id ? chainValue : Load(Value(op.Inputs[i]));

                if (op.Kind == OpKind.Dropout && !training)
                {
                    current = InputExpr(0); // inference: dropout is the identity
                }
                else
                {
                    current = rule.Forward(new RuleContext(op, InputExpr, () => Load(Value(op.Output)), DropoutMaskOf(op)));
                }

                if (stored.Contains(op.Output.Id)) outputs.Add(new ElementwiseOutput(Value(op.Output), current, accumulate: false));
            }

            if (outputs.Count > 0)
            {
                var (rows, cols) = Domain(group);
                var what = string.Join("_", group.Ops.Select(o => o.Kind.ToSource()));
                kernels.Add(NewElementwise(KernelName("fwd", what), origins, rows, cols, outputs, new ColumnSumOutput[0]));
            }
        }

        /// <summary>
        /// The [rows, cols] a group's loop runs over: with a head, the head's rows against its units (the bias is indexed by
        /// column); without one, nothing is indexed by column, so a higher-rank value ([B, 32, 28, 28] after a conv2d) runs
        /// as [B, 25088]: long rows keep the vector loop busy where its last axis (28) would leave a scalar tail in every row.
        /// </summary>
        private static (Dim Rows, Dim Cols) Domain(FusionGroup group)
        {
            var shape = group.Output.Shape;
            if (group.Head is not null || shape.Rank <= 2) return Matrix(shape);
            return (shape[0], new Shape(shape.Dims.Skip(1).ToArray()).ElementCount());
        }

        /// <summary>The value an op in the chain receives from the previous op (null for the first op of a group without dense).</summary>
        private static TensorValue? ChainInput(FusionGroup group, OpNode op)
        {
            int index = -1;
            for (int i = 0; i < group.Chain.Count; i++)
            {
                if (group.Chain[i] == op) index = i;
            }
            if (index > 0) return group.Chain[index - 1].Output;
            return group.Head?.Output;
        }

        /// <summary>Values of the group kept in memory: its result, and (training) what backward rules read.</summary>
        private static HashSet<int> StoredValues(FusionGroup group, bool training)
        {
            var stored = new HashSet<int> { group.Output.Id };
            if (!training) return stored;
            foreach (var op in group.Chain)
            {
                var rule = OpCatalog.Of(op).Elementwise!;
                if (rule.BackwardReadsOutput) stored.Add(op.Output.Id);
                if (rule.BackwardReadsInput)
                {
                    foreach (var input in op.Inputs) stored.Add(input.Id);
                }
            }
            return stored;
        }

        private Expr DropoutMaskOf(OpNode op) =>
            op.Kind == OpKind.Dropout ? new DropoutMaskExpr(_dropoutSlots[op], Ops.Dropout.Probability(op)) : Const(1f);

        private static ElementwiseKernel NewElementwise(string name, IReadOnlyList<Origin> origins, ModelDsl.Shapes.Dim rows, ModelDsl.Shapes.Dim cols, IReadOnlyList<ElementwiseOutput> outputs, IReadOnlyList<ColumnSumOutput> sums)
        {
            var kernel = new ElementwiseKernel(name, origins, rows, cols, outputs, sums);
            kernel.UsesDropout = outputs.Select(o => o.Value).Concat(sums.Select(s => s.Value)).Any(ExprWalker.UsesDropout);
            return kernel;
        }

        /// <summary>What a rule sees; the output's load is made on first use, so no buffer is planned for a value only the loop holds.</summary>
        private sealed class RuleContext : IRuleContext
        {
            private readonly System.Func<int, Expr> _input;
            private readonly System.Func<Expr> _output;
            private Expr? _outputLoad;

            public RuleContext(OpNode node, System.Func<int, Expr> input, System.Func<Expr> output, Expr dropoutMask)
            {
                Node = node;
                _input = input;
                _output = output;
                DropoutMask = dropoutMask;
            }

            public OpNode Node { get; }
            public Expr Output => _outputLoad ??= _output();
            public Expr DropoutMask { get; }
            public Expr Input(int index) => _input(index);
        }
    }
}
