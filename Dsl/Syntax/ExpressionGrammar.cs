using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ModelDsl.Text;
using Sprache;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Expressions, loosest first: <c>-&gt;</c> chains, then <c>+ -</c>, then <c>* /</c>, then unary <c>-</c>, then calls and
    /// <c>.</c> member access. Binary levels, unary minus, member access and chain stages are parsed by loops, not
    /// recursion, so <c>1+1+...</c> or <c>----x</c> of any length costs no stack; only brackets recurse, and
    /// <see cref="ModelDsl.Text.TextChecks"/> caps those at 64 levels. <see cref="SyntaxLimits"/> caps the depth of the tree built.
    /// </summary>
    internal static class ExpressionGrammar
    {
        public static readonly Parser<ExpressionSyntax> Expression = Parse.Ref(() => Chain).Named("expression");

        private static readonly Parser<TextSpan> Comma = Lexical.Symbol(',');

        /// <summary><c>1, x, d/heads</c>: one or more expressions separated by commas.</summary>
        // Sub-parsers used after the first `from` of a query are fields: a query's later clauses are evaluated on
        // every parse, so an inline `(from ...).Repeated()` there would rebuild its parser each time.
        private static readonly Parser<IEnumerable<ExpressionSyntax>> MoreExpressions =
            (from comma in Comma
             from item in Expression
             select item).Repeated();

        public static readonly Parser<IReadOnlyList<ExpressionSyntax>> ExpressionList =
            from first in Expression
            from rest in MoreExpressions
            select (IReadOnlyList<ExpressionSyntax>)new[] { first }.Concat(rest).ToList();

        private static readonly Parser<ExpressionSyntax> Number = Lexical.Number;

        private static readonly Parser<ExpressionSyntax> Boolean =
            Lexical.Keyword("true").Select(span => (ExpressionSyntax)new BooleanSyntax(true, span))
                .XOr(Lexical.Keyword("false").Select(span => (ExpressionSyntax)new BooleanSyntax(false, span)));

        private static readonly Parser<ExpressionSyntax> String = Lexical.String;

        public static readonly Parser<NameSyntax> Name =
            from name in Lexical.Identifier
            select new NameSyntax(name, name.Span);

        /// <summary><c>bias=false</c> or a positional <c>10</c>. The <c>name =</c> prefix is tried atomically (one token of lookahead).</summary>
        private static readonly Parser<Identifier> ArgumentName =
            (from id in Lexical.Identifier
             from eq in Lexical.Symbol('=')
             select id).Atomic();

        private static readonly Parser<ArgumentSyntax> Argument =
            (from name in ArgumentName
             from value in Expression
             select new ArgumentSyntax(name, value, name.Span.Cover(value.Span)))
            .XOr(from value in Expression
                 select new ArgumentSyntax(null, value, value.Span))
            .Named("expression");

        /// <summary><c>(x, 10, bias=false)</c>, returning the arguments and the span of <c>)</c>.</summary>
        private static readonly Parser<IEnumerable<ArgumentSyntax>> MoreArguments =
            (from comma in Comma
             from item in Argument
             select item).Repeated();

        private static readonly Parser<IOption<List<ArgumentSyntax>>> OptionalArguments =
            (from first in Argument
             from rest in MoreArguments
             select new[] { first }.Concat(rest).ToList()).XOptional();

        private static readonly Parser<TextSpan> CloseParen = Lexical.Symbol(')');

        /// <summary><c>(x, 10, bias=false)</c>: the arguments and the span of <c>)</c>.</summary>
        internal static readonly Parser<(IReadOnlyList<ArgumentSyntax> Arguments, TextSpan Close)> ArgumentList =
            StackGuard(
                from open in Lexical.Symbol('(')
                from arguments in OptionalArguments
                from close in CloseParen
                select ((IReadOnlyList<ArgumentSyntax>)arguments.GetOrElse(new List<ArgumentSyntax>()), close));

        private static readonly Parser<IOption<(IReadOnlyList<ArgumentSyntax> Arguments, TextSpan Close)>> OptionalArgumentList = ArgumentList.XOptional();

        /// <summary><c>dense(10)</c>, or a bare name <c>relu</c> when no <c>(</c> follows.</summary>
        public static readonly Parser<ExpressionSyntax> CallOrName =
            from name in Lexical.Identifier
            from arguments in OptionalArgumentList
            select arguments.IsDefined
                ? new CallSyntax(name, arguments.Get().Arguments, name.Span.Cover(arguments.Get().Close))
                : (ExpressionSyntax)new NameSyntax(name, name.Span);

        /// <summary>A call (for <c>loss</c> and <c>optimizer</c>): the parentheses are required.</summary>
        public static readonly Parser<CallSyntax> Call =
            from name in Lexical.Identifier
            from arguments in ArgumentList
            select new CallSyntax(name, arguments.Arguments, name.Span.Cover(arguments.Close));

        /// <summary><c>(a + b)</c> is grouping (the inner node, its span widened to the parentheses); <c>(0.9, 0.999)</c> is a tuple.</summary>
        private static readonly Parser<ExpressionSyntax> ParenthesizedOrTuple =
            StackGuard(
                from open in Lexical.Symbol('(')
                from first in Expression
                from rest in MoreExpressions
                from close in CloseParen
                select rest.Any()
                    ? (ExpressionSyntax)new TupleSyntax(new[] { first }.Concat(rest).ToList(), open.Cover(close))
                    : first with { Span = open.Cover(close) });

        /// <summary><c>[B, T, heads, d/heads]</c>; may be empty.</summary>
        public static readonly Parser<IOption<IReadOnlyList<ExpressionSyntax>>> OptionalExpressionList = ExpressionList.XOptional();

        private static readonly Parser<TextSpan> CloseBracket = Lexical.Symbol(']');

        private static readonly Parser<ExpressionSyntax> List =
            StackGuard(
                from open in Lexical.Symbol('[')
                from items in OptionalExpressionList
                from close in CloseBracket
                select (ExpressionSyntax)new ListSyntax(items.GetOrElse(new ExpressionSyntax[0]), open.Cover(close)));

        private static readonly Parser<ExpressionSyntax> Primary =
            Number.XOr(String).XOr(Boolean).XOr(CallOrName).XOr(ParenthesizedOrTuple).XOr(List).Named("expression");

        /// <summary><c>tok.weight</c>: member access, looped.</summary>
        private static readonly Parser<IEnumerable<Identifier>> Members =
            (from dot in Lexical.Symbol('.')
             from member in Lexical.Identifier
             select member).Repeated();

        private static readonly Parser<ExpressionSyntax> Postfix =
            from primary in Primary
            from members in Members
            select members.Aggregate(primary, (target, member) =>
                (ExpressionSyntax)new MemberAccessSyntax(target, member, target.Span.Cover(member.Span)));

        /// <summary><c>-x</c>, <c>--x</c>: the signs are collected by a loop, then folded innermost first.</summary>
        private static readonly Parser<IEnumerable<TextSpan>> Signs = Lexical.Minus.Many();

        private static readonly Parser<ExpressionSyntax> Unary =
            from signs in Signs
            from operand in Postfix
            select signs.Reverse().Aggregate(operand, (inner, sign) =>
                (ExpressionSyntax)new NegateSyntax(inner, sign.Cover(inner.Span)));

        private static readonly Parser<BinaryOperator> MultiplicativeOperator =
            Lexical.Symbol('*').Return(BinaryOperator.Multiply).XOr(Lexical.Slash.Return(BinaryOperator.Divide));

        private static readonly Parser<BinaryOperator> AdditiveOperator =
            Lexical.Symbol('+').Return(BinaryOperator.Add).XOr(Lexical.Minus.Return(BinaryOperator.Subtract));

        private static readonly Parser<ExpressionSyntax> Multiplicative = LeftAssociative(MultiplicativeOperator, Unary);

        private static readonly Parser<ExpressionSyntax> Additive = LeftAssociative(AdditiveOperator, Multiplicative);

        /// <summary><c>repeat 4 Block(d)</c>; the count is a number, a name or a parenthesised expression. Repeats do not nest.</summary>
        private static readonly Parser<ExpressionSyntax> RepeatCount =
            Number.XOr(Name).XOr(ParenthesizedOrTuple).Named("repeat count");

        private static readonly Parser<ExpressionSyntax> RepeatedStage = CallOrName.Named("layer");

        private static readonly Parser<ExpressionSyntax> Repeat =
            from keyword in Lexical.Keyword("repeat")
            from count in RepeatCount
            from stage in RepeatedStage
            select (ExpressionSyntax)new RepeatSyntax(count, stage, keyword.Cover(stage.Span));

        private static readonly Parser<ExpressionSyntax> Stage = Repeat.XOr(CallOrName).Named("layer");

        private static readonly Parser<IEnumerable<ExpressionSyntax>> Stages =
            (from arrow in Lexical.Arrow
             from stage in Stage
             select stage).Repeated();

        /// <summary><c>x -&gt; dense(256) -&gt; relu</c>; a source without arrows is returned as is.</summary>
        private static readonly Parser<ExpressionSyntax> Chain =
            from source in Additive
            from stages in Stages
            select stages.Any()
                ? (ExpressionSyntax)new ChainSyntax(source, stages.ToList(), source.Span.Cover(stages.Last().Span))
                : source;

        /// <summary>
        /// <c>a op b op c</c> folded to the left by a loop (Sprache's <c>ChainOperator</c> recurses once per operator).
        /// After an operator an operand is required, so a failure there is returned as is.
        /// </summary>
        private static Parser<ExpressionSyntax> LeftAssociative(Parser<BinaryOperator> op, Parser<ExpressionSyntax> operand) => i =>
        {
            var first = operand(i);
            if (!first.WasSuccessful) return first;
            ExpressionSyntax left = first.Value;
            IInput rest = first.Remainder;
            while (true)
            {
                var oper = op(rest);
                if (!oper.WasSuccessful) return Result.Success(left, rest);
                var right = operand(oper.Remainder);
                if (!right.WasSuccessful) return right;
                left = new BinarySyntax(left, oper.Value, right.Value, left.Span.Cover(right.Value.Span));
                rest = right.Remainder;
            }
        };

        /// <summary>
        /// Brackets are where the grammar recurses. TextChecks bounds the depth; this turns a host with an unusually
        /// small stack into a catchable <see cref="System.InsufficientExecutionStackException"/> instead of a crash.
        /// </summary>
        private static Parser<T> StackGuard<T>(Parser<T> parser) => i =>
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return parser(i);
        };
    }
}
