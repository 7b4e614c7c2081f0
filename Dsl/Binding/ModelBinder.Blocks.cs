using System.Collections.Generic;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Ops;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // Block expansion: each use is inlined with its arguments substituted and checked like any other code.
    internal sealed partial class ModelBinder
    {
        private readonly List<string> _blockStack = new List<string>();
        private readonly HashSet<string> _reportedInBlocks = new HashSet<string>();

        private Operand ExpandBlock(BlockSyntax block, CallSyntax call, Operand? piped, List<KeyValuePair<ArgumentSyntax, Operand>> args, string path)
        {
            string name = block.Name.Text;
            int cycleStart = _blockStack.IndexOf(name);
            if (cycleStart >= 0)
            {
                Diagnostics.ReportRecursiveBlock(call.Callee.Span, _blockStack.Skip(cycleStart).Concat(new[] { name }));
                return Error(call.Span);
            }
            if (_blockStack.Count >= MaxDepth)
            {
                Diagnostics.ReportExpansionTooDeep(call.Callee.Span, MaxDepth);
                return Error(call.Span);
            }
            if (_tooLarge) return Error(call.Span);

            var parameters = (block.Parameters ?? new BlockParameterSyntax[0]).Where(p => p?.Name is not null).ToList();
            var specs = parameters.Select((p, i) => new ParamSpec(p.Name.Text, i == 0 ? ParamKind.Tensor : ParamKind.Any, optional: p.Default is not null)).ToArray();
            // Matched before giving up on a failed piped value, so a misnamed block argument is still reported.
            var matched = ArgumentMatcher.Match(name, new Signature(specs), piped, args, call.Span, Diagnostics);
            if (!matched.Ok || piped?.Value is ErrorValue) return Error(call.Span);

            var scope = new Scope(_file.Constants);
            foreach (var p in parameters)
            {
                Value value;
                if (matched.Values.TryGetValue(p.Name.Text, out var given)) value = given;
                else if (p.Default is not null) value = EvaluateConstant(p.Default, _file.Constants);
                else continue;
                if (value is IntValue i) value = new IntValue(i.Integer, p.Name.Text);
                scope.TryDeclare(new Symbol(p.Name.Text, SymbolKind.BlockParameter, value, p.Name.Span), out _);
            }
            var body = (block.Body ?? new StatementSyntax[0]).Where(s => s is not null).ToList();
            DeclareLater(scope, body);

            bool outermost = _blockStack.Count == 0;
            var outer = Diagnostics;
            if (outermost) Diagnostics = new DiagnosticBag();
            _blockStack.Add(name);
            Value result = ErrorValue.Instance;
            try
            {
                foreach (var statement in body)
                {
                    if (_tooLarge) break;
                    if (statement is BindingSyntax binding) BindBindingStatement(binding, scope, path);
                }
                var ret = body.OfType<ReturnSyntax>().FirstOrDefault();
                if (ret?.Value is not null && !_tooLarge) result = BindNamedValue(ret.Value, scope, path);
                ReportUnused(scope);
            }
            finally
            {
                _blockStack.RemoveAt(_blockStack.Count - 1);
                if (outermost)
                {
                    var inner = Diagnostics;
                    Diagnostics = outer;
                    foreach (var d in inner)
                    {
                        if (d.IsError) _failed = true;
                        if (_reportedInBlocks.Add(d.Id + "@" + d.Span)) outer.ReportFromBlockUse(d, name, _file.Line(call.Span));
                    }
                }
            }
            if (result is ErrorValue) return Error(call.Span);
            return new Operand(result, call.Span, "the output of " + name);
        }
    }
}
