using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // Calls: a layer from the op catalogue or a block; argument matching; running the op's shape rule.
    internal sealed partial class ModelBinder
    {
        private bool IsCallable(string name) => OpCatalog.TryGet(name, out _) || _file.Blocks.ContainsKey(name);

        private void ReportUnknownCallee(Identifier callee)
        {
            var candidates = OpCatalog.Names.Concat(_file.Blocks.Keys);
            Diagnostics.ReportUnknownLayer(callee.Span, callee.Text, Suggest.Closest(callee.Text, candidates, _file.Suggestions));
        }

        /// <summary>A call, with <paramref name="piped"/> as its first argument when it is a chain stage.</summary>
        private Operand BindCall(CallSyntax call, Operand? piped, Scope scope, string path, LayerNamer namer)
        {
            var callee = call.Callee;
            var args = EvaluateArguments(call, scope, namer);
            if (callee is null || string.IsNullOrEmpty(callee.Text)) return Error(call.Span);
            if (_file.Blocks.TryGetValue(callee.Text, out var block)) return ExpandBlock(block, call, piped, args, path);
            if (!OpCatalog.TryGet(callee.Text, out var op))
            {
                ReportUnknownCallee(callee);
                return Error(call.Span);
            }
            // The arguments are matched even when the piped value failed: argument names, counts and constant
            // values need nothing from it, so their mistakes are reported in the same pass (an error value
            // fails its own conversion silently). Only the shape rule, which needs the input, is skipped.
            var matched = ArgumentMatcher.Match(callee.Text, op.Signature, piped, args, call.Span, Diagnostics);
            if (!matched.Ok || piped?.Value is ErrorValue) return Error(call.Span);
            return ApplyOp(op, call.Span, path, matched.Tensors, matched);
        }

        private List<KeyValuePair<ArgumentSyntax, Operand>> EvaluateArguments(CallSyntax call, Scope scope, LayerNamer namer)
        {
            var list = new List<KeyValuePair<ArgumentSyntax, Operand>>();
            foreach (var argument in call.Arguments ?? new ArgumentSyntax[0])
            {
                if (argument?.Value is null) continue;
                list.Add(new KeyValuePair<ArgumentSyntax, Operand>(argument, BindExpression(argument.Value, scope, namer)));
            }
            return list;
        }

        /// <summary>Runs the op's shape rule and, when it succeeds, appends the node and its parameters.</summary>
        private Operand ApplyOp(OpRule op, TextSpan span, string path, IReadOnlyList<Operand> inputs, MatchedArguments matched)
        {
            if (inputs.Any(i => !(i.Value is TensorRef))) return Error(span);
            if (_tooLarge) return Error(span);
            if (_nodes.Count >= MaxOps)
            {
                _tooLarge = true;
                Diagnostics.ReportModelTooLarge(span, _model?.Name.Text ?? "", MaxOps);
                return Error(span);
            }
            var tensors = inputs.Select(i => ((TensorRef)i.Value).Tensor).ToList();
            var context = new OpContext(op, span, path, Diagnostics, tensors, inputs.Select(i => i.Span).ToList(),
                inputs.Select(i => i.Description).ToList(), matched.Values, matched.Spans);
            Shapes.Shape? shape;
            try
            {
                shape = op.Check(context);
            }
            catch (OverflowException)
            {
                Diagnostics.ReportOverflow(span, _file.Compact(span));
                shape = null;
            }
            if (shape is null) return Error(span);

            var output = NewTensor(path, shape, op.OutputType ?? tensors[0].DType, span);
            _nodes.Add(new OpNode(_nodes.Count, op.Kind, tensors, output, context.Attributes, context.Parameters.ToList(), path, span, context.States.Count == 0 ? null : context.States.ToList()));
            _states.AddRange(context.States);
            foreach (var p in context.Owned)
            {
                _parameters.Add(p);
                _parametersByName[p.Name] = p;
            }
            return new Operand(new TensorRef(output, false), span, "the output of " + op.Name);
        }
    }
}
