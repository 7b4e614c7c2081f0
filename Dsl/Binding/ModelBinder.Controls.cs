using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // The training controls: clip_grad_norm (docs/training.md "Training controls").
    internal sealed partial class ModelBinder
    {
        /// <summary><c>clip_grad_norm(max_norm)</c>: torch.nn.utils.clip_grad_norm_'s argument (norm_type 2 only).</summary>
        private static readonly Signature ClipGradNorm = new Signature(new ParamSpec("max_norm", ParamKind.Real, min: 0));

        /// <summary>
        /// Binds every control statement of the model once the parameters exist. Returns null when one had an error (the
        /// model then fails, like an optimizer with a bad argument); each statement is checked even after another failed.
        /// </summary>
        private TrainingControls? BindControls(IReadOnlyList<ControlSyntax> statements, Scope scope, OptimizerSyntax? optimizer, LossSyntax? loss)
        {
            bool ok = true;
            GradientClip? clip = null;
            ControlSyntax? firstClip = null;
            foreach (var s in statements)
            {
                string word = s.Word.Text;
                if (optimizer is null || loss is null)
                {
                    Diagnostics.ReportControlConflict(s.Word.Span, word, $"the model has no {(optimizer is null ? "optimizer" : "loss")}, so nothing is trained; declare one or remove this line");
                    ok = false;
                    continue;
                }
                switch (word)
                {
                    case "clip_grad_norm":
                        if (firstClip is not null)
                        {
                            Diagnostics.ReportDuplicateDeclaration(s.Span, "clip_grad_norm", _file.Line(firstClip.Span));
                            ok = false;
                            break;
                        }
                        firstClip = s;
                        clip = BindClip(s, scope);
                        ok &= clip is not null;
                        break;
                    default:
                        throw new System.InvalidOperationException($"the grammar accepted the control '{word}', which the binder does not know");
                }
            }
            return ok ? new TrainingControls { Clip = clip } : null;
        }

        private GradientClip? BindClip(ControlSyntax s, Scope scope)
        {
            var args = EvaluateArguments(s.Call, scope, new LayerNamer("clip_grad_norm", 0));
            var matched = ArgumentMatcher.Match("clip_grad_norm", ClipGradNorm, null, args, s.Call.Span, Diagnostics);
            if (!matched.Ok) return null;
            double maxNorm = matched.Values["max_norm"] is RealValue r ? r.Real : ((IntValue)matched.Values["max_norm"]).Integer;
            return new GradientClip(maxNorm, s.Span);
        }

    }
}
