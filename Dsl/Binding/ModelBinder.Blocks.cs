using System.Collections.Generic;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Ops;
using ModelDsl.Shapes;
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
            // The first parameter and those declared with a type are tensors; the others constants (MDL0114 for a tensor).
            var specs = parameters.Select((p, i) => new ParamSpec(p.Name.Text, i == 0 || p.Type is not null ? ParamKind.Tensor : ParamKind.Constant,
                optional: p.Default is not null && p.Type is null)).ToArray();
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
            if (!CheckTensorArguments(name, parameters, specs, matched, scope)) return Error(call.Span);
            var body = (block.Body ?? new StatementSyntax[0]).Where(s => s is not null).ToList();
            DeclareLater(scope, body);

            bool outermost = _blockStack.Count == 0;
            var outer = Diagnostics;
            if (outermost) Diagnostics = new DiagnosticBag();
            _blockStack.Add(name);
            _usedBlocks.Add(name);
            // recompute Block: the ops this expansion adds are one recomputed instance (unless an enclosing one already is).
            bool recomputed = _recomputing == 0 && _recompute.ContainsKey(name);
            int firstNode = _nodes.Count;
            if (recomputed) _recomputing++;
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
                if (recomputed) _recomputing--;
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
            if (recomputed) _recomputed.Add((name, path, call.Span, firstNode, _nodes.Count - firstNode));
            return new Operand(result, call.Span, "the output of " + name);
        }

        /// <summary>
        /// Each tensor argument against its parameter's declared type (<c>mask: i32[B, T]</c>), in parameter order: the
        /// element type, the rank, and each dimension: a number or constant must be equal; a symbol takes the first
        /// argument's dimension and must be equal to it in every later place (its own parameter's or another's).
        /// MDL0322 at the argument otherwise. The type itself was checked once (Binder.CheckTensorParameters).
        /// </summary>
        private bool CheckTensorArguments(string block, List<BlockParameterSyntax> parameters, ParamSpec[] specs, MatchedArguments matched, Scope scope)
        {
            // matched.Tensors holds the tensor arguments in parameter order: pair them with their parameters.
            var tensors = new Dictionary<string, Operand>();
            int next = 0;
            foreach (var spec in specs)
            {
                if (spec.Kind != ParamKind.Tensor || !matched.Values.ContainsKey(spec.Name) || next >= matched.Tensors.Count) continue;
                tensors[spec.Name] = matched.Tensors[next++];
            }
            var symbols = new Dictionary<string, (Dim Dim, string From)>();
            bool ok = true;
            foreach (var p in parameters)
            {
                if (p.Type?.Dimensions is null || !tensors.TryGetValue(p.Name.Text, out var argument) || argument.Value is not TensorRef reference) continue;
                if (p.Type.DType is null || !DTypeNames.TryParse(p.Type.DType.Text, out var dtype)) continue; // MDL0207, reported once
                // arithmetic over a symbol was MDL0326, reported once: such a type checks nothing
                if (p.Type.Dimensions.Any(d => d is null || (d is not NameSyntax && Binder.Names(d).Any(n => scope.Lookup(n)?.Value is not IntValue)))) continue;
                var tensor = reference.Tensor;
                bool fits = dtype == tensor.DType && p.Type.Dimensions.Count == tensor.Shape.Rank;
                var notes = new List<string>();
                for (int i = 0; fits && i < p.Type.Dimensions.Count; i++)
                {
                    var declared = p.Type.Dimensions[i];
                    var actual = tensor.Shape[i];
                    if (declared is NameSyntax n && n.Name is not null && (scope.Lookup(n.Name.Text)?.Value is not IntValue))
                    {
                        string symbol = n.Name.Text;
                        if (!symbols.TryGetValue(symbol, out var bound)) symbols[symbol] = (actual, p.Name.Text);
                        else if (!bound.Dim.Equals(actual))
                        {
                            fits = false;
                            notes.Add($"{symbol} = {bound.Dim} from '{bound.From}'");
                        }
                        continue;
                    }
                    var value = EvaluateConstant(declared, scope);
                    if (value is IntValue number) fits = actual.IsKnown && actual.Value == number.Integer;
                    else fits = false;
                }
                if (fits) continue;
                ok = false;
                string type = p.Type.DType.Text + "[" + string.Join(", ", p.Type.Dimensions.Select(d => _file.Compact(d.Span))) + "]";
                Diagnostics.ReportBlockArgumentType(argument.Span, block, p.Name.Text, type,
                    notes.Count == 0 ? "" : " (" + string.Join(", ", notes) + ")", argument.Description, tensor.DType.ToSource() + tensor.Shape);
            }
            return ok;
        }
    }
}
