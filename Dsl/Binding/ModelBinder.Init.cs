using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // init statements: `init h.*.weight normal(0, 0.02)`.
    internal sealed partial class ModelBinder
    {
        /// <summary>
        /// Applies the <c>init</c> statements in source order, after every parameter exists: each gives the parameters
        /// its pattern matches its initialiser, so a later statement overrides an earlier one where both match
        /// (<c>init * normal(0, 0.02)</c> then <c>init *.bias zeros</c>). Parameters no statement matches keep their op's
        /// default. Each statement is checked on its own, so every bad one is reported in one pass.
        /// </summary>
        private void BindInits(IReadOnlyList<InitSyntax> statements, Scope scope, bool parametersComplete)
        {
            foreach (var s in statements)
            {
                if (s.Pattern is null || s.Initializer is null) continue;
                var declared = BindInitializer(s.Initializer, scope);
                var matches = Matching(s.Pattern, parametersComplete);
                if (matches is null) continue;
                if (declared is null) continue;
                bool ok = true;
                foreach (var p in matches)
                {
                    var resolved = Resolve(declared.Value, p, s.Pattern.Span);
                    if (resolved is null)
                    {
                        ok = false;
                        break;
                    }
                    p.Declared = resolved;
                }
                if (!ok) _failed = true;
            }
        }

        /// <summary>The parameters the pattern matches, in declaration order, or null after reporting MDL0122.</summary>
        private List<ParameterInfo>? Matching(NamePattern pattern, bool parametersComplete)
        {
            var regex = PatternRegex(pattern.Text);
            var matches = _parameters.Where(p => regex.IsMatch(p.Name)).ToList();
            if (matches.Count > 0) return matches;
            if (!parametersComplete) return null;
            var names = _parameters.Select(p => p.Name).ToList();
            string? suggestion = pattern.Text.Contains('*') ? null : Suggest.Closest(pattern.Text, names, _file.Suggestions);
            Diagnostics.ReportPatternMatchesNothing(pattern.Span, "init", pattern.Text, _model!.Name.Text, suggestion, names);
            _failed = true;
            return null;
        }

        /// <summary><c>h.*.weight</c> as an anchored regex: <c>*</c> is any run of characters (dots included), the rest literal.</summary>
        internal static Regex PatternRegex(string pattern) =>
            new Regex("^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant);

        private readonly struct InitializerCall
        {
            public InitializerCall(InitFunction function, string name, double a, double b, string mode, string source, TextSpan span)
            {
                Function = function;
                Name = name;
                A = a;
                B = b;
                Mode = mode;
                Source = source;
                Span = span;
            }

            public InitFunction Function { get; }
            public string Name { get; }
            public double A { get; }
            public double B { get; }
            public string Mode { get; }
            public string Source { get; }
            public TextSpan Span { get; }
        }

        /// <summary>The initialiser with its arguments matched and checked (MDL0121, MDL0103-0108), or null after reporting.</summary>
        private InitializerCall? BindInitializer(ExpressionSyntax expression, Scope scope)
        {
            var callee = expression switch
            {
                CallSyntax c => c.Callee,
                NameSyntax n => n.Name,
                _ => null,
            };
            if (callee is null || string.IsNullOrEmpty(callee.Text)) return null;
            var args = expression is CallSyntax call ? EvaluateArguments(call, scope, new LayerNamer("init", 0)) : new List<KeyValuePair<ArgumentSyntax, Operand>>();
            if (!Initializers.Table.TryGetValue(callee.Text, out var entry))
            {
                Diagnostics.ReportUnknownInitializer(callee.Span, callee.Text, Suggest.Closest(callee.Text, Initializers.Table.Keys, _file.Suggestions), Initializers.Table.Keys);
                _failed = true;
                return null;
            }
            var matched = ArgumentMatcher.Match(callee.Text, entry.Value, null, args, expression.Span, Diagnostics);
            if (!matched.Ok)
            {
                _failed = true;
                return null;
            }
            double Real(string n) => matched.Values.TryGetValue(n, out var v) ? v is RealValue r ? r.Real : v is IntValue i ? i.Integer : 0 : 0;
            string? Word(string n, string fallback, string[] words)
            {
                if (!matched.Values.TryGetValue(n, out var v)) return fallback;
                if (v is StringValue w && words.Contains(w.Text)) return w.Text;
                Diagnostics.ReportArgumentType(matched.Spans[n], callee.Text, n, string.Join(" or ", words.Select(x => "\"" + x + "\"")), v is StringValue sv ? "\"" + sv.Text + "\"" : v.KindName);
                return null;
            }

            string source = Normalized(expression.Span);
            switch (entry.Key)
            {
                case InitFunction.Normal:
                    return new InitializerCall(entry.Key, callee.Text, Real("mean"), Real("std"), "", source, expression.Span);
                case InitFunction.Uniform:
                    double a = Real("a"), b = Real("b");
                    if (b < a)
                    {
                        var at = matched.Spans.TryGetValue("b", out var bs) ? bs : expression.Span;
                        Diagnostics.ReportArgumentOutOfRange(at, callee.Text, "b", b, $"at least a ({a.ToString(CultureInfo.InvariantCulture)})");
                        _failed = true;
                        return null;
                    }
                    return new InitializerCall(entry.Key, callee.Text, a, b, "", source, expression.Span);
                case InitFunction.Constant:
                    double value = callee.Text == "ones" ? 1 : callee.Text == "zeros" ? 0 : Real("val");
                    return new InitializerCall(entry.Key, callee.Text, value, 0, "", source, expression.Span);
                case InitFunction.XavierUniform:
                case InitFunction.XavierNormal:
                    return new InitializerCall(entry.Key, callee.Text, Real("gain"), 0, "", source, expression.Span);
                default: // kaiming_uniform / kaiming_normal
                    string? mode = Word("mode", Initializers.DefaultMode, Initializers.Modes);
                    string? nonlinearity = Word("nonlinearity", Initializers.DefaultNonlinearity, Initializers.Nonlinearities);
                    if (mode is null || nonlinearity is null)
                    {
                        _failed = true;
                        return null;
                    }
                    return new InitializerCall(entry.Key, callee.Text, Initializers.Gain(nonlinearity, Real("a")), 0, mode, source, expression.Span);
            }
        }

        /// <summary>The initialiser for one parameter, fans from its shape; null after MDL0320 (fans of a 1-D parameter).</summary>
        private DeclaredInit? Resolve(InitializerCall call, ParameterInfo p, TextSpan patternSpan)
        {
            long fanIn = 0, fanOut = 0, fan = 0;
            if (Initializers.NeedsFans(call.Function))
            {
                if (p.Shape.Rank < 2)
                {
                    Diagnostics.ReportInitNeedsFans(patternSpan, call.Name, p.Name, p.Shape.ToExpression());
                    return null;
                }
                (fanIn, fanOut) = Initializers.Fans(p.Shape.Dims.Select(d => d.Value).ToList());
                fan = call.Mode == "fan_out" ? fanOut : fanIn;
            }
            return new DeclaredInit(call.Function, call.A, call.B, fanIn, fanOut, fan, call.Source, call.Span);
        }

        /// <summary>The initialiser as written with runs of whitespace made one space: <c>normal(0, 0.02)</c>.</summary>
        private string Normalized(TextSpan span)
        {
            var text = _file.Text.ToString(span);
            var sb = new StringBuilder(text.Length);
            bool space = false;
            foreach (char c in text)
            {
                if (char.IsWhiteSpace(c))
                {
                    space = sb.Length > 0;
                    continue;
                }
                if (space) sb.Append(' ');
                space = false;
                sb.Append(c);
            }
            return sb.ToString();
        }
    }
}
