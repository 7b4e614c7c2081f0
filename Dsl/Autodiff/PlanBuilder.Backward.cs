using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Plan;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    public sealed partial class PlanBuilder
    {
        /// <summary>Gradient buffers already written this step: the first contribution assigns, later ones add.</summary>
        private readonly HashSet<PlanBuffer> _written = new HashSet<PlanBuffer>();

        private HashSet<int> _requiresGradient = new HashSet<int>();

        /// <summary>The fused loss: loss value and d loss / d prediction in one pass.</summary>
        private LossKernel LossKernelFor(LossInfo loss)
        {
            var prediction = Value(loss.Prediction);
            var gradient = Gradient(loss.Prediction);
            FirstWrite(gradient);
            var (rows, cols) = Matrix(loss.Prediction.Shape);
            var origin = new Origin(loss.Span, $"loss {loss.ToSource()}  {loss.Prediction.Shape.ToExpression()}, {loss.Target.Shape.ToExpression()}");
            return new LossKernel(KernelName("loss", loss.Kind.ToSource()), new[] { origin }, loss.Kind, prediction, Value(loss.Target), gradient, rows, cols, loss.LabelSmoothing);
        }

        /// <summary>
        /// Reverse-mode differentiation at build time: walk the groups backwards from the loss, applying each op's
        /// rule. Within a group the chain's gradients stay in registers and come out as one fused loop (writing the
        /// gradient the head needs and summing its bias gradient on the way); dense layers add two GEMMs:
        /// dW (+)= dYᵀ·X and dX (+)= dY·W; attention the same for out_proj, then its core and in_proj backward.
        /// A layer group is its layer's backward kernel.
        /// </summary>
        private List<Kernel> Backward(LossInfo loss)
        {
            _requiresGradient = RequiresGradient(loss.Prediction);
            var kernels = new List<Kernel>();

            foreach (var group in _groups.Reverse())
            {
                if (!_requiresGradient.Contains(group.Output.Id) || !_gradients.ContainsKey(group.Output.Id)) continue;
                int start = kernels.Count;
                BackwardGroup(group, kernels);
                MarkRecomputed(group, kernels, start);
            }

            // Parameters the loss does not depend on still get a defined (zero) gradient every step.
            foreach (var p in _model.Parameters)
            {
                var dp = _parameterGradients[p];
                if (_written.Contains(dp.Root)) continue;
                var origin = new Origin(p.Span, $"{p.Name}: not used by the loss; its gradient is zero");
                kernels.Add(NewElementwise(KernelName("bwd", "zero"), new[] { origin }, Shapes.Dim.Known(1), Shapes.Dim.Known(p.Count), new[] { new ElementwiseOutput(dp, Const(0f), false) }, new ColumnSumOutput[0]));
                _written.Add(dp);
            }
            return kernels;
        }

        /// <summary>The backward kernels of one group, appended to <paramref name="kernels"/>.</summary>
        private void BackwardGroup(FusionGroup group, List<Kernel> kernels)
        {
            if (group.Layer is { } layer)
            {
                kernels.AddRange(LayerBackward(layer));
                return;
            }

            var origins = group.Ops.Select(OriginOf).ToList();
            var outputs = new List<ElementwiseOutput>();
            var sums = new List<ColumnSumOutput>();
            Expr g = Load(Gradient(group.Output));

            for (int index = group.Chain.Count - 1; index >= 0; index--)
            {
                var op = group.Chain[index];
                var rule = OpCatalog.Of(op).Elementwise!;
                var context = new RuleContext(op, i => Load(Value(op.Inputs[i])), () => Load(Value(op.Output)), DropoutMaskOf(op));
                var inputGradients = rule.Backward(g, context);
                var link = ChainInput(group, op);

                Expr? next = null;
                for (int i = 0; i < op.Inputs.Count; i++)
                {
                    var input = op.Inputs[i];
                    if (link is not null && input.Id == link.Id)
                    {
                        next = next is null ? inputGradients[i] : Add(next, inputGradients[i]);
                    }
                    else if (_requiresGradient.Contains(input.Id))
                    {
                        outputs.Add(Contribute(Gradient(input), inputGradients[i]));
                    }
                }
                if (next is null) break; // first op of a group without dense: its input was handled above
                g = next;
            }

            if (group.Head is { } head)
            {
                var rule = (IHeadRule)OpCatalog.Of(head);
                var dy = Gradient(head.Output);
                if (!(g is LoadExpr load && load.Buffer == dy))
                {
                    outputs.Add(new ElementwiseOutput(dy, g, accumulate: false));
                    FirstWrite(dy);
                }
                var bias = rule.Bias(head);
                if (bias is not null) sums.Add(ContributeSum(_parameterGradients[bias], g)); // db (+)= Σ_rows dY

                if (outputs.Count > 0 || sums.Count > 0)
                {
                    var (rows, cols) = Matrix(head.Output.Shape);
                    kernels.Add(NewElementwise(KernelName("bwd", string.Join("_", group.Ops.Reverse().Select(o => o.Kind.ToSource()))), origins, rows, cols, outputs, sums));
                }

                var x = _productInput[head];
                var (m, inFeatures) = Matrix(x.Shape);
                var units = head.Output.Shape.Last;
                var weight = rule.Weight(head);
                var dw = _parameterGradients[weight];
                // dW[out, in] (+)= dY[M, out]ᵀ · X[M, in]
                kernels.Add(new GemmKernel(KernelName("bwd", rule.ProductName + "_dW"), new[] { OriginOf(head) }, true, false, units, inFeatures, m, dy, x, dw, accumulate: !FirstWrite(dw)));
                if (rule.ProductInputGradient(this, head) is { } dx)
                {
                    // dX[M, in] (+)= dY[M, out] · W[out, in]
                    kernels.Add(new GemmKernel(KernelName("bwd", rule.ProductName + "_dX"), new[] { OriginOf(head) }, false, false, m, inFeatures, units, dy, _parameters[weight], dx, accumulate: !FirstWrite(dx)));
                }
                kernels.AddRange(Attach(OpCatalog.Of(head), rule.PlanBackwardBelowProduct(this, head)));
            }
            else if (outputs.Count > 0)
            {
                var (rows, cols) = Domain(group);
                kernels.Add(NewElementwise(KernelName("bwd", string.Join("_", group.Ops.Reverse().Select(o => o.Kind.ToSource()))), origins, rows, cols, outputs, sums));
            }
        }

        /// <summary>
        /// Records a write to <paramref name="target"/>'s memory; true for the first of the step (it assigns), false after
        /// that (it adds). Keyed by the memory, so a reshape's gradient and its input's gradient count as one.
        /// </summary>
        private bool FirstWrite(PlanBuffer target) => _written.Add(target.Root);

        private GradientOutput ContributeGradient(PlanBuffer target) => new GradientOutput(target, accumulate: !FirstWrite(target));

        private ElementwiseOutput Contribute(PlanBuffer target, Expr value) => new ElementwiseOutput(target, value, accumulate: !FirstWrite(target));

        private ColumnSumOutput ContributeSum(PlanBuffer target, Expr value) => new ColumnSumOutput(target, value, accumulate: !FirstWrite(target));

        /// <summary>
        /// Values that carry a gradient: f32 results of ops that the loss depends on and that depend on a parameter
        /// (inputs and labels excluded, and so is anything computed from inputs alone, such as a reshaped input, or
        /// reached only through an input an op does not differentiate: <see cref="OpRule.IsDifferentiable"/>).
        /// </summary>
        private HashSet<int> RequiresGradient(TensorValue prediction)
        {
            var trainable = new HashSet<int>();
            foreach (var node in _model.Nodes)
            {
                if (node.Parameters.Count > 0 || node.Inputs.Any(i => trainable.Contains(i.Id))) trainable.Add(node.Output.Id);
            }
            var producers = _model.Nodes.ToDictionary(n => n.Output.Id);
            var result = new HashSet<int>();
            var stack = new Stack<TensorValue>();
            stack.Push(prediction);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (!producers.TryGetValue(v.Id, out var node) || v.DType != Shapes.DType.F32 || !trainable.Contains(v.Id) || !result.Add(v.Id)) continue;
                var rule = OpCatalog.Of(node);
                for (int i = 0; i < node.Inputs.Count; i++)
                {
                    if (rule.IsDifferentiable(i)) stack.Push(node.Inputs[i]);
                }
            }
            return result;
        }
    }
}
