using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // The training controls: clip_grad_norm, schedule, freeze (docs/training.md "Training controls"); group is in ModelBinder.Groups.cs.
    internal sealed partial class ModelBinder
    {
        /// <summary><c>clip_grad_norm(max_norm)</c>: torch.nn.utils.clip_grad_norm_'s argument (norm_type 2 only).</summary>
        private static readonly Signature ClipGradNorm = new Signature(new ParamSpec("max_norm", ParamKind.Real, min: 0));

        /// <summary>The schedules by name; each takes warmup (steps, default 0), and linear/cosine steps (the total) and floor.</summary>
        private static readonly IReadOnlyDictionary<string, (ScheduleKind Kind, Signature Signature)> Schedules = new Dictionary<string, (ScheduleKind, Signature)>
        {
            ["constant"] = (ScheduleKind.Constant, new Signature(Signature.Int("warmup", 0, 0))),
            ["linear"] = (ScheduleKind.Linear, new Signature(Signature.Int("warmup", 0, 0), new ParamSpec("steps", ParamKind.Int, min: 1, optional: true), Signature.Real("floor", 0.0, 0, 1))),
            ["cosine"] = (ScheduleKind.Cosine, new Signature(Signature.Int("warmup", 0, 0), new ParamSpec("steps", ParamKind.Int, min: 1, optional: true), Signature.Real("floor", 0.0, 0, 1))),
        };

        /// <summary>
        /// Binds every control statement of the model once the parameters exist. Returns null when one had an error (the
        /// model then fails, like an optimizer with a bad argument); each statement is checked even after another failed.
        /// </summary>
        private TrainingControls? BindControls(IReadOnlyList<ControlSyntax> statements, IReadOnlyList<FreezeSyntax> freezes, IReadOnlyList<GroupSyntax> groupStatements,
            Scope scope, OptimizerSyntax? optimizer, OptimizerInfo? optimizerInfo, LossSyntax? loss)
        {
            bool ok = true;
            GradientClip? clip = null;
            LearningRateSchedule? schedule = null;
            ControlSyntax? firstClip = null, firstSchedule = null;
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
                    case "schedule":
                        if (firstSchedule is not null)
                        {
                            Diagnostics.ReportDuplicateDeclaration(s.Span, "schedule", _file.Line(firstSchedule.Span));
                            ok = false;
                            break;
                        }
                        firstSchedule = s;
                        schedule = BindSchedule(s, scope);
                        ok &= schedule is not null;
                        break;
                    default:
                        throw new System.InvalidOperationException($"the grammar accepted the control '{word}', which the binder does not know");
                }
            }
            var frozen = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (var s in freezes)
            {
                if (optimizer is null || loss is null)
                {
                    Diagnostics.ReportControlConflict(s.Word.Span, "freeze", $"the model has no {(optimizer is null ? "optimizer" : "loss")}, so nothing is trained; declare one or remove this line");
                    ok = false;
                    continue;
                }
                foreach (var pattern in s.Patterns)
                {
                    var matches = MatchingPath(pattern);
                    if (matches is null) ok = false;
                    else foreach (var p in matches) frozen.Add(p.Name);
                }
            }
            if (ok && frozen.Count > 0 && frozen.Count == _parameters.Count)
            {
                Diagnostics.ReportControlConflict(freezes[0].Word.Span, "freeze", $"every parameter of model '{_model!.Name.Text}' is frozen, so a step would change nothing; freeze fewer, or drop the optimizer");
                ok = false;
            }
            var groups = BindGroups(groupStatements, scope, optimizer, optimizerInfo, loss, frozen, freezes.Count > 0 ? freezes[0] : null);
            ok &= groups is not null;
            return ok ? new TrainingControls { Clip = clip, Schedule = schedule, Frozen = frozen, FrozenSpan = freezes.Count > 0 ? freezes[0].Span : default, Groups = groups! } : null;
        }

        private GradientClip? BindClip(ControlSyntax s, Scope scope)
        {
            var args = EvaluateArguments(s.Call, scope, new LayerNamer("clip_grad_norm", 0));
            var matched = ArgumentMatcher.Match("clip_grad_norm", ClipGradNorm, null, args, s.Call.Span, Diagnostics);
            if (!matched.Ok) return null;
            double maxNorm = matched.Values["max_norm"] is RealValue r ? r.Real : ((IntValue)matched.Values["max_norm"]).Integer;
            return new GradientClip(maxNorm, s.Span);
        }

        private LearningRateSchedule? BindSchedule(ControlSyntax s, Scope scope)
        {
            var call = s.Call;
            var args = EvaluateArguments(call, scope, new LayerNamer("schedule", 0));
            if (!Schedules.TryGetValue(call.Callee.Text, out var entry))
            {
                Diagnostics.ReportUnknownSchedule(call.Callee.Span, call.Callee.Text, Suggest.Closest(call.Callee.Text, Schedules.Keys, _file.Suggestions));
                return null;
            }
            var matched = ArgumentMatcher.Match(call.Callee.Text, entry.Signature, null, args, call.Span, Diagnostics);
            if (!matched.Ok) return null;
            long warmup = ((IntValue)matched.Values["warmup"]).Integer;
            long? steps = matched.Values.TryGetValue("steps", out var v) && v is IntValue total ? total.Integer : null;
            double floor = matched.Values.TryGetValue("floor", out var f) ? f is RealValue r ? r.Real : ((IntValue)f).Integer : 0;
            if (steps is { } t && t <= warmup)
            {
                Diagnostics.ReportScheduleTooShort(matched.Spans["steps"], call.Callee.Text, t, warmup);
                return null;
            }
            if (warmup > int.MaxValue || steps > int.MaxValue)
            {
                Diagnostics.ReportArgumentOutOfRange(matched.Spans[warmup > int.MaxValue ? "warmup" : "steps"], call.Callee.Text, warmup > int.MaxValue ? "warmup" : "steps",
                    warmup > int.MaxValue ? warmup : steps!.Value, "at most " + int.MaxValue + " (a model's Step is an int)");
                return null;
            }
            return new LearningRateSchedule(entry.Kind, warmup, steps, floor, s.Span);
        }

        /// <summary>
        /// The parameters a freeze pattern names: init's pattern (<c>*</c> any run of characters) over the full name, or over
        /// a layer or block path above it (<c>h.1.0</c> names every parameter under <c>h.1.0.</c>). Null after reporting MDL0122.
        /// </summary>
        private List<ParameterInfo>? MatchingPath(NamePattern pattern, string statement = "freeze")
        {
            var regex = PatternRegex(pattern.Text);
            var matches = _parameters.Where(p => regex.IsMatch(p.Name) || Prefixes(p.Name).Any(regex.IsMatch)).ToList();
            if (matches.Count > 0) return matches;
            var names = _parameters.Select(p => p.Name).ToList();
            string? suggestion = pattern.Text.Contains('*') ? null : Suggest.Closest(pattern.Text, names.Concat(names.SelectMany(Prefixes)).Distinct(), _file.Suggestions);
            Diagnostics.ReportPatternMatchesNothing(pattern.Span, statement, pattern.Text, _model!.Name.Text, suggestion, names);
            return null;
        }

        /// <summary><c>h.1.0.a.0.weight</c> → <c>h</c>, <c>h.1</c>, <c>h.1.0</c>, <c>h.1.0.a</c>, <c>h.1.0.a.0</c>.</summary>
        private static IEnumerable<string> Prefixes(string name)
        {
            for (int i = name.IndexOf('.'); i > 0; i = name.IndexOf('.', i + 1)) yield return name.Substring(0, i);
        }
    }
}
