using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // Expressions: names, literals, arithmetic, tuples and lists, member access, chains.
    internal sealed partial class ModelBinder
    {
        /// <summary>
        /// The value of a binding's right-hand side, naming its layers per docs/language.md: one call or one chain
        /// stage is the binding itself (<c>fc1</c>); chain elements are numbered from 0 (<c>h.0</c>, <c>h.2</c>).
        /// </summary>
        private Value BindNamedValue(ExpressionSyntax expression, Scope scope, string path)
        {
            int saved = _statementStart;
            _statementStart = _nodes.Count;
            try
            {
                return BindNamedValueCore(expression, scope, path);
            }
            finally
            {
                _statementStart = saved;
            }
        }

        private Value BindNamedValueCore(ExpressionSyntax expression, Scope scope, string path)
        {
            switch (expression)
            {
                case ChainSyntax chain:
                    return BindChain(chain, scope, path, topLevel: true, new LayerNamer(path, ChainLength(chain))).Value;
                case CallSyntax call:
                    return Rename(BindCall(call, null, scope, path, new LayerNamer(path, 0)), path).Value;
                default:
                    return BindExpression(expression, scope, new LayerNamer(path, 0)).Value;
            }
        }

        private static int ChainLength(ChainSyntax chain) => (chain.Source is CallSyntax ? 1 : 0) + (chain.Stages?.Count ?? 0);

        private Operand BindChain(ChainSyntax chain, Scope scope, string path, bool topLevel, LayerNamer namer)
        {
            var stages = chain.Stages ?? new ExpressionSyntax[0];
            int count = ChainLength(chain);
            int index = 0;
            string ElementPath()
            {
                string p = !topLevel ? namer.Next() : count == 1 ? path : path + "." + index.ToString(CultureInfo.InvariantCulture);
                index++;
                return p;
            }

            Operand current = chain.Source is CallSyntax sourceCall
                ? BindCall(sourceCall, null, scope, ElementPath(), namer)
                : BindExpression(chain.Source, scope, namer);
            foreach (var stage in stages)
            {
                if (stage is null) continue;
                current = BindStage(stage, current, scope, ElementPath(), namer);
            }
            return topLevel ? Rename(current, path) : current;
        }

        /// <summary>One chain stage applied to the previous value: a call, a bare layer name, or <c>repeat N Stage</c>.</summary>
        private Operand BindStage(ExpressionSyntax stage, Operand input, Scope scope, string path, LayerNamer namer)
        {
            switch (stage)
            {
                case CallSyntax call:
                    return BindCall(call, input, scope, path, namer);
                case NameSyntax name:
                    if (IsCallable(name.Name.Text))
                    {
                        return BindCall(new CallSyntax(name.Name, new ArgumentSyntax[0], name.Span), input, scope, path, namer);
                    }
                    var symbol = scope.Lookup(name.Name.Text);
                    if (symbol is not null) Diagnostics.ReportNotALayer(name.Span, name.Name.Text, symbol.Value.KindName);
                    else ReportUnknownCallee(name.Name);
                    return Error(stage.Span);
                case RepeatSyntax repeat:
                    return BindRepeat(repeat, input, scope, path, namer);
                default:
                    Diagnostics.ReportNotALayer(stage.Span, _file.Compact(stage.Span), "an expression");
                    return Error(stage.Span);
            }
        }

        private Operand BindRepeat(RepeatSyntax repeat, Operand input, Scope scope, string path, LayerNamer namer)
        {
            var countValue = repeat.Count is null ? ErrorValue.Instance : BindExpression(repeat.Count, scope, namer).Value;
            if (countValue is ErrorValue) return Error(repeat.Span);
            if (!(countValue is IntValue n) || n.Integer < 1 || n.Integer > 1024)
            {
                string shown = countValue is IntValue bad ? bad.Integer.ToString(CultureInfo.InvariantCulture) : countValue.KindName;
                Diagnostics.ReportInvalidRepeatCount(repeat.Count!.Span, shown);
                return Error(repeat.Span);
            }
            var current = input;
            int opsBefore = _nodes.Count;
            for (long i = 0; i < n.Integer; i++)
            {
                if (_tooLarge || current.Value is ErrorValue) return Error(repeat.Span);
                current = BindStage(repeat.Stage, current, scope, path + "." + i.ToString(CultureInfo.InvariantCulture), namer);
            }
            // Only repeats written in the model itself: a repeat inside a block is reported at the block's use.
            if (_model is not null && repeat.Span.Start >= _model.Span.Start && repeat.Span.End <= _model.Span.End)
                _repeats.Add(new RepeatInfo(repeat.Span, n.Integer, _nodes.Count - opsBefore));
            return current;
        }

        private Operand BindExpression(ExpressionSyntax? expression, Scope scope, LayerNamer namer)
        {
            if (expression is null) return Error(default);
            if (++_expressionDepth > MaxDepth * 4)
            {
                _expressionDepth--;
                if (!_tooLarge) Diagnostics.ReportExpansionTooDeep(expression.Span, MaxDepth * 4);
                _tooLarge = true;
                return Error(expression.Span);
            }
            try
            {
                return BindExpressionCore(expression, scope, namer);
            }
            finally
            {
                _expressionDepth--;
            }
        }

        private Operand BindExpressionCore(ExpressionSyntax expression, Scope scope, LayerNamer namer)
        {
            var span = expression.Span;
            switch (expression)
            {
                case NumberSyntax n:
                    return new Operand(BindNumber(n), span, n.Text ?? "");
                case StringSyntax str:
                    return new Operand(new StringValue(str.Value), span, "\"" + str.Value + "\"");
                case BooleanSyntax b:
                    return new Operand(new BoolValue(b.Value), span, b.Value ? "true" : "false");
                case NameSyntax n:
                    return new Operand(BindName(n.Name, scope), span, n.Name?.Text ?? "");
                case MemberAccessSyntax m:
                    return new Operand(BindMemberAccess(m, scope), span, _file.Compact(span));
                case NegateSyntax neg:
                {
                    var operand = BindExpression(neg.Operand, scope, namer).Value;
                    return new Operand(Arithmetic.Negate(operand, span, _file.Compact(span), Diagnostics), span, _file.Compact(span));
                }
                case BinarySyntax bin:
                    return BindBinary(bin, scope, namer);
                case TupleSyntax t:
                {
                    var items = (t.Elements ?? new ExpressionSyntax[0]).Select(e => BindExpression(e, scope, namer)).ToList();
                    if (items.Any(i => i.Value is ErrorValue)) return Error(span);
                    return new Operand(new TupleValue(items.Select(i => i.Value).ToList(), items.Select(i => i.Span).ToList()), span, _file.Compact(span));
                }
                case ListSyntax l:
                {
                    var items = (l.Elements ?? new ExpressionSyntax[0]).Select(e => BindExpression(e, scope, namer)).ToList();
                    if (items.Any(i => i.Value is ErrorValue)) return Error(span);
                    return new Operand(new ListValue(items.Select(i => i.Value).ToList(), items.Select(i => i.Span).ToList()), span, _file.Compact(span));
                }
                case CallSyntax call:
                    return BindCall(call, null, scope, namer.Next(), namer);
                case ChainSyntax chain:
                    return BindChain(chain, scope, "", topLevel: false, namer);
                case RepeatSyntax r:
                    Diagnostics.ReportRepeatNotInChain(r.Span);
                    return Error(span);
                default:
                    return Error(span);
            }
        }

        private Value BindNumber(NumberSyntax n)
        {
            if (n.IsInteger)
            {
                if (long.TryParse(n.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return new IntValue(v, null);
                if (n.Value >= long.MinValue && n.Value <= long.MaxValue && n.Value == System.Math.Floor(n.Value)) return new IntValue((long)n.Value, null);
                _failed = true; // the parser reported MDL0002
                return ErrorValue.Instance;
            }
            if (double.IsNaN(n.Value) || double.IsInfinity(n.Value))
            {
                _failed = true;
                return ErrorValue.Instance;
            }
            return new RealValue(n.Value);
        }

        private Value BindName(Identifier? name, Scope scope)
        {
            if (name is null || string.IsNullOrEmpty(name.Text))
            {
                _failed = true;
                return ErrorValue.Instance;
            }
            var symbol = scope.Lookup(name.Text);
            if (symbol is null)
            {
                if (FindLater(scope, name.Text) is TextSpan later && later.Start > name.Span.Start)
                {
                    Diagnostics.ReportUsedBeforeDefinition(name.Span, name.Text, _file.Line(later));
                    for (var s = scope; s is not null; s = s.Parent) s.MentionedEarly.Add(name.Text);
                }
                else if (IsCallable(name.Text))
                {
                    Diagnostics.ReportLayerUsedAsValue(name.Span, name.Text);
                }
                else Diagnostics.ReportUndefinedName(name.Span, name.Text, Suggest.Closest(name.Text, scope.AllNames(), _file.Suggestions));
                _failed = true;
                return ErrorValue.Instance;
            }
            symbol.Used = true;
            if (symbol.Value is ErrorValue) _failed = true;
            if (symbol.Kind == SymbolKind.Label && !_inLoss)
            {
                Diagnostics.ReportLabelOutsideLoss(name.Span, name.Text);
                return ErrorValue.Instance;
            }
            if (symbol.Value is IntValue i && i.Label is null) return new IntValue(i.Integer, name.Text);
            return symbol.Value;
        }

        private static TextSpan? FindLater(Scope scope, string name)
        {
            for (var s = scope; s is not null; s = s.Parent)
            {
                if (s.Later.TryGetValue(name, out var span)) return span;
            }
            return null;
        }

        /// <summary><c>tok.weight</c>, <c>h.attn.out_proj.weight</c>: the first name is a binding; the rest names a parameter under its layer path.</summary>
        private Value BindMemberAccess(MemberAccessSyntax m, Scope scope)
        {
            var parts = new List<Identifier>();
            ExpressionSyntax target = m;
            while (target is MemberAccessSyntax access)
            {
                parts.Insert(0, access.Member);
                target = access.Target;
            }
            if (!(target is NameSyntax root))
            {
                Diagnostics.ReportNotALayerValue(target.Span, _file.Compact(target.Span));
                return ErrorValue.Instance;
            }
            var symbol = scope.Lookup(root.Name.Text);
            if (symbol is null || symbol.Kind != SymbolKind.Binding || symbol.LayerPath is null)
            {
                if (symbol is null) Diagnostics.ReportUndefinedName(root.Span, root.Name.Text, Suggest.Closest(root.Name.Text, scope.AllNames(), _file.Suggestions));
                else Diagnostics.ReportNotALayerValue(root.Span, root.Name.Text);
                return ErrorValue.Instance;
            }
            symbol.Used = true;
            string member = string.Join(".", parts.Select(p => p?.Text ?? ""));
            if (_parametersByName.TryGetValue(symbol.LayerPath + "." + member, out var parameter)) return new ParamRefValue(parameter);
            string prefix = symbol.LayerPath + ".";
            var available = _parameters.Where(p => p.Name.StartsWith(prefix, System.StringComparison.Ordinal)).Select(p => p.Name.Substring(prefix.Length));
            var memberSpan = TextSpan.FromBounds(parts[0].Span.Start, m.Span.End);
            Diagnostics.ReportUnknownParameter(memberSpan, root.Name.Text, member, available.ToList());
            return ErrorValue.Instance;
        }

        /// <summary><c>a + b</c> / <c>a * b</c> on tensors become add/mul ops; everything else is constant folding.</summary>
        private Operand BindBinary(BinarySyntax bin, Scope scope, LayerNamer namer)
        {
            var left = BindExpression(bin.Left, scope, namer);
            var right = BindExpression(bin.Right, scope, namer);
            var span = bin.Span;
            if (left.Value is ErrorValue || right.Value is ErrorValue) return Error(span);
            if (left.Value is TensorRef || right.Value is TensorRef)
            {
                string symbol = Arithmetic.Symbol(bin.Operator);
                if (bin.Operator != BinaryOperator.Add && bin.Operator != BinaryOperator.Multiply)
                {
                    Diagnostics.ReportTensorArithmetic(span, symbol);
                    return Error(span);
                }
                if (!(left.Value is TensorRef) || !(right.Value is TensorRef))
                {
                    Diagnostics.ReportOperatorType(span, symbol, left.Value.KindName, right.Value.KindName);
                    return Error(span);
                }
                Ops.OpCatalog.TryGet(bin.Operator == BinaryOperator.Add ? "add" : "mul", out var op);
                return ApplyOp(op, span, namer.Next(), new[] { left, right }, new MatchedArguments());
            }
            var folded = Arithmetic.Fold(bin.Operator, left.Value, right.Value, span, _file.Compact(span), Diagnostics);
            return new Operand(folded, span, _file.Compact(span));
        }

        private Operand Error(TextSpan span)
        {
            _failed = true;
            return new Operand(ErrorValue.Instance, span, "");
        }

        /// <summary>Gives the last op's output the binding's name when this statement just created it.</summary>
        private Operand Rename(Operand operand, string name)
        {
            if (operand.Value is TensorRef t && _nodes.Count > _statementStart && ReferenceEquals(_nodes[_nodes.Count - 1].Output, t.Tensor) && t.Tensor.Name != name)
            {
                var last = _nodes[_nodes.Count - 1];
                var renamed = new TensorValue(t.Tensor.Id, name, t.Tensor.Shape, t.Tensor.DType, t.Tensor.Span);
                _nodes[_nodes.Count - 1] = new OpNode(last.Id, last.Kind, last.Inputs, renamed, last.Attributes, last.Parameters, last.LayerPath, last.Span, last.States);
                return new Operand(new TensorRef(renamed, false), operand.Span, operand.Description);
            }
            return operand;
        }
    }
}
