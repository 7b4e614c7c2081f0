using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Shapes;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // loss and optimizer statements.
    internal sealed partial class ModelBinder
    {
        private LossInfo? BindLoss(LossSyntax s, Scope scope)
        {
            var call = s.Call;
            if (call?.Callee is null) return null;
            _inLoss = true;
            var args = EvaluateArguments(call, scope, new LayerNamer("loss", 0));
            _inLoss = false;
            if (!Losses.Table.TryGetValue(call.Callee.Text, out var entry))
            {
                Diagnostics.ReportUnknownLoss(call.Callee.Span, call.Callee.Text, Suggest.Closest(call.Callee.Text, Losses.Table.Keys, _file.Suggestions));
                return null;
            }
            var kind = entry.Kind;
            var matched = ArgumentMatcher.Match(call.Callee.Text, entry.Signature, null, args, call.Span, Diagnostics);
            // Each side is checked on its own when the other failed: a label of the wrong dtype is reported even
            // while the logits have an error. Only the shape comparison needs both.
            var pred = matched.Tensors.FirstOrDefault(o => matched.Spans.TryGetValue("prediction", out var ps) && o.Span == ps);
            var target = matched.Tensors.FirstOrDefault(o => matched.Spans.TryGetValue("target", out var ts) && o.Span == ts);
            var p = (pred?.Value as TensorRef)?.Tensor;
            var t = (target?.Value as TensorRef)?.Tensor;
            string name = call.Callee.Text;

            bool ok = matched.Ok && p is not null && t is not null;
            if (p is not null && p.DType != DType.F32)
            {
                Diagnostics.ReportDTypeMismatch(pred!.Span, name, pred.Description, DType.F32, p.DType, p.Shape);
                ok = false;
            }
            Shape? expected = null;
            DType targetType = kind == LossKind.CrossEntropy ? DType.I32 : DType.F32;
            if (p is not null)
            {
                if (kind == LossKind.CrossEntropy)
                {
                    if (p.Shape.Rank < 1)
                    {
                        Diagnostics.ReportRankMismatch(pred!.Span, name, pred.Description, "at least 1", "[..., C]", p.Shape);
                        ok = false;
                    }
                    else expected = new Shape(p.Shape.Dims.Take(p.Shape.Rank - 1).ToArray());
                }
                else expected = p.Shape;
            }
            if (t is not null && t.DType != targetType)
            {
                Diagnostics.ReportDTypeMismatch(target!.Span, name, target.Description, targetType, t.DType, t.Shape);
                ok = false;
            }
            else if (t is not null && expected is not null && !t.Shape.Equals(expected))
            {
                Diagnostics.ReportLossShapeMismatch(target!.Span, name, target.Description, expected, t.Shape);
                ok = false;
            }
            // Options the loss does not take are MDL0103 in the matcher, so a value here is the loss's own.
            double labelSmoothing = matched.Values.TryGetValue("label_smoothing", out var smoothing) && smoothing is RealValue r ? r.Real : Losses.DefaultLabelSmoothing;
            return ok && expected is not null ? new LossInfo(kind, p!, t!, call.Span, labelSmoothing) : null;
        }

        private OptimizerInfo? BindOptimizer(OptimizerSyntax s, Scope scope)
        {
            var call = s.Call;
            if (call?.Callee is null) return null;
            var args = EvaluateArguments(call, scope, new LayerNamer("optimizer", 0));
            if (!Optimizers.Table.TryGetValue(call.Callee.Text, out var entry))
            {
                Diagnostics.ReportUnknownOptimizer(call.Callee.Span, call.Callee.Text, Suggest.Closest(call.Callee.Text, Optimizers.Table.Keys, _file.Suggestions));
                return null;
            }
            var matched = ArgumentMatcher.Match(call.Callee.Text, entry.Value, null, args, call.Span, Diagnostics);
            if (!matched.Ok) return null;
            double Real(string n) => matched.Values.TryGetValue(n, out var v) ? v is RealValue r ? r.Real : v is IntValue i ? i.Integer : 0 : 0;

            bool Flag(string n) => matched.Values.TryGetValue(n, out var v) && v is BoolValue b && b.Boolean;

            switch (entry.Key)
            {
                case OptimizerKind.Sgd:
                    return new OptimizerInfo(entry.Key, new SgdSettings(Real("lr"), Real("momentum"), Real("weight_decay"), Flag("nesterov")), call.Span);
                case OptimizerKind.Rmsprop:
                    // Two state buffers per parameter at most: square_avg and one of momentum_buffer / grad_avg.
                    if (Real("momentum") != 0 && Flag("centered"))
                    {
                        Diagnostics.ReportUnsupportedOption(matched.Spans.TryGetValue("centered", out var at) ? at : call.Span, call.Callee.Text, "centered=true with momentum",
                            "ModelDsl keeps at most two state buffers per parameter (square_avg and one more), and both need one besides square_avg",
                            "drop momentum or centered");
                        return null;
                    }
                    return new OptimizerInfo(entry.Key, new RmspropSettings(Real("lr"), Real("alpha"), Real("eps"), Real("weight_decay"), Real("momentum"), Flag("centered")), call.Span);
                case OptimizerKind.Adam:
                case OptimizerKind.AdamW:
                    return BindAdam(entry.Key, call, matched, Real);
                default:
                    throw new System.InvalidOperationException($"optimizer {entry.Key} has no binding");
            }
        }

        private OptimizerInfo? BindAdam(OptimizerKind kind, CallSyntax call, MatchedArguments matched, System.Func<string, double> Real)
        {
            double beta1 = Optimizers.DefaultBeta1, beta2 = Optimizers.DefaultBeta2;
            if (matched.Values.TryGetValue("betas", out var betas) && betas is TupleValue tuple)
            {
                var span = matched.Spans["betas"];
                if (tuple.Elements.Count != 2)
                {
                    Diagnostics.ReportArgumentType(span, call.Callee.Text, "betas", "a tuple of two numbers like (0.9, 0.999)", $"{tuple.Elements.Count} element(s)");
                    return null;
                }
                double[] values = tuple.Elements.Select(e => e is RealValue r ? r.Real : ((IntValue)e).Integer).ToArray();
                for (int i = 0; i < 2; i++)
                {
                    if (values[i] < 0 || values[i] >= 1)
                    {
                        Diagnostics.ReportArgumentOutOfRange(tuple.Spans[i], call.Callee.Text, "beta" + (i + 1), values[i], "in [0, 1)");
                        return null;
                    }
                }
                beta1 = values[0];
                beta2 = values[1];
            }
            return new OptimizerInfo(kind, new AdamSettings(Real("lr"), beta1, beta2, Real("eps"), Real("weight_decay")), call.Span);
        }
    }
}
