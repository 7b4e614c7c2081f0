using System.Collections.Generic;
using System.Linq;
using ModelDsl.Diagnostics;
using ModelDsl.Ops;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    /// <summary>An evaluated expression with where it came from and how messages should call it.</summary>
    internal sealed class Operand
    {
        public Operand(Value value, TextSpan span, string description)
        {
            Value = value;
            Span = span;
            Description = description;
        }

        public Value Value { get; }
        public TextSpan Span { get; }

        /// <summary><c>x</c> for a name, "the output of layer_norm" for a chain stage.</summary>
        public string Description { get; }
    }

    /// <summary>The arguments of one call matched to a signature: converted values, their spans, the tensor inputs.</summary>
    internal sealed class MatchedArguments
    {
        public Dictionary<string, Value> Values { get; } = new Dictionary<string, Value>();
        public Dictionary<string, TextSpan> Spans { get; } = new Dictionary<string, TextSpan>();
        public List<Operand> Tensors { get; } = new List<Operand>();
        public bool Ok { get; set; } = true;
    }

    /// <summary>
    /// Matches positional and named arguments to a <see cref="Signature"/> (MDL0103-0108, 0114), converts them
    /// to the parameter's kind and fills defaults. Error values fail the match silently.
    /// </summary>
    internal static class ArgumentMatcher
    {
        public static MatchedArguments Match(string callee, Signature signature, Operand? piped,
            IReadOnlyList<KeyValuePair<ArgumentSyntax, Operand>> args, TextSpan callSpan, DiagnosticBag bag)
        {
            var result = new MatchedArguments();
            var given = new Dictionary<string, Operand>();
            var parameters = signature.Parameters;
            int next = 0;
            var variadic = new List<Operand>();
            var ints = new List<Operand>();
            bool hasVariadic = parameters.Count > 0 && parameters[0].Kind == ParamKind.Tensors;

            if (piped is not null)
            {
                if (hasVariadic) variadic.Add(piped);
                else if (parameters.Count > 0) given[parameters[0].Name] = piped;
                next = 1;
            }

            foreach (var pair in args)
            {
                var syntax = pair.Key;
                var operand = pair.Value;
                if (syntax.Name is null || string.IsNullOrEmpty(syntax.Name.Text))
                {
                    if (hasVariadic && next <= 1 && (operand.Value is TensorRef || operand.Value is ErrorValue))
                    {
                        variadic.Add(operand);
                        next = 1;
                        continue;
                    }
                    if (next >= parameters.Count)
                    {
                        bag.ReportTooManyArguments(syntax.Span, callee, parameters.Count - (piped is null ? 0 : 1));
                        result.Ok = false;
                        continue;
                    }
                    if (parameters[next].Kind == ParamKind.Ints)
                    {
                        // The last parameter takes every remaining positional argument.
                        ints.Add(operand);
                        continue;
                    }
                    given[parameters[next].Name] = operand;
                    next++;
                }
                else
                {
                    string name = syntax.Name.Text;
                    var spec = signature.Find(name);
                    if (spec is null)
                    {
                        bag.ReportUnknownArgument(syntax.Name.Span, callee, name, parameters.Where(p => p.IsConstant).Select(p => p.Name));
                        result.Ok = false;
                    }
                    else if (given.ContainsKey(name) || (spec.Kind == ParamKind.Tensors && variadic.Count > 0))
                    {
                        bag.ReportDuplicateArgument(syntax.Name.Span, callee, name);
                        result.Ok = false;
                    }
                    else
                    {
                        given[name] = operand;
                    }
                }
            }

            if (ints.Count > 0)
            {
                var spec = parameters[parameters.Count - 1];
                var values = new List<Value>();
                foreach (var operand in ints)
                {
                    if (operand.Value is ErrorValue) result.Ok = false;
                    else if (operand.Value is IntValue) values.Add(operand.Value);
                    else
                    {
                        bag.ReportArgumentType(operand.Span, callee, spec.Name, "integers", operand.Value.KindName);
                        result.Ok = false;
                    }
                }
                given[spec.Name] = new Operand(new ListValue(values, ints.Select(o => o.Span).ToList()), ints[0].Span.Cover(ints[ints.Count - 1].Span), "");
            }

            foreach (var spec in parameters)
            {
                if (spec.Kind == ParamKind.Tensors)
                {
                    if (variadic.Count == 0)
                    {
                        bag.ReportMissingArgument(callSpan, callee, spec.Name);
                        result.Ok = false;
                    }
                    foreach (var v in variadic)
                    {
                        if (Convert(callee, spec, v, bag) is Value tv) result.Tensors.Add(new Operand(tv, v.Span, v.Description));
                        else result.Ok = false;
                    }
                    continue;
                }
                if (!given.TryGetValue(spec.Name, out var operand))
                {
                    if (spec.Default is not null) result.Values[spec.Name] = FromDefault(spec.Default);
                    else if (!spec.Optional)
                    {
                        bag.ReportMissingArgument(callSpan, callee, spec.Name);
                        result.Ok = false;
                    }
                    continue;
                }
                var converted = Convert(callee, spec, operand, bag);
                if (converted is null)
                {
                    result.Ok = false;
                    continue;
                }
                result.Spans[spec.Name] = operand.Span;
                result.Values[spec.Name] = converted;
                if (spec.Kind == ParamKind.Tensor) result.Tensors.Add(new Operand(converted, operand.Span, operand.Description));
            }
            return result;
        }

        private static Value FromDefault(object value) => value switch
        {
            long l => new IntValue(l, null),
            int i => new IntValue(i, null),
            double d => new RealValue(d),
            bool b => new BoolValue(b),
            string w => new StringValue(w),
            _ => ErrorValue.Instance,
        };

        /// <summary>The operand as the parameter's kind, or null after reporting (silently for error values).</summary>
        private static Value? Convert(string callee, ParamSpec spec, Operand operand, DiagnosticBag bag)
        {
            var value = operand.Value;
            if (value is ErrorValue) return null;
            if (spec.Kind == ParamKind.Any) return value;
            if (spec.Kind == ParamKind.Constant)
            {
                if (value is not TensorRef) return value;
                bag.ReportBlockArgumentNotConstant(operand.Span, callee, spec.Name, value.KindName + $" ('{operand.Description}')");
                return null;
            }
            if (spec.Kind == ParamKind.Tensor || spec.Kind == ParamKind.Tensors)
            {
                if (value is TensorRef) return value;
                bag.ReportArgumentType(operand.Span, callee, spec.Name, "a tensor", value.KindName);
                return null;
            }
            if (value is TensorRef || value is DimValue)
            {
                bag.ReportNotConstant(operand.Span, callee, spec.Name, value.KindName + $" ('{operand.Description}')");
                return null;
            }
            Value? converted = spec.Kind switch
            {
                ParamKind.Int => value as IntValue,
                ParamKind.Real => value is IntValue i ? new RealValue(i.Integer) : value as RealValue,
                ParamKind.Bool => value as BoolValue,
                ParamKind.IntOrTuple => value is TupleValue t && t.Elements.Count == 2 && t.Elements[0] is IntValue a && t.Elements[1] is IntValue b && a.Integer == b.Integer ? a : value as IntValue,
                ParamKind.IntOrWord => value is StringValue word ? (spec.Words.Contains(word.Text) ? word : null) : value as IntValue,
                ParamKind.Word => value is StringValue only && spec.Words.Contains(only.Text) ? only : null,
                ParamKind.List => value as ListValue,
                ParamKind.Ints => value is ListValue ints && ints.Elements.All(e => e is IntValue) ? ints : null,
                ParamKind.RealTuple => value is TupleValue t2 && t2.Elements.All(e => e is IntValue || e is RealValue) ? value : null,
                ParamKind.ParamRef => value as ParamRefValue,
                _ => null,
            };
            if (converted is null)
            {
                bag.ReportArgumentType(operand.Span, callee, spec.Name, Expected(spec), value.KindName);
                return null;
            }
            double? number = converted is IntValue iv ? iv.Integer : converted is RealValue rv ? rv.Real : (double?)null;
            if (number is double n && ((spec.Min is double lo && n < lo) || (spec.Max is double hi && (spec.MaxExclusive ? n >= hi : n > hi))))
            {
                bag.ReportArgumentOutOfRange(operand.Span, callee, spec.Name, n, spec.DescribeRange());
                return null;
            }
            return converted;
        }

        private static string Expected(ParamSpec spec) => spec.Kind switch
        {
            ParamKind.IntOrWord => "an integer or " + string.Join(" or ", spec.Words.Select(w => "\"" + w + "\"")),
            ParamKind.Word => string.Join(" or ", spec.Words.Select(w => "\"" + w + "\"")),
            ParamKind.Int => "an integer",
            ParamKind.Real => "a number",
            ParamKind.Bool => "true or false",
            ParamKind.IntOrTuple => "an integer or a tuple of two equal integers",
            ParamKind.List => "a list of dimensions like [B, -1]",
            ParamKind.Ints => "integers",
            ParamKind.RealTuple => "a tuple of numbers like (0.9, 0.999)",
            ParamKind.ParamRef => "a layer parameter like tok.weight",
            _ => "a value",
        };
    }
}
