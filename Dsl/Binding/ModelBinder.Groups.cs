using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // group: parameter groups with their own lr and weight_decay (docs/training.md "Parameter groups").
    internal sealed partial class ModelBinder
    {
        /// <summary>What a group may set: the two hyperparameters every optimizer has, each optional (the optimizer's when left out).</summary>
        private static readonly Signature GroupOptions = new Signature(
            new ParamSpec("lr", ParamKind.Real, min: 0, optional: true),
            new ParamSpec("weight_decay", ParamKind.Real, min: 0, optional: true));

        /// <summary>
        /// Binds every <c>group</c> statement: its options (MDL0103-0108 from the matcher, MDL0124 for an option a group
        /// cannot set), its patterns (MDL0122), a parameter two groups claim (MDL0220, at the later pattern) and a group
        /// whose parameters are all frozen (MDL0221). A frozen parameter a group's pattern names stays frozen and is not a
        /// member. Every statement is checked even after another failed; null when one had an error.
        /// </summary>
        private IReadOnlyList<ParameterGroup>? BindGroups(IReadOnlyList<GroupSyntax> statements, Scope scope, OptimizerSyntax? optimizer, OptimizerInfo? optimizerInfo,
            LossSyntax? loss, IReadOnlyCollection<string> frozen, FreezeSyntax? firstFreeze)
        {
            bool ok = true;
            var groups = new List<ParameterGroup>();
            var owner = new Dictionary<string, GroupSyntax>(System.StringComparer.Ordinal); // parameter → the group that claimed it first
            var byName = new Dictionary<string, GroupSyntax>(System.StringComparer.Ordinal);
            foreach (var s in statements)
            {
                string name = s.Options.Callee.Text;
                if (optimizer is null || loss is null)
                {
                    Diagnostics.ReportControlConflict(s.Word.Span, "group", $"the model has no {(optimizer is null ? "optimizer" : "loss")}, so nothing is trained; declare one or remove this line");
                    ok = false;
                    continue;
                }
                if (byName.TryGetValue(name, out var same))
                {
                    Diagnostics.ReportDuplicateDeclaration(s.Options.Callee.Span, $"group named '{name}'", _file.Line(same.Span));
                    ok = false;
                    continue;
                }
                byName[name] = s;
                var options = BindGroupOptions(s, scope, optimizer, optimizerInfo);
                var members = new List<string>();
                bool patternsOk = true, anyNamed = false;
                foreach (var pattern in s.Patterns)
                {
                    var matches = MatchingPath(pattern, "group");
                    if (matches is null)
                    {
                        patternsOk = false;
                        continue;
                    }
                    foreach (var p in matches)
                    {
                        anyNamed = true;
                        if (frozen.Contains(p.Name)) continue; // freeze wins: no update at all
                        if (owner.TryGetValue(p.Name, out var first) && first != s)
                        {
                            Diagnostics.ReportParameterInTwoGroups(pattern.Span, p.Name, first.Options.Callee.Text, _file.Line(first.Span), name, _file.Line(s.Span));
                            patternsOk = false;
                            continue;
                        }
                        owner[p.Name] = s;
                        if (!members.Contains(p.Name)) members.Add(p.Name);
                    }
                }
                if (patternsOk && anyNamed && members.Count == 0)
                {
                    Diagnostics.ReportGroupAllFrozen(s.Options.Callee.Span, name, _file.Line(firstFreeze!.Span));
                    patternsOk = false;
                }
                if (options is null || !patternsOk)
                {
                    ok = false;
                    continue;
                }
                groups.Add(new ParameterGroup(name, options.Value.LearningRate, options.Value.WeightDecay, members, s.Span));
            }
            return ok ? groups : null;
        }

        /// <summary>A group's lr and weight_decay (null where it keeps the optimizer's), or null after reporting why not.</summary>
        private (double? LearningRate, double? WeightDecay)? BindGroupOptions(GroupSyntax s, Scope scope, OptimizerSyntax optimizer, OptimizerInfo? optimizerInfo)
        {
            string name = s.Options.Callee.Text;
            var args = EvaluateArguments(s.Options, scope, new LayerNamer("group", 0));
            // An option the optimizer has but a group cannot set, or one the optimizer does not have at all: MDL0124 with
            // what the optimizer takes, rather than the matcher's generic MDL0103.
            string optimizerName = optimizer.Call.Callee.Text;
            var optimizerSignature = Optimizers.Table.TryGetValue(optimizerName, out var entry) ? entry.Value : null;
            bool ok = true;
            var known = new List<KeyValuePair<ArgumentSyntax, Operand>>();
            foreach (var pair in args)
            {
                var option = pair.Key.Name;
                if (option is not null && !string.IsNullOrEmpty(option.Text) && GroupOptions.Find(option.Text) is null)
                {
                    string takes = optimizerSignature is null ? "" : $" ({optimizerName} takes {string.Join(", ", optimizerSignature.Parameters.Select(p => p.Name))})";
                    Diagnostics.ReportGroupOption(option.Span, name, option.Text, optimizerSignature?.Find(option.Text) is not null
                        ? $"is {optimizerName}'s for every parameter: a group sets only lr and weight_decay (the other hyperparameters and the optimizer state are shared by all parameters)"
                        : $"is not an option of {optimizerName}{takes}; a group sets lr and weight_decay");
                    ok = false;
                }
                else known.Add(pair);
            }
            var matched = ArgumentMatcher.Match("group " + name, GroupOptions, null, known, s.Options.Span, Diagnostics);
            if (!ok || !matched.Ok) return null;
            double? Real(string n) => matched.Values.TryGetValue(n, out var v) ? v is RealValue r ? r.Real : v is IntValue i ? i.Integer : null : null;
            double? lr = Real("lr"), weightDecay = Real("weight_decay");
            if (lr is null && weightDecay is null)
            {
                Diagnostics.ReportGroupOption(s.Options.Span, name, "without options", "would train its parameters exactly as the others; give lr=… and/or weight_decay=…");
                return null;
            }
            if (lr is not null && optimizerInfo is { } info && info.Settings.LearningRate == 0)
            {
                Diagnostics.ReportGroupOption(matched.Spans["lr"], name, "lr", $"scales with the model's LearningRate in proportion to {optimizerName}'s lr, which is 0 here; give {optimizerName} a learning rate");
                return null;
            }
            return (lr, weightDecay);
        }
    }
}
