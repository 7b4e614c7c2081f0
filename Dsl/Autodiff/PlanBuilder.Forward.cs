using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    public sealed partial class PlanBuilder
    {
        /// <summary>
        /// Forward kernels for the given groups: per group at most one GEMM (dense: Y = X·Wᵀ) and one fused loop
        /// (bias + the elementwise chain). Inside the loop a value is stored only when something outside needs it:
        /// the group's result always, and in training whatever the backward rules read.
        /// </summary>
        private List<Kernel> Forward(IReadOnlyList<FusionGroup> groups, bool training)
        {
            var kernels = new List<Kernel>();
            foreach (var group in groups)
            {
                var origins = group.Ops.Select(OriginOf).ToList();
                var stored = StoredValues(group, training);
                var outputs = new List<ElementwiseOutput>();
                Expr? current = null;

                if (group.Dense is { } dense)
                {
                    // dense: Y[M, out] = X[M, in] · W[out, in]ᵀ (+ bias, added in the fused loop below)
                    var x = Value(dense.Inputs[0]);
                    var y = Value(dense.Output);
                    var (m, inFeatures) = Matrix(x.Shape);
                    var units = dense.Output.Shape.Last;
                    kernels.Add(new GemmKernel(KernelName("fwd", "dense"), new[] { OriginOf(dense) }, false, true, m, units, inFeatures, x, _parameters[Weight(dense)], y, accumulate: false));

                    var bias = Bias(dense);
                    current = bias is null ? Load(y) : Add(Load(y), Column(_parameters[bias]));
                    if (bias is not null && (stored.Contains(dense.Output.Id) || group.Chain.Count == 0)) outputs.Add(new ElementwiseOutput(y, current, accumulate: false));
                }

                foreach (var op in group.Chain)
                {
                    var rule = GradientRules.Elementwise[op.Kind];
                    var chainValue = current;
                    Expr InputExpr(int i) => chainValue is not null && i < op.Inputs.Count && op.Inputs[i].Id == ChainInput(group, op)?.Id ? chainValue : Load(Value(op.Inputs[i]));

                    if (op.Kind == OpKind.Dropout && !training)
                    {
                        current = InputExpr(0); // inference: dropout is the identity
                    }
                    else
                    {
                        current = rule.Forward(new RuleContext(op, InputExpr, Load(Value(op.Output)), DropoutMaskOf(op)));
                    }

                    if (stored.Contains(op.Output.Id)) outputs.Add(new ElementwiseOutput(Value(op.Output), current, accumulate: false));
                }

                if (outputs.Count > 0)
                {
                    var (rows, cols) = Matrix(group.Output.Shape);
                    var what = string.Join("_", group.Ops.Select(o => o.Kind.ToSource()));
                    kernels.Add(NewElementwise(KernelName("fwd", what), origins, rows, cols, outputs, new ColumnSumOutput[0]));
                }
            }
            return kernels;
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
            return group.Dense?.Output;
        }

        /// <summary>Values of the group kept in memory: its result, and (training) what backward rules read.</summary>
        private static HashSet<int> StoredValues(FusionGroup group, bool training)
        {
            var stored = new HashSet<int> { group.Output.Id };
            if (!training) return stored;
            foreach (var op in group.Chain)
            {
                var rule = GradientRules.Elementwise[op.Kind];
                if (rule.BackwardReadsOutput) stored.Add(op.Output.Id);
                if (rule.BackwardReadsInput)
                {
                    foreach (var input in op.Inputs) stored.Add(input.Id);
                }
            }
            return stored;
        }

        private Expr DropoutMaskOf(OpNode op) =>
            op.Kind == OpKind.Dropout ? new DropoutMaskExpr(_dropoutSlots[op], (float)op.Attribute("p")!.AsReal) : Const(1f);

        private static ParameterInfo Weight(OpNode dense) => dense.Parameters.First(p => p.Role == "weight");

        private static ParameterInfo? Bias(OpNode dense) => dense.Parameters.FirstOrDefault(p => p.Role == "bias" && p.LayerPath == dense.LayerPath);

        private static ElementwiseKernel NewElementwise(string name, IReadOnlyList<Origin> origins, ModelDsl.Shapes.Dim rows, ModelDsl.Shapes.Dim cols, IReadOnlyList<ElementwiseOutput> outputs, IReadOnlyList<ColumnSumOutput> sums)
        {
            var kernel = new ElementwiseKernel(name, origins, rows, cols, outputs, sums);
            kernel.UsesDropout = outputs.Select(o => o.Value).Concat(sums.Select(s => s.Value)).Any(ExprWalker.UsesDropout);
            return kernel;
        }

        private sealed class RuleContext : IRuleContext
        {
            private readonly System.Func<int, Expr> _input;

            public RuleContext(OpNode node, System.Func<int, Expr> input, Expr output, Expr dropoutMask)
            {
                Node = node;
                _input = input;
                Output = output;
                DropoutMask = dropoutMask;
            }

            public OpNode Node { get; }
            public Expr Output { get; }
            public Expr DropoutMask { get; }
            public Expr Input(int index) => _input(index);
        }
    }
}
